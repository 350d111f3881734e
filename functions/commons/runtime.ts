import { createAwsClients } from '../../shared/aws/clients.js';
import { composeDeps, type FunctionAdapters } from '../../shared/composition/compose.js';
import { loadConfig } from '../../shared/config.js';
import { createLogger, invocationLogger } from '../../shared/logging.js';
import { systemClock } from '../../shared/ports/clock.js';
import type { Deps } from '../../shared/use-cases/deps.js';

/** The function's Powertools logger; handlers log through a child with the invocation's context (runInvocation). */
export const logger = createLogger(process.env['LOG_LEVEL']);

/**
 * Config and clients are built on the first invocation and reused while the Lambda stays warm. A bad
 * configuration fails every invocation loudly with the variable's name rather than half-working. `adapters` are
 * the optional adapters this function's routes use (shared/composition/): only those are bundled and built.
 */
export function createDepsLoader(adapters: FunctionAdapters): () => Promise<Deps> {
  let deps: Promise<Deps> | undefined;
  return () => {
    deps ??= Promise.resolve().then(() => {
      const config = loadConfig(process.env);
      return composeDeps(config, adapters, createAwsClients(config), systemClock, invocationLogger(logger));
    });
    return deps;
  };
}
