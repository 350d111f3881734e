import type { LoginIdentifier } from '../domain/identifiers.js';
import type { UserRecord } from '../domain/user.js';
import type { TransactItem } from './transaction.js';

export type ImportWriteOutcome = 'created' | 'exists';

/** A new password: `expectedHash` makes the change conditional on the current hash, `signOut` also ends every session. */
export interface PasswordChange {
  readonly passwordHash: string;
  readonly expectedHash?: string;
  readonly signOut: boolean;
  readonly now: Date;
}

/** Accounts, with emails and usernames unique across them. */
export interface UsersStore {
  create(user: UserRecord): Promise<void>;
  /**
   * Bulk import: each account is its user item plus one conditional guard per identifier, packed into
   * transactions of up to 100 items, so uniqueness holds exactly as for sign-up even when imports race,
   * at a fraction of a request per account. A cancelled transaction names the guards that already
   * exist: those accounts are `exists`, and the rest of that transaction is sent again without them.
   * The caller must not pass two accounts sharing an identifier (one transaction cannot touch an item
   * twice).
   */
  importMany(users: readonly UserRecord[]): Promise<ImportWriteOutcome[]>;
  findUserId(identifier: LoginIdentifier): Promise<string | undefined>;
  get(userId: string): Promise<UserRecord | undefined>;
  /**
   * The account an identifier lookup found; for an unknown identifier (undefined) a key no account has is read
   * instead, so a login spends the same reads whether or not the account exists.
   */
  getWithEqualWork(userId: string | undefined): Promise<UserRecord | undefined>;
  findByIdentifier(identifier: LoginIdentifier): Promise<UserRecord | undefined>;
  /** "Sign out of all devices": one conditional update, whatever the number of sessions. */
  bumpTokenVersionReturningUser(userId: string, now: Date): Promise<UserRecord>;
  /** Re-hash on login: only if nobody changed the password in between (else keep theirs). */
  replacePasswordHash(userId: string, expectedHash: string, newHash: string): Promise<boolean>;
  /**
   * The transaction item that sets a new password: clears the forced-reset flag and, when asked,
   * bumps the token version, so that both land together with whatever else the caller adds
   * (e.g. consuming a reset token).
   */
  setPasswordItem(userId: string, input: PasswordChange): TransactItem;
  /**
   * Sets the password together with other writes (e.g. consuming a reset token) in one transaction.
   * Returns false when any condition failed: token used or expired, or the password changed meanwhile.
   */
  setPasswordTogether(
    userId: string,
    input: PasswordChange,
    otherItems: readonly TransactItem[],
  ): Promise<boolean>;
  /** Returns the updated account, or undefined when the expected hash no longer matches. */
  setPassword(userId: string, input: PasswordChange): Promise<UserRecord | undefined>;
  setMustResetPassword(
    userId: string,
    input: {
      revokeSessions: boolean;
      now: Date;
    },
  ): Promise<UserRecord>;
  /** Stores the sealed secret of a TOTP setup that is not confirmed yet (replacing an older one). */
  savePendingTotp(userId: string, sealedSecret: string, now: Date): Promise<void>;
  /** Turns TOTP on with the pending secret, if that is still the one the code was checked against. */
  enableTotp(
    userId: string,
    input: {
      sealedSecret: string;
      step: number;
      recoveryCodeHashes: string[];
      now: Date;
    },
  ): Promise<boolean>;
  disableTotp(userId: string, now: Date): Promise<boolean>;
  /** Accepts a TOTP step once: concurrent or replayed uses of the same (or an older) step lose. */
  useTotpStep(userId: string, step: number): Promise<boolean>;
  /** Consumes one recovery code, identified by its position, only if it is still there. */
  useRecoveryCode(userId: string, index: number, codeHash: string): Promise<boolean>;
}
