import { Logger } from '@aws-lambda-powertools/logger';
import { createDeps } from '../../shared/app.js';
import { loadConfig } from '../../shared/config.js';
import type { Deps } from '../../shared/use-cases/deps.js';

export const logger = new Logger({
  serviceName: 'account-shield',
  logLevel: (process.env['LOG_LEVEL'] as 'INFO' | undefined) ?? 'INFO',
});

let deps: Promise<Deps> | undefined;

/**
 * Config and clients are built on the first invocation and reused while the Lambda stays warm. A bad
 * configuration fails every invocation loudly with the variable's name rather than half-working.
 */
export function getDeps(): Promise<Deps> {
  deps ??= Promise.resolve().then(() => createDeps(loadConfig(process.env)));
  return deps;
}
