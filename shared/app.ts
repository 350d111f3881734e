import type { SESv2Client } from '@aws-sdk/client-sesv2';
import { type AwsClients, createAwsClients } from './aws/clients.js';
import { composeDeps, type FunctionAdapters } from './composition/compose.js';
import { dispatcherTrigger } from './composition/dispatcher-trigger.js';
import { openIdProviders } from './composition/identity-providers.js';
import { createBulkSesClient, sesMail } from './composition/mail.js';
import { argon2Hasher, passwordBlocklist } from './composition/passwords.js';
import { totpSecretBox } from './composition/totp-secret-box.js';
import type { Config } from './config.js';
import { createLogger, invocationLogger } from './logging.js';
import { type Clock, systemClock } from './ports/clock.js';
import type { Logger } from './ports/logger.js';
import type { Deps } from './use-cases/deps.js';

export { createBulkSesClient };

/** Every optional adapter: what a process that serves every route at once (scripts, tests, bench) needs. */
export const everyAdapter = {
  hasher: argon2Hasher,
  passwordBlocklist,
  secretBox: totpSecretBox,
  mail: sesMail,
  dispatcherTrigger,
  identityProviders: openIdProviders,
} satisfies Required<FunctionAdapters>;

/**
 * The composition root with every adapter, for in-process use by scripts, tests and benchmarks. Lambda functions
 * never import this file: each builds only its own adapters (functions/commons/runtime.ts), so a function's bundle
 * and cold start carry nothing it does not call.
 */
export function createDeps(
  config: Config,
  clients: AwsClients = createAwsClients(config),
  clock: Clock = systemClock,
  bulkSes: SESv2Client = createBulkSesClient(config),
  logger: Logger = invocationLogger(createLogger(config.logLevel)),
): Deps {
  return composeDeps(config, { ...everyAdapter, mail: (c) => sesMail(c, bulkSes) }, clients, clock, logger);
}
