/** Lifetime of an access token (and of client and ID tokens), the longest-lived thing the key set signs. */
export const ACCESS_TOKEN_TTL_SECONDS = 15 * 60;

/**
 * How long a process keeps a key set it read: the signing secret, the public key set, or a fetched JWKS
 * (shared/aws/secrets-manager-key-store.ts, shared/crypto/remote-jwks.ts).
 */
export const KEY_SET_CACHE_MS = 5 * 60 * 1000;

/**
 * A new key is published this long before it may sign (docs/adr/0001-token-design.md, "Key rotation"). The JWKS
 * endpoint may serve a public set one cache lifetime old, and a resource server's authorizer may cache that JWKS
 * for another; the extra minute covers clock skew between Lambda hosts and the steps of one rotation.
 */
export const KEY_PUBLISH_LEAD_MS = 2 * KEY_SET_CACHE_MS + 60_000;

/** The longest lifetime of anything the key signs: access tokens (refresh tokens are opaque, never signed). */
export const LONGEST_SIGNED_TOKEN_LIFETIME_MS = ACCESS_TOKEN_TTL_SECONDS * 1000;

/**
 * A replaced key stays published this long after its successor starts signing: its last token may have been signed
 * just before, and lives the longest token lifetime; one minute more for clock skew.
 */
export const KEY_RETENTION_AFTER_REPLACEMENT_MS = LONGEST_SIGNED_TOKEN_LIFETIME_MS + 60_000;
