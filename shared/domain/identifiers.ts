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
