import { createHash, randomInt } from 'node:crypto';

/** The grants of the token endpoint (RFC 6749, RFC 8628). */
export const GRANT_TYPES = [
  'authorization_code',
  'refresh_token',
  'urn:ietf:params:oauth:grant-type:device_code',
  'client_credentials',
] as const;
export type GrantType = (typeof GRANT_TYPES)[number];

export const DEVICE_CODE_GRANT: GrantType = 'urn:ietf:params:oauth:grant-type:device_code';

export type ClientType = 'public' | 'confidential';

/** A registered OAuth client. The secret itself is never stored, only its SHA-256. */
export interface OAuthClient {
  readonly clientId: string;
  readonly name: string;
  readonly type: ClientType;
  readonly grantTypes: readonly GrantType[];
  readonly redirectUris: readonly string[];
  readonly scopes: readonly string[];
  /** Confidential clients only. */
  readonly secretHash?: string;
  /** Bumped by a secret rotation: client credentials tokens carry it (`cv`) and go stale with it. */
  readonly credentialVersion: number;
  readonly createdAt: string;
}

export type PublicOAuthClient = Omit<OAuthClient, 'secretHash' | 'credentialVersion'>;

export function toPublicClient(client: OAuthClient): PublicOAuthClient {
  const { secretHash: _secret, credentialVersion: _version, ...rest } = client;
  return rest;
}

/** RFC 6749 3.3 scope-token: printable ASCII without space, double quote or backslash. */
export const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]{1,64}$/;

/**
 * The scopes to grant: the requested ones if all are registered for the client, or all of the client's
 * scopes when none are requested (RFC 6749 3.3 lets the server pick a default). Undefined means invalid_scope.
 */
export function grantedScopes(client: Pick<OAuthClient, 'scopes'>, requested: string | undefined) {
  if (requested === undefined || requested.trim() === '') return client.scopes.join(' ');
  const wanted = [...new Set(requested.split(' ').filter(Boolean))];
  if (!wanted.every((scope) => client.scopes.includes(scope))) return undefined;
  return wanted.join(' ');
}

/** RFC 7636 4.6, S256 only: BASE64URL(SHA256(ASCII(code_verifier))) == code_challenge. */
export function pkceChallengeOf(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}

/** RFC 7636 4.1: 43-128 unreserved characters. */
export const CODE_VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;
/** A base64url SHA-256 digest without padding. */
export const CODE_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;

/**
 * RFC 8628 6.1: user codes from 20 consonants (no vowels, so no words; no 0/O, 1/I lookalikes), 8 characters:
 * 20^8 = 2.56e10 codes (34.6 bits). Guessing is throttled per source and per account on top of that.
 */
export const USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ';
export const USER_CODE_LENGTH = 8;

export function generateUserCode(): string {
  let code = '';
  for (let index = 0; index < USER_CODE_LENGTH; index += 1) {
    code += USER_CODE_ALPHABET[randomInt(USER_CODE_ALPHABET.length)];
  }
  return code;
}

/** `BCDF-GHJK`, the form shown on the device and in verification_uri_complete. */
export function formatUserCode(code: string): string {
  return `${code.slice(0, 4)}-${code.slice(4)}`;
}

/** What a person types: any case, with or without the dash or spaces. Undefined when it cannot be a code. */
export function normaliseUserCode(input: string): string | undefined {
  const code = input.toUpperCase().replace(/[\s-]/g, '');
  if (code.length !== USER_CODE_LENGTH) return undefined;
  for (const char of code) if (!USER_CODE_ALPHABET.includes(char)) return undefined;
  return code;
}

/**
 * Exact redirect URI match (RFC 9700 2.1): https anywhere, http only on loopback (RFC 8252 7.3), private-use
 * schemes for native apps (RFC 8252 7.1); never a fragment.
 */
export function isAcceptableRedirectUri(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  if (url.hash !== '' || value.includes('#')) return false;
  if (url.protocol === 'https:') return true;
  if (url.protocol === 'http:') return ['127.0.0.1', '[::1]', 'localhost'].includes(url.hostname);
  return /^[a-z][a-z0-9+.-]*\.[a-z0-9+.-]+:$/.test(url.protocol);
}
