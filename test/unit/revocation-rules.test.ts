import type { AccessTokenClaims } from '../../shared/crypto/access-tokens.js';
import { mustResetPassword } from '../../shared/domain/tenant-policy.js';
import type { UserRecord } from '../../shared/domain/user.js';
import type { RevocationState } from '../../shared/ports/revocation-state.js';
import { isRevoked } from '../../shared/use-cases/authenticate.js';
import {
  accessTokenIssuedAt,
  formatRefreshToken,
  parseRefreshToken,
} from '../../shared/use-cases/session-tokens.js';

const now = Date.parse('2026-11-22T10:00:00.500Z');
const claims = (overrides: Partial<AccessTokenClaims> = {}): AccessTokenClaims => ({
  sub: 'user-1',
  sid: 'session-1',
  tv: 3,
  iat: Math.floor(now / 1000) - 60,
  exp: Math.floor(now / 1000) + 840,
  jti: 'jti',
  ...overrides,
});
const state = (overrides: Partial<RevocationState> = {}): RevocationState => ({
  tokenVersion: 3,
  sessionExpiresAt: Math.floor(now / 1000) + 3600,
  sessionCreatedAtMs: now - 3_600_000,
  tenant: {},
  ...overrides,
});

describe('revocation rules', () => {
  it('accepts a token whose version, session and issue time are current', () => {
    expect(isRevoked(claims(), state(), now)).toBe(false);
  });

  it('rejects a token issued before the user signed out of all devices', () => {
    expect(isRevoked(claims({ tv: 2 }), state({ tokenVersion: 3 }), now)).toBe(true);
  });

  it('rejects a token whose session was ended or idled out', () => {
    expect(isRevoked(claims(), state({ sessionExpiresAt: undefined }), now)).toBe(true);
    expect(isRevoked(claims(), state({ sessionExpiresAt: Math.floor(now / 1000) - 1 }), now)).toBe(true);
  });

  it('rejects a token of a deleted account', () => {
    expect(isRevoked(claims(), state({ tokenVersion: undefined }), now)).toBe(true);
  });

  it('rejects tokens issued before the tenant-wide cut-off, including earlier in the same second', () => {
    const cutOff = now - 200; // 10:00:00.300
    const sameSecondBefore = claims({ iat: Math.floor((now - 400) / 1000) });
    expect(isRevoked(sameSecondBefore, state({ tenant: { revokeTokensIssuedBefore: cutOff } }), now)).toBe(
      true,
    );
  });

  it('accepts a token issued after the cut-off in the same second, because iat is lifted past it', () => {
    const cutOff = now - 200;
    const iat = accessTokenIssuedAt(now, { revokeTokensIssuedBefore: cutOff });
    expect(iat).toBe(Math.ceil(cutOff / 1000));
    const afterCutOff = state({ sessionCreatedAtMs: now, tenant: { revokeTokensIssuedBefore: cutOff } });
    expect(isRevoked(claims({ iat }), afterCutOff, now)).toBe(false);
  });

  it('rejects a token of a session started before the cut-off, even when the token was minted after it', () => {
    const cutOff = now - 200;
    const lateToken = claims({ iat: Math.ceil(now / 1000) });
    const preIncident = state({
      sessionCreatedAtMs: cutOff - 1,
      tenant: { revokeTokensIssuedBefore: cutOff },
    });
    expect(isRevoked(lateToken, preIncident, now)).toBe(true);
    expect(isRevoked(lateToken, { ...preIncident, sessionCreatedAtMs: cutOff }, now)).toBe(false);
  });
});

describe('forced password reset', () => {
  const user = (overrides: Partial<UserRecord> = {}): UserRecord => ({
    userId: 'u',
    email: 'a@example.com',
    authMethod: 'password',
    passwordHash: 'h',
    passwordSetAt: now - 10_000,
    tokenVersion: 0,
    mustResetPassword: false,
    createdAt: '',
    updatedAt: '',
    ...overrides,
  });

  it('applies to password accounts whose password predates a tenant-wide incident', () => {
    expect(mustResetPassword(user(), { forceResetPasswordsSetBefore: now })).toBe(true);
    expect(mustResetPassword(user({ passwordSetAt: now + 1 }), { forceResetPasswordsSetBefore: now })).toBe(
      false,
    );
  });

  it('never applies to SSO accounts', () => {
    expect(
      mustResetPassword(user({ authMethod: 'sso', mustResetPassword: true }), {
        forceResetPasswordsSetBefore: now,
      }),
    ).toBe(false);
  });

  it('applies when an admin flagged the account', () => {
    expect(mustResetPassword(user({ mustResetPassword: true }), {})).toBe(true);
  });
});

describe('refresh token format', () => {
  it('round-trips the session location and rejects anything else', () => {
    const token = formatRefreshToken(
      '3f0c3b8e-6d2a-4c1e-9d9a-1a2b3c4d5e6f',
      'c2Vzc2lvbi1pZA',
      'x'.repeat(43),
    );
    expect(parseRefreshToken(token)).toEqual({
      userId: '3f0c3b8e-6d2a-4c1e-9d9a-1a2b3c4d5e6f',
      sessionId: 'c2Vzc2lvbi1pZA',
    });
    expect(parseRefreshToken('rt1.a.b')).toBeUndefined();
    expect(parseRefreshToken(`rt2.u.s.${'x'.repeat(43)}`)).toBeUndefined();
    expect(parseRefreshToken('rt1.u.s.short')).toBeUndefined();
  });
});
