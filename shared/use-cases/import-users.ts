import { randomUUID } from 'node:crypto';
import {
  checkFastDigest,
  checkSlowHash,
  formatWrappedHash,
  UnsupportedHashError,
} from '../crypto/imported-hashes.js';
import { identifierGuardKeys, normaliseEmail } from '../domain/identifiers.js';
import type { UserRecord } from '../domain/user.js';
import {
  type ImportRow,
  type ImportRowResult,
  importRowSchema,
  rowErrorDetails,
} from '../domain/user-import.js';
import type { SecurityEventsStore } from '../ports/security-events-store.js';
import type { Deps } from './deps.js';

export interface ImportUsersInput {
  /** Raw rows: each is validated on its own so one bad row never fails the others. */
  readonly users: readonly unknown[];
  /** Marks every account of this call as having to reset its password at next sign-in. */
  readonly mustResetPassword?: boolean;
}

type ImportDeps = Pick<Deps, 'users' | 'hasher' | 'clock'> & {
  /** forced resets of imported accounts are security events (a Shared Signals SET each). */
  readonly events?: Pick<SecurityEventsStore, 'recordMany'>;
};

/**
 * Imports a batch of existing accounts with their password hashes (docs/adr/0009-imported-password-hashes.md).
 * Slow hashes are checked and kept; fast digests are wrapped in argon2id before anything is stored.
 * Rows are written in transactions of up to 100 items with one conditional guard per identifier, so a
 * re-run or a concurrent import of the same account answers `exists` rather than creating a second one.
 */
export async function importUsers(deps: ImportDeps, input: ImportUsersInput): Promise<ImportRowResult[]> {
  const now = deps.clock.now();
  const results: (ImportRowResult | undefined)[] = new Array(input.users.length);
  const seen = new Map<string, number>();
  const accepted: { index: number; row: ImportRow }[] = [];

  input.users.forEach((raw, index) => {
    const parsed = importRowSchema.safeParse(raw);
    if (!parsed.success) {
      results[index] = invalid(index, 'The row is invalid.', rowErrorDetails(parsed.error));
      return;
    }
    const row = { ...parsed.data, email: normaliseEmail(parsed.data.email) };
    if (typeof row.passwordHash === 'string') {
      try {
        checkSlowHash(row.passwordHash);
      } catch (error) {
        if (!(error instanceof UnsupportedHashError)) throw error;
        results[index] = invalid(index, error.message, [{ path: 'passwordHash', message: error.message }]);
        return;
      }
    } else if (row.passwordHash !== undefined) {
      try {
        checkFastDigest(row.passwordHash);
      } catch (error) {
        if (!(error instanceof UnsupportedHashError)) throw error;
        results[index] = invalid(index, error.message, [
          { path: 'passwordHash.hash', message: error.message },
        ]);
        return;
      }
    }
    // Within one call the first row wins, as if the rows had been sent one by one.
    const duplicateOf = identifierGuardKeys(row)
      .map((key) => seen.get(key))
      .find((other) => other !== undefined);
    if (duplicateOf !== undefined) {
      results[index] = {
        index,
        status: 'exists',
        error: 'account_exists',
        message: `Row ${duplicateOf} of this request has the same email, username or externalId.`,
      };
      return;
    }
    for (const key of identifierGuardKeys(row)) seen.set(key, index);
    accepted.push({ index, row });
  });

  const records = await Promise.all(
    accepted.map(({ row }) => toUserRecord(deps, row, input.mustResetPassword === true, now)),
  );
  const outcomes = await deps.users.importMany(records);
  const forced = records.filter(
    (record, position) => outcomes[position] === 'created' && record.mustResetPassword,
  );
  await deps.events
    ?.recordMany(
      forced.map((record) => ({
        userId: record.userId,
        event: {
          type: 'password_reset_forced' as const,
          at: now.toISOString(),
          ip: null,
          userAgent: null,
          detail: { source: 'import', revokedSessions: false },
        },
      })),
    )
    // An audit aid, like recordEvent: never fails the import.
    .catch(() => undefined);
  accepted.forEach(({ index }, position) => {
    results[index] =
      outcomes[position] === 'created'
        ? { index, status: 'created', userId: records[position]!.userId }
        : {
            index,
            status: 'exists',
            error: 'account_exists',
            message: 'An account with this email, username or externalId already exists.',
          };
  });
  return results as ImportRowResult[];
}

async function toUserRecord(
  deps: ImportDeps,
  row: ImportRow,
  mustResetForAll: boolean,
  now: Date,
): Promise<UserRecord> {
  let passwordHash: string | undefined;
  if (typeof row.passwordHash === 'string') {
    passwordHash = row.passwordHash;
  } else if (row.passwordHash !== undefined) {
    // OWASP's layering: the stored value is argon2id(hex digest), never the digest itself.
    passwordHash = formatWrappedHash(
      row.passwordHash,
      await deps.hasher.hash(checkFastDigest(row.passwordHash)),
    );
  }
  return {
    userId: randomUUID(),
    email: row.email,
    ...(row.username ? { username: row.username } : {}),
    ...(row.externalId !== undefined ? { externalId: row.externalId } : {}),
    authMethod: row.authMethod,
    ...(passwordHash ? { passwordHash, passwordSetAt: now.getTime() } : {}),
    tokenVersion: 0,
    mustResetPassword: row.authMethod === 'password' && (mustResetForAll || row.mustResetPassword === true),
    createdAt: now.toISOString(),
    updatedAt: now.toISOString(),
  };
}

function invalid(
  index: number,
  message: string,
  details: readonly { path: string; message: string }[],
): ImportRowResult {
  return { index, status: 'invalid', error: 'invalid_request', message, details };
}
