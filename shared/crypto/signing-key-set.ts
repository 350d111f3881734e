/**
 * A signing key set: the private JWKs a Secrets Manager secret (or the local key file) holds, newest first, and the
 * public document every verifier reads. One format, one validated parser and one rotation rule for every key set
 * the service signs with: the access-token keys (ES256) and any other set (RS256, e.g. Security Event Tokens),
 * each in its own pair of secrets, rotated by the same function (functions/key-rotation.ts).
 *
 * Timing (docs/adr/0001-token-design.md, "Key rotation"): a new key is published KEY_PUBLISH_LEAD_MS before it may
 * sign (`activatesAt`), so every verifier's cached key set already holds it; a replaced key stays until
 * KEY_RETENTION_AFTER_REPLACEMENT_MS after its successor started signing, so its last tokens verify until they
 * expire. No token is ever rejected because of a rotation.
 */
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import { z } from 'zod';
import { KEY_PUBLISH_LEAD_MS, KEY_RETENTION_AFTER_REPLACEMENT_MS } from './key-timing.js';

export const SIGNING_ALGORITHMS = ['ES256', 'RS256'] as const;
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number];

/** RFC 7518 3.3: an RS256 key must have a modulus of at least 2048 bits. */
export const MIN_RSA_MODULUS_BITS = 2048;

const base64url = z.string().regex(/^[A-Za-z0-9_-]+$/, 'must be base64url');
const isoTime = z.string().refine((value) => !Number.isNaN(Date.parse(value)), 'must be an ISO-8601 time');
/** Bits of a base64url-encoded big-endian integer, leading zero bytes excluded. */
const modulusBits = (n: string): number => {
  const bytes = Buffer.from(n, 'base64url');
  const first = bytes.findIndex((byte) => byte !== 0);
  return first === -1 ? 0 : (bytes.length - first - 1) * 8 + (bytes[first] ?? 0).toString(2).length;
};
const rsaModulus = base64url.refine(
  (n) => modulusBits(n) >= MIN_RSA_MODULUS_BITS,
  `must be at least ${MIN_RSA_MODULUS_BITS} bits`,
);

/** What every key of a set carries besides its key material. */
const keyMetadata = {
  /** RFC 7638 thumbprint of the public key. */
  kid: z.string().min(1),
  use: z.literal('sig'),
  /** ISO-8601 creation time. */
  createdAt: isoTime,
  /** ISO-8601 time from which the key may sign; absent on keys written before rotation timing (they sign at once). */
  activatesAt: isoTime.optional(),
};

const es256Public = { kty: z.literal('EC'), crv: z.literal('P-256'), x: base64url, y: base64url };
const rs256Public = { kty: z.literal('RSA'), n: rsaModulus, e: base64url };

/** Private JWKs per algorithm. Unknown members are dropped: only what is listed here is ever stored or imported. */
const privateKeySchemas = {
  ES256: z.object({ ...es256Public, d: base64url, alg: z.literal('ES256'), ...keyMetadata }),
  RS256: z.object({
    ...rs256Public,
    d: base64url,
    p: base64url,
    q: base64url,
    dp: base64url,
    dq: base64url,
    qi: base64url,
    alg: z.literal('RS256'),
    ...keyMetadata,
  }),
} as const;

/**
 * Public JWKs per algorithm. `alg` and `use` may be absent in a document (they are implied by the key set); private
 * members are dropped by the schema even if a document carried them.
 */
const publicKeySchemas = {
  ES256: z.object({
    ...es256Public,
    kid: z.string().min(1),
    alg: z.literal('ES256').optional(),
    use: z.literal('sig').optional(),
  }),
  RS256: z.object({
    ...rs256Public,
    kid: z.string().min(1),
    alg: z.literal('RS256').optional(),
    use: z.literal('sig').optional(),
  }),
} as const;

type Es256SigningKey = z.infer<(typeof privateKeySchemas)['ES256']>;
type Rs256SigningKey = z.infer<(typeof privateKeySchemas)['RS256']>;
/** A private JWK of a key set, with its kid and timing. */
export type SigningKeyJwk = Es256SigningKey | Rs256SigningKey;
/** The private JWK type of one algorithm. */
export type SigningKeyOf<A extends SigningAlgorithm> = z.infer<(typeof privateKeySchemas)[A]>;

export interface SigningKeySet {
  /** Newest first; every key verifies, the newest active one signs (shared/crypto/key-store.ts signerAt). */
  readonly keys: readonly SigningKeyJwk[];
}

/** A public JWK as verifiers and the JWKS endpoint see it: key material, kid, alg and use. */
export type PublicSigningJwk = JWK & {
  readonly kid: string;
  readonly alg: SigningAlgorithm;
  readonly use: 'sig';
};

export interface PublicKeySet {
  readonly keys: readonly PublicSigningJwk[];
}

export class SigningKeySetError extends Error {
  override readonly name = 'SigningKeySetError';
}

