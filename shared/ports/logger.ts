/**
 * The one logging interface of shared/: Powertools Logger in Lambda and the local runner (one JSON line per
 * call, with the Lambda request id), a capturing fake in tests. Never pass a secret in `extra`: passwords,
 * tokens, codes, hashes, TOTP secrets and Authorization headers stay out of logs.
 */
export interface Logger {
  debug(message: string, extra: Record<string, unknown>): void;
  info(message: string, extra: Record<string, unknown>): void;
  warn(message: string, extra: Record<string, unknown>): void;
  error(message: string, extra: Record<string, unknown>): void;
}
