import type { UserRecord } from './user.js';

/**
 * The tenant-wide policy item: what makes `scope: all` incidents O(1). Instead of touching every
 * account, one item says "tokens issued before T are revoked" and "passwords set before T must be
 * reset"; every check compares against it (docs/adr/0001-token-design.md).
 */
export interface TenantPolicy {
  /** Epoch ms; access tokens issued and sessions started before this are revoked. */
  readonly revokeTokensIssuedBefore?: number;
  /** Epoch ms; password accounts whose password was set before this must reset it. */
  readonly forceResetPasswordsSetBefore?: number;
}

export type TenantPolicyField = keyof TenantPolicy;

/** True when an admin, a scoped incident or a tenant-wide incident requires this account to reset. */
export function mustResetPassword(user: UserRecord, tenant: TenantPolicy): boolean {
  if (user.authMethod !== 'password') return false;
  if (user.mustResetPassword) return true;
  const cutOff = tenant.forceResetPasswordsSetBefore;
  return cutOff !== undefined && (user.passwordSetAt ?? 0) < cutOff;
}
