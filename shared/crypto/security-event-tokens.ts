import { createHash, randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import { type KeyStore, type PublicKeySource, signerAt } from './key-store.js';

/** The Security Event Token key set's algorithm (CAEP interoperability profile: RS256, >= 2048 bits). */
export const SET_SIGNING_ALGORITHM = 'RS256';

export interface SecurityEventTokenInput {
  readonly jti: string;
  readonly audience: string;
  readonly subject: Readonly<Record<string, unknown>>;
  readonly eventType: string;
  /** Event members besides `subject`. */
  readonly payload: Readonly<Record<string, unknown>>;
  /** CAEP/RISC events also carry the subject inside the event (SSF 1.0 3.1.1); new event types do not. */
  readonly subjectInEvent: boolean;
}

/** Port: signs one event as one SET (RFC 8417, `typ: secevent+jwt`). */
export interface SetSigner {
  sign(input: SecurityEventTokenInput): Promise<string>;
}

/** Keys of the SET key set only: never the access-token keys (a SET must not verify as an access token). */
export function createSetSigner(keyStore: KeyStore, issuer: string, now: () => number = Date.now): SetSigner {
  return {
    async sign(input) {
      const signer = signerAt(await keyStore.load(), now());
      const event = input.subjectInEvent
        ? { subject: input.subject, ...input.payload }
        : { ...input.payload };
      // RFC 8417 2.2: no `exp` and no `sub`; the subject is `sub_id` (RFC 9493, SSF 1.0 section 3).
      return new SignJWT({ sub_id: input.subject, events: { [input.eventType]: event } })
        .setProtectedHeader({ alg: SET_SIGNING_ALGORITHM, kid: signer.kid, typ: 'secevent+jwt' })
        .setIssuer(issuer)
        .setAudience(input.audience)
        .setIssuedAt(Math.floor(now() / 1000))
        .setJti(input.jti)
        .sign(signer.key);
    },
  };
}

/** Public halves only, for the SSF jwks_uri. */
export async function setPublicJwks(keys: PublicKeySource) {
  return (await keys.load()).publicJwks;
}

/**
 * The same security event, stream and event type always get the same jti, so a fan-out retried after a partial
 * failure sends SETs the receiver recognises as duplicates (RFC 8417 `jti`). The time prefix keeps a stream's
 * held SETs (sorted by jti) in event order for polling.
 */
export function deterministicJti(eventAtMs: number, ...parts: readonly string[]): string {
  const digest = createHash('sha256').update(parts.join('\u0000')).digest('base64url').slice(0, 22);
  return `${timePrefix(eventAtMs)}${digest}`;
}

export function randomJti(nowMs: number): string {
  return `${timePrefix(nowMs)}${randomBytes(16).toString('base64url')}`;
}

const timePrefix = (ms: number) => Math.max(0, Math.floor(ms)).toString(36).padStart(10, '0');
