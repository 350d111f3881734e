import { AsyncLocalStorage } from 'node:async_hooks';
import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import type { SecurityEventType } from './domain/security-event.js';
import type { Logger } from './ports/logger.js';

type LogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'SILENT';

/** One Powertools logger per function (cold start); each invocation logs through a child with its context. */
export function createLogger(level: string | undefined): PowertoolsLogger {
  const known: readonly string[] = ['DEBUG', 'INFO', 'WARN', 'ERROR', 'SILENT'];
  return new PowertoolsLogger({
    serviceName: 'account-shield',
    logLevel: (known.includes(level ?? '') ? level : 'INFO') as LogLevel,
  });
}

/** A security event recorded while serving the current request (see recordEvent in use-cases/accounts.ts). */
export interface NotedSecurityEvent {
  readonly type: SecurityEventType | 'second_factor_checked';
  readonly userId: string;
  readonly sessionId?: string;
}

interface InvocationScope {
  readonly logger: PowertoolsLogger;
  readonly events: NotedSecurityEvent[];
}

const invocation = new AsyncLocalStorage<InvocationScope>();

/**
 * Runs one invocation with a child logger that carries its Lambda context (request id, function, cold start).
 * The local runner serves many requests at once in one process, so the context cannot live on the shared
 * logger: it lives in AsyncLocalStorage, and every log line written during the invocation picks it up.
 */
export function runInvocation<T>(
  base: PowertoolsLogger,
  context: Context,
  work: (logger: PowertoolsLogger, events: readonly NotedSecurityEvent[]) => Promise<T>,
): Promise<T> {
  const logger = base.createChild();
  logger.addContext(context);
  const scope: InvocationScope = { logger, events: [] };
  return invocation.run(scope, () => work(logger, scope.events));
}

/** Lets the HTTP adapter's outcome line name the security events (e.g. refresh-token reuse) of its request. */
export function noteSecurityEvent(event: NotedSecurityEvent): void {
  invocation.getStore()?.events.push(event);
}

/**
 * The account a second-factor check is about, for outcomes that record no security event (mfa_required,
 * invalid_otp): noted as the pseudo-event `second_factor_checked`, never stored.
 */
export function noteSecondFactorCheck(userId: string): void {
  invocation.getStore()?.events.push({ type: 'second_factor_checked', userId });
}

/** A Logger that writes through the current invocation's logger (with its request id), or `base` outside one. */
export function invocationLogger(base: Logger): Logger {
  const current = (): Logger => invocation.getStore()?.logger ?? base;
  return {
    debug: (message, extra) => current().debug(message, extra),
    info: (message, extra) => current().info(message, extra),
    warn: (message, extra) => current().warn(message, extra),
    error: (message, extra) => current().error(message, extra),
  };
}
