import { randomUUID, type webcrypto } from 'node:crypto';
import { decodeProtectedHeader, type JWTVerifyOptions, errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { InvalidTokenError } from '../errors.js';
import { type KeyStore, SIGNING_ALGORITHM, signerAt } from './key-store.js';
import { ACCESS_TOKEN_TTL_SECONDS } from './key-timing.js';

// Defined with the key timing it drives (key-timing.ts imports nothing, so the key set module can use it).
export { ACCESS_TOKEN_TTL_SECONDS };

export interface AccessTokenClaims {
  readonly sub: string;
  readonly sid: string;
  readonly tv: number;
  readonly iat: number;
  readonly exp: number;
  readonly jti: string;
  /** RFC 9068: the OAuth client the token was issued to; absent on first-party (JSON login) tokens. */
  readonly client_id?: string;
  /** RFC 9068: space-separated scopes granted; absent on first-party tokens. */
  readonly scope?: string;
}

/**
 * A client credentials token (RFC 9068 with no resource owner): `sub` is the client id, and `cv` the client's
 * credential version, which rotating its secret or deleting the client makes stale. It has no `sid` or `tv`,
 * so the user-facing bearer routes (which require both) never accept it.
 */
export interface ClientAccessTokenClaims {
  readonly sub: string;
  readonly client_id: string;
  readonly scope: string;
  readonly cv: number;
  readonly iat: number;
  readonly exp: number;
  readonly jti: string;
}

export interface IssueAccessTokenInput {
  readonly userId: string;
  readonly sessionId: string;
  readonly tokenVersion: number;
  readonly clientId?: string;
  readonly scope?: string;
  /** Epoch seconds; see issueAccessToken for why it may be slightly ahead of the clock. */
  readonly issuedAt: number;
}

export interface AccessTokenVerifier {
  /** Checks signature (algorithm pinned), iss, aud, exp and claim types; says nothing about revocation. */
  verify(token: string): Promise<AccessTokenClaims>;
}

export type VerifiedAccessToken =
  | { readonly kind: 'user'; readonly claims: AccessTokenClaims }
  | { readonly kind: 'client'; readonly claims: ClientAccessTokenClaims };

export interface AccessTokens extends AccessTokenVerifier {
  issue(input: IssueAccessTokenInput): Promise<{ token: string; claims: AccessTokenClaims }>;
  issueClientToken(input: {
    clientId: string;
    scope: string;
    credentialVersion: number;
    issuedAt: number;
  }): Promise<{ token: string; claims: ClientAccessTokenClaims }>;
  /**
   * OpenID Connect ID token for the `openid` scope of an authorization code grant: `aud` is the client,
   * `typ: JWT`, same key and algorithm as access tokens (the discovery document lists ES256).
   */
  issueIdToken(input: {
    userId: string;
    clientId: string;
    sessionId: string;
    nonce?: string;
    authTime: number;
    issuedAt: number;
  }): Promise<string>;
  /** Introspection: user tokens and client credentials tokens alike (signature, iss, aud, exp). */
  verifyAny(token: string): Promise<VerifiedAccessToken>;
}

/** Where verification keys come from: the key store (API) or the published JWKS (resource servers' authorizer). */
export interface VerificationKeySource {
  load(): Promise<{ readonly verificationKeys: ReadonlyMap<string, webcrypto.CryptoKey> }>;
  /** Fetches the keys again, e.g. when a token names a kid that a rotation just introduced. */
  reload?(): Promise<unknown>;
}

/** Bounded so a flood of distinct (valid) tokens cannot grow memory without limit. */
const VERIFIED_CACHE_MAX_ENTRIES = 10_000;

/** What every access token must pass (RFC 9068): our algorithm, issuer, audience and `at+jwt` type, unexpired now. */
function accessTokenChecks(
  jwt: { issuer: string; audience: string },
  requiredClaims: string[],
  nowMs: number,
): JWTVerifyOptions {
  return {
    algorithms: [SIGNING_ALGORITHM],
    issuer: jwt.issuer,
    audience: jwt.audience,
    typ: 'at+jwt',
    requiredClaims,
    currentDate: new Date(nowMs),
  };
}

/** The `kid` of the token's protected header; a token whose header does not decode is an invalid token. */
function keyIdOf(token: string): string | undefined {
  try {
    return decodeProtectedHeader(token).kid;
  } catch {
    throw new InvalidTokenError();
  }
}

/**
 * Issues and verifies access tokens. Signing needs the private key store, which only token-minting functions get
 * (login, refresh, password change); every other function passes `undefined` and verifies with public keys only.
 */
export function createAccessTokens(
  keyStore: KeyStore | undefined,
  jwt: { issuer: string; audience: string },
  now: () => number = Date.now,
  verificationKeys: VerificationKeySource | undefined = keyStore,
): AccessTokens {
  if (!verificationKeys) throw new Error('Access tokens need a source of verification keys');
  const verifier = createAccessTokenVerifier(verificationKeys, jwt, now);
  /** Signs with the key whose time has come; `iss`/`aud` default to this issuer's, a payload may set `aud`. */
  const sign = async (payload: Record<string, unknown>, typ: 'at+jwt' | 'JWT' = 'at+jwt') => {
    if (!keyStore) throw new Error('This function has no signing key: only token-minting functions may sign');
    const signer = signerAt(await keyStore.load(), now());
    return new SignJWT({ iss: jwt.issuer, aud: jwt.audience, ...payload })
      .setProtectedHeader({ alg: SIGNING_ALGORITHM, kid: signer.kid, typ })
      .sign(signer.key);
  };
  return {
    async issue(input) {
      const claims: AccessTokenClaims = {
        sub: input.userId,
        sid: input.sessionId,
        tv: input.tokenVersion,
        iat: input.issuedAt,
        exp: input.issuedAt + ACCESS_TOKEN_TTL_SECONDS,
        jti: randomUUID(),
        ...(input.clientId === undefined ? {} : { client_id: input.clientId, scope: input.scope ?? '' }),
      };
      return { token: await sign({ ...claims }), claims };
    },

    async issueClientToken(input) {
      const claims: ClientAccessTokenClaims = {
        sub: input.clientId,
        client_id: input.clientId,
        scope: input.scope,
        cv: input.credentialVersion,
        iat: input.issuedAt,
        exp: input.issuedAt + ACCESS_TOKEN_TTL_SECONDS,
        jti: randomUUID(),
      };
      return { token: await sign({ ...claims }), claims };
    },

    issueIdToken(input) {
      return sign(
        {
          aud: input.clientId,
          sub: input.userId,
          iat: input.issuedAt,
          exp: input.issuedAt + ACCESS_TOKEN_TTL_SECONDS,
          sid: input.sessionId,
          auth_time: input.authTime,
          ...(input.nonce === undefined ? {} : { nonce: input.nonce }),
        },
        'JWT',
      );
    },

    verify: verifier.verify,

    async verifyAny(token) {
      try {
        return { kind: 'user', claims: await verifier.verify(token) };
      } catch (error) {
        if (!(error instanceof InvalidTokenError)) throw error;
      }
      const keys = await verificationKeys.load();
      const kid = keyIdOf(token);
      const key = kid === undefined ? undefined : keys.verificationKeys.get(kid);
      if (!key) throw new InvalidTokenError();
      try {
        const { payload } = await jwtVerify(
          token,
          key,
          accessTokenChecks(jwt, ['sub', 'client_id', 'scope', 'cv', 'iat', 'exp', 'jti'], now()),
        );
        const { sub, client_id, scope, cv, iat, exp, jti } = payload as Record<string, unknown>;
        if (
          typeof sub !== 'string' ||
          sub !== client_id ||
          typeof scope !== 'string' ||
          typeof cv !== 'number' ||
          typeof iat !== 'number' ||
          typeof exp !== 'number' ||
          typeof jti !== 'string' ||
          'sid' in payload
        ) {
          throw new InvalidTokenError();
        }
        return { kind: 'client', claims: { sub, client_id: sub, scope, cv, iat, exp, jti } };
      } catch (error) {
        if (error instanceof InvalidTokenError || error instanceof joseErrors.JOSEError)
          throw new InvalidTokenError();
        throw error;
      }
    },
  };
}

export function createAccessTokenVerifier(
  keys: VerificationKeySource,
  jwt: { issuer: string; audience: string },
  now: () => number = Date.now,
): AccessTokenVerifier {
  /**
   * Tokens whose signature and claims were already verified, keyed by the exact token string. An ES256
   * verify costs ~0.3 ms on a Lambda core; a resource server sees the same token for its whole
   * 15-minute life, so re-verifying identical bytes is wasted work. Expiry and the signing key are
   * re-checked on every hit; revocation is never cached here (see revocation-state.ts).
   */
  const verified = new Map<string, { claims: AccessTokenClaims; kid: string }>();
  const remember = (token: string, entry: { claims: AccessTokenClaims; kid: string }) => {
    if (verified.size >= VERIFIED_CACHE_MAX_ENTRIES) {
      const oldest = verified.keys().next();
      if (!oldest.done) verified.delete(oldest.value);
    }
    verified.set(token, entry);
  };
  let lastReloadAt = 0;
  const keyFor = async (kid: string) => {
    const key = (await keys.load()).verificationKeys.get(kid);
    // An unknown kid may be a key a rotation has just added: look again, at most every 30 s.
    if (key || !keys.reload || now() - lastReloadAt < 30_000) return key;
    lastReloadAt = now();
    await keys.reload();
    return (await keys.load()).verificationKeys.get(kid);
  };
  return {
    async verify(token) {
      const hit = verified.get(token);
      if (hit) {
        const current = await keys.load();
        // A retired key or an expired token invalidates the cached verdict.
        if (current.verificationKeys.has(hit.kid) && hit.claims.exp * 1000 > now()) return hit.claims;
        verified.delete(token);
        throw new InvalidTokenError();
      }
      const kid = keyIdOf(token);
      const key = kid === undefined ? undefined : await keyFor(kid);
      if (!key) throw new InvalidTokenError();
      try {
        const { payload } = await jwtVerify(
          token,
          key,
          accessTokenChecks(jwt, ['sub', 'sid', 'tv', 'iat', 'exp', 'jti'], now()),
        );
        const { sub, sid, tv, iat, exp, jti, client_id, scope } = payload as Record<string, unknown>;
        if (
          (client_id !== undefined && typeof client_id !== 'string') ||
          (scope !== undefined && typeof scope !== 'string')
        ) {
          throw new InvalidTokenError();
        }
        if (
          typeof sub !== 'string' ||
          typeof sid !== 'string' ||
          typeof tv !== 'number' ||
          typeof iat !== 'number' ||
          typeof exp !== 'number' ||
          typeof jti !== 'string'
        ) {
          throw new InvalidTokenError();
        }
        const claims: AccessTokenClaims = {
          sub,
          sid,
          tv,
          iat,
          exp,
          jti,
          ...(typeof client_id === 'string' ? { client_id, scope: (scope as string | undefined) ?? '' } : {}),
        };
        remember(token, { claims, kid: kid! });
        return claims;
      } catch (error) {
        if (error instanceof InvalidTokenError || error instanceof joseErrors.JOSEError)
          throw new InvalidTokenError();
        throw error;
      }
    },
  };
}
