/** Normalisation rules for the two login identifiers, applied everywhere an email or username enters. */

export const USERNAME_PATTERN = /^[a-z0-9_.-]{3,32}$/;

export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

export function normaliseUsername(username: string): string {
  return username.trim().toLowerCase();
}

export type LoginIdentifier = { kind: 'email'; value: string } | { kind: 'username'; value: string };

/** A login is an email when it contains `@`; usernames cannot contain one. */
export function parseLoginIdentifier(login: string): LoginIdentifier {
  return login.includes('@')
    ? { kind: 'email', value: normaliseEmail(login) }
    : { kind: 'username', value: normaliseUsername(login) };
}

export function identifierKey(identifier: LoginIdentifier): string {
  return `${identifier.kind}#${identifier.value}`;
}

/**
 * The keys of an account's uniqueness guards in the identifiers table: email, username and, for imported
 * accounts, the id the account had in the system it came from.
 */
export function identifierGuardKeys(account: {
  readonly email: string;
  readonly username?: string | undefined;
  readonly externalId?: string | undefined;
}): string[] {
  const keys = [identifierKey({ kind: 'email', value: account.email })];
  if (account.username) keys.push(identifierKey({ kind: 'username', value: account.username }));
  if (account.externalId !== undefined) keys.push(`externalId#${account.externalId}`);
  return keys;
}
