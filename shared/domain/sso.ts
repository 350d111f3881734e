import type { UserRecord } from './user.js';

/** How long a browser may spend at the provider between start and callback. */
export const SSO_FLOW_LIFETIME_SECONDS = 10 * 60;

/** The one-time code in `/login#sso_code=` lives this long: the page exchanges it at once. */
export const SSO_LOGIN_CODE_LIFETIME_SECONDS = 60;

/** What a provider told us about the person, after openid-client verified the ID token. */
export interface FederatedIdentity {
  /** `iss` of the ID token: with `sub`, the only stable key of the person at that provider. */
  readonly issuer: string;
  readonly subject: string;
  /** Normalised (trimmed, lower-cased); absent when the provider sent none. */
  readonly email: string | undefined;
  /** Only `email_verified: true` counts: a provider that leaves it out has not verified anything. */
  readonly emailVerified: boolean;
}

/** The error codes of `#sso_error=` (INTERFACES.md), each a sentence-worthy outcome for the login page. */
export type SsoErrorCode =
  | 'access_denied'
  | 'invalid_state'
  | 'expired'
  | 'invalid_id_token'
  | 'invalid_grant'
  | 'not_linked'
  | 'already_linked'
  | 'unavailable'
  | 'too_many_requests'
  | 'provider_error';

export type LinkDecision =
  | { readonly kind: 'sign_in'; readonly userId: string }
  | { readonly kind: 'link_and_sign_in'; readonly userId: string }
  | { readonly kind: 'create'; readonly email: string }
  | { readonly kind: 'refuse'; readonly reason: SsoErrorCode };

export interface LinkFacts {
  /** The account the provider identity is already linked to, if any. */
  readonly linkedUserId: string | undefined;
  /** The account whose email equals the identity's (verified) email, if any. */
  readonly accountWithEmail: Pick<UserRecord, 'userId' | 'authMethod'> | undefined;
  readonly jitCreate: boolean;
}

/**
 * The linking rules of a federated sign-in (docs/adr/0007-sso-account-linking.md):
 * 1. iss+sub already linked: that account, whatever the email says now.
 * 2. A verified email equal to an SSO account's (admin-created or imported): link it on first sign-in.
 * 3. An email claim never takes over a password account; its owner links the provider while signed in.
 * 4. Unverified emails never link and never create.
 * 5. Otherwise create an SSO account only when the provider allows just-in-time creation.
 */
export function decideSignIn(identity: FederatedIdentity, facts: LinkFacts): LinkDecision {
  if (facts.linkedUserId !== undefined) return { kind: 'sign_in', userId: facts.linkedUserId };
  if (identity.email === undefined || !identity.emailVerified)
    return { kind: 'refuse', reason: 'not_linked' };
  const existing = facts.accountWithEmail;
  if (existing) {
    return existing.authMethod === 'sso'
      ? { kind: 'link_and_sign_in', userId: existing.userId }
      : { kind: 'refuse', reason: 'not_linked' };
  }
  return facts.jitCreate
    ? { kind: 'create', email: identity.email }
    : { kind: 'refuse', reason: 'not_linked' };
}

/**
 * Linking from /security, by a signed-in owner: the identity may link to that account (whatever its email),
 * unless it already belongs to another one.
 */
export function decideLink(
  linkedUserId: string | undefined,
  signedInUserId: string,
): 'link' | 'already_done' | 'refuse' {
  if (linkedUserId === undefined) return 'link';
  return linkedUserId === signedInUserId ? 'already_done' : 'refuse';
}

/**
 * `returnTo` must stay on our origin: one leading slash and no scheme, backslash or control character, so
 * `//evil.example` or `/\evil.example` cannot turn the redirect after sign-in into an open redirect.
 */
export function safeReturnTo(value: string | undefined, fallback = '/security'): string {
  if (value === undefined || value === '') return fallback;
  if (value.length > 512 || !value.startsWith('/') || value.startsWith('//')) return fallback;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this refuses
  if (/[\\\u0000-\u001f\u007f]/.test(value)) return fallback;
  return value;
}
