import { createDeps } from '../../shared/app.js';
import { loadConfig } from '../../shared/config.js';
import { createLogger, invocationLogger } from '../../shared/logging.js';
import type { Deps } from '../../shared/use-cases/deps.js';

/** The function's Powertools logger; handlers log through a child with the invocation's context (runInvocation). */
export const logger = createLogger(process.env['LOG_LEVEL']);

let deps: Promise<Deps> | undefined;

/**
 * Config and clients are built on the first invocation and reused while the Lambda stays warm. A bad
 * configuration fails every invocation loudly with the variable's name rather than half-working.
 */
export function getDeps(): Promise<Deps> {
  deps ??= Promise.resolve().then(() =>
    createDeps(loadConfig(process.env), undefined, undefined, undefined, invocationLogger(logger)),
  );
  return deps;
}
