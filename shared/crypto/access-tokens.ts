import { randomUUID } from 'node:crypto';
import { decodeProtectedHeader, errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { InvalidTokenError } from '../errors.js';
import { type KeyStore, SIGNING_ALGORITHM } from './key-store.js';

export const ACCESS_TOKEN_TTL_SECONDS = 15 * 60;

export interface AccessTokenClaims {
  readonly sub: string;
  readonly sid: string;
  readonly tv: number;
  readonly iat: number;
  readonly exp: number;
  readonly jti: string;
}

export interface IssueAccessTokenInput {
  readonly userId: string;
  readonly sessionId: string;
  readonly tokenVersion: number;
  /** Epoch seconds; see issueAccessToken for why it may be slightly ahead of the clock. */
  readonly issuedAt: number;
}

export interface AccessTokens {
  issue(input: IssueAccessTokenInput): Promise<{ token: string; claims: AccessTokenClaims }>;
  /** Checks signature (algorithm pinned), iss, aud, exp and claim types; says nothing about revocation. */
  verify(token: string): Promise<AccessTokenClaims>;
}

export function createAccessTokens(keyStore: KeyStore, jwt: { issuer: string; audience: string }): AccessTokens {
  return {
    async issue(input) {
      const keys = await keyStore.load();
      const claims: AccessTokenClaims = {
        sub: input.userId,
        sid: input.sessionId,
        tv: input.tokenVersion,
        iat: input.issuedAt,
        exp: input.issuedAt + ACCESS_TOKEN_TTL_SECONDS,
        jti: randomUUID(),
      };
      const token = await new SignJWT({ sid: claims.sid, tv: claims.tv })
        .setProtectedHeader({ alg: SIGNING_ALGORITHM, kid: keys.currentKid, typ: 'at+jwt' })
        .setIssuer(jwt.issuer)
        .setAudience(jwt.audience)
        .setSubject(claims.sub)
        .setIssuedAt(claims.iat)
        .setExpirationTime(claims.exp)
        .setJti(claims.jti)
        .sign(keys.signingKey);
      return { token, claims };
    },

    async verify(token) {
      let kid: string | undefined;
      try {
        kid = decodeProtectedHeader(token).kid;
      } catch {
        throw new InvalidTokenError();
      }
      const keys = await keyStore.load();
      const key = kid === undefined ? undefined : keys.verificationKeys.get(kid);
      if (!key) throw new InvalidTokenError();
      try {
        const { payload } = await jwtVerify(token, key, {
          algorithms: [SIGNING_ALGORITHM],
          issuer: jwt.issuer,
          audience: jwt.audience,
          typ: 'at+jwt',
          requiredClaims: ['sub', 'sid', 'tv', 'iat', 'exp', 'jti'],
        });
        const { sub, sid, tv, iat, exp, jti } = payload;
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
        return { sub, sid, tv, iat, exp, jti };
      } catch (error) {
        if (error instanceof InvalidTokenError || error instanceof joseErrors.JOSEError) throw new InvalidTokenError();
        throw error;
      }
    },
  };
}
