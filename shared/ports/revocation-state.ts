import type { TenantPolicy } from '../domain/tenant-policy.js';

export interface RevocationState {
  /** Current token version of the user; undefined when the account no longer exists. */
  readonly tokenVersion: number | undefined;
  /** The session's idle expiry (epoch s); undefined when the session was ended. */
  readonly sessionExpiresAt: number | undefined;
  /** Epoch ms the session started; compared with the tenant cut-off exactly, where `iat` has whole seconds. */
  readonly sessionCreatedAtMs: number | undefined;
  readonly tenant: TenantPolicy;
}

export interface RevocationStateReader {
  read(userId: string, sessionId: string): Promise<RevocationState>;
  /** The tenant-wide policy, from the same short cache. */
  readTenant(): Promise<TenantPolicy>;
  /** Drops what this process cached for a user, so its own revocations apply at once. */
  forget(userId: string): void;
}
