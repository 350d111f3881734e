import type { AccessTokenClaims, AccessTokenVerifier } from '../crypto/access-tokens.js';
import { InvalidTokenError } from '../errors.js';
import type { RevocationState } from '../ports/revocation-state.js';
import type { Deps } from './deps.js';

export interface Principal {
  readonly userId: string;
  readonly sessionId: string;
  readonly tokenVersion: number;
  readonly issuedAt: number;
  readonly expiresAt: number;
}

/**
 * The revocation rules of the contract, as one pure function so that the API, the Lambda authorizer
 * and the tests share them: stale token version, issued (or its session started) before the tenant-wide
 * cut-off, or the session was ended or went idle.
 */
export function isRevoked(claims: AccessTokenClaims, state: RevocationState, nowMs: number): boolean {
  if (state.tokenVersion === undefined || claims.tv < state.tokenVersion) return true;
  const cutOff = state.tenant.revokeTokensIssuedBefore;
  if (cutOff !== undefined) {
    if (claims.iat < Math.ceil(cutOff / 1000)) return true;
    // Exact to the millisecond: a pre-incident session stays revoked even if a token was minted for it after the
    // cut-off (e.g. on an instance whose tenant cache predated it).
    if (state.sessionCreatedAtMs === undefined || state.sessionCreatedAtMs < cutOff) return true;
  }
  if (state.sessionExpiresAt === undefined || state.sessionExpiresAt * 1000 <= nowMs) return true;
  return false;
}

/** Checks a bearer access token: signature and claims first (no I/O), then revocation state. */
export async function authenticate(
  deps: Pick<Deps, 'revocation' | 'clock'> & { readonly accessTokens: AccessTokenVerifier },
  accessToken: string,
): Promise<Principal> {
  const claims = await deps.accessTokens.verify(accessToken);
  const state = await deps.revocation.read(claims.sub, claims.sid);
  if (isRevoked(claims, state, deps.clock.now().getTime())) throw new InvalidTokenError();
  return {
    userId: claims.sub,
    sessionId: claims.sid,
    tokenVersion: claims.tv,
    issuedAt: claims.iat,
    expiresAt: claims.exp,
  };
}