/** A fresh private key for `algorithm`; its kid is the RFC 7638 thumbprint of its public half. */
export async function generateSigningKey<A extends SigningAlgorithm>(
  algorithm: A,
  now: Date,
): Promise<SigningKeyOf<A>> {
  const { privateKey } = await generateKeyPair(algorithm, {
    extractable: true,
    ...(algorithm === 'RS256' ? { modulusLength: MIN_RSA_MODULUS_BITS } : {}),
  });
  const jwk = await exportJWK(privateKey);
  const candidate = {
    ...jwk,
    kid: await calculateJwkThumbprint(jwk, 'sha256'),
    alg: algorithm,
    use: 'sig',
    createdAt: now.toISOString(),
  };
  const parsed = privateKeySchemas[algorithm].safeParse(candidate);
  if (!parsed.success) throw new SigningKeySetError(`jose exported an unexpected key type for ${algorithm}`);
  return parsed.data as SigningKeyOf<A>;
}

function parseJson(secretString: string, what: string): unknown {
  try {
    return JSON.parse(secretString);
  } catch {
    throw new SigningKeySetError(`The ${what} is not JSON`);
  }
}

/** Names the first offending member without echoing any value (the document holds private keys). */
function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  return issue ? `${issue.path.join('.') || 'document'}: ${issue.message}` : 'invalid';
}

/**
 * Reads a signing key secret of `algorithm`. An absent value, or the placeholder the stack creates the secret with
 * (`{"keys": [], ...}`), is an empty set; anything else that is not a list of private JWKs of `algorithm` is refused
 * rather than silently replaced, because dropping the current key would invalidate every live token.
 */
export function parseSigningKeySet(
  algorithm: SigningAlgorithm,
  secretString: string | undefined,
): SigningKeySet {
  if (secretString === undefined || secretString === '') return { keys: [] };
  const document = parseJson(secretString, 'signing key secret');
  if (
    typeof document !== 'object' ||
    document === null ||
    !Array.isArray((document as { keys?: unknown }).keys)
  )
    throw new SigningKeySetError('The signing key secret has no "keys" list');
  const parsed = z.object({ keys: z.array(privateKeySchemas[algorithm]) }).safeParse(document);
  if (!parsed.success)
    throw new SigningKeySetError(
      `The signing key secret is not a list of ${algorithm} private JWKs with kid and createdAt (${describeIssue(parsed.error)})`,
    );
  return { keys: parsed.data.keys };
}

/** Reads a public key set of `algorithm` (the second secret, or a JWKS): public members only, every key with a kid. */
export function parsePublicKeySet(algorithm: SigningAlgorithm, secretString: string): PublicKeySet {
  const parsed = z
    .object({ keys: z.array(publicKeySchemas[algorithm]) })
    .safeParse(parseJson(secretString, 'public key set'));
  if (!parsed.success)
    throw new SigningKeySetError(
      `The public key set is not a list of ${algorithm} public JWKs with kid (${describeIssue(parsed.error)})`,
    );
  return { keys: parsed.data.keys.map((key) => ({ ...key, alg: algorithm, use: 'sig' })) };
}

/** The public half of a key: key material, kid, alg and use; never a private member or timing metadata. */
export function publicJwkOf(key: SigningKeyJwk): PublicSigningJwk {
  if (key.kty === 'EC') {
    const { kty, crv, x, y, kid, alg, use } = key;
    return { kty, crv, x, y, kid, alg, use };
  }
  const { kty, n, e, kid, alg, use } = key;
  return { kty, n, e, kid, alg, use };
}

/** What verifiers and the JWKS endpoint get: public members only, no timing metadata. */
export function publicKeyDocument(set: SigningKeySet): PublicKeySet {
  return { keys: set.keys.map(publicJwkOf) };
}

/** Keys written before rotation timing signed from their creation. */
const activationMs = (key: SigningKeyJwk): number => Date.parse(key.activatesAt ?? key.createdAt);

/**
 * When the key at `index` stopped signing: the earliest activation among the newer keys before it in the list
 * (the runtime signs with the newest active key, shared/crypto/key-store.ts signerAt).
 */
function replacedAtMs(keys: readonly SigningKeyJwk[], index: number): number {
  return Math.min(...keys.slice(0, index).map(activationMs));
}

/**
 * The next secret value: the new key first, signing only from `now + KEY_PUBLISH_LEAD_MS`, then every previous
 * key that may still have live tokens (replaced less than KEY_RETENTION_AFTER_REPLACEMENT_MS ago, or not replaced
 * yet because its successor is still waiting to sign).
 */
export function nextSigningKeySet(previous: SigningKeySet, newKey: SigningKeyJwk, now: Date): SigningKeySet {
  const added: SigningKeyJwk = {
    ...newKey,
    activatesAt: new Date(now.getTime() + KEY_PUBLISH_LEAD_MS).toISOString(),
  };
  const keys = [added, ...previous.keys.filter((key) => key.kid !== newKey.kid)];
  return {
    keys: keys.filter(
      (_key, index) =>
        index === 0 || replacedAtMs(keys, index) + KEY_RETENTION_AFTER_REPLACEMENT_MS > now.getTime(),
    ),
  };
}

/** The very first key signs at once: no token exists yet that a verifier could reject. */
export function firstSigningKeySet(key: SigningKeyJwk, now: Date): SigningKeySet {
  return { keys: [{ ...key, activatesAt: now.toISOString() }] };
}
