import { normaliseEmail } from './identifiers.js';

/**
 * One entry of an incident's listed audience: a user id, an email, or `ext:<externalId>` (the id an account
 * had in the system it was imported from). Entries are stored normalised, so the same email written twice
 * in different cases is recognised as the same account.
 */
export type AudienceEntry =
  | { readonly kind: 'user'; readonly value: string }
  | { readonly kind: 'email'; readonly value: string }
  | { readonly kind: 'ext'; readonly value: string };

const USER_ID = /^[A-Za-z0-9-]{1,64}$/;
const EMAIL = /^[^\s@]+@[^\s@]+$/;
/** Printable ASCII without spaces: external ids come from other systems' primary keys. */
const EXTERNAL_ID = /^[\x21-\x7e]{1,128}$/;

/** The stored form of an entry, or undefined when it is none of the three kinds. */
export function normaliseAudienceEntry(raw: string): string | undefined {
  const value = raw.trim();
  if (value.startsWith('ext:')) {
    const id = value.slice(4);
    return EXTERNAL_ID.test(id) ? `ext:${id}` : undefined;
  }
  if (value.includes('@')) {
    const email = normaliseEmail(value);
    return email.length <= 254 && EMAIL.test(email) ? email : undefined;
  }
  return USER_ID.test(value) ? value : undefined;
}

/** Reads a stored (normalised) entry back. */
export function parseAudienceEntry(entry: string): AudienceEntry {
  if (entry.startsWith('ext:')) return { kind: 'ext', value: entry.slice(4) };
  if (entry.includes('@')) return { kind: 'email', value: entry };
  return { kind: 'user', value: entry };
}

/**
 * A reference to one stored entry: the part it came in and its index there. The account an entry resolves to is
 * claimed with it, so the first entry naming an account is the one that acts (duplicates are skipped).
 */
export const entryRef = (partSk: string, index: number) => `${partSk}/${index}`;
