import {
  identifierGuardKeys,
  identifierKey,
  type LoginIdentifier,
} from '../../../shared/domain/identifiers.js';
import type { UserRecord } from '../../../shared/domain/user.js';
import { AccountExistsError, NotFoundError } from '../../../shared/errors.js';
import type { TransactItem } from '../../../shared/ports/transaction.js';
import type { ImportWriteOutcome, UsersStore } from '../../../shared/ports/users-store.js';
import { commitMemoryItems, memoryItem } from './transaction.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type PasswordInput = { passwordHash: string; expectedHash?: string; signOut: boolean; now: Date };

/** Users and their identifier guards, with the conditions of shared/stores/users-store.ts (atomic methods). */
export class InMemoryUsers implements UsersStore {
  readonly users = new Map<string, UserRecord>();
  readonly identifiers = new Map<string, string>();
  /** Every read of an account, whether or not it exists (the login's equal work). */
  readonly reads: string[] = [];

  private guardKeys(user: UserRecord): string[] {
    const ids: LoginIdentifier[] = [{ kind: 'email', value: user.email }];
    if (user.username) ids.push({ kind: 'username', value: user.username });
    return ids.map(identifierKey);
  }

  private update(userId: string, change: (user: Mutable<UserRecord>) => void): UserRecord {
    const user = structuredClone(this.users.get(userId)!) as Mutable<UserRecord>;
    change(user);
    this.users.set(userId, user);
    return structuredClone(user);
  }

  async create(user: UserRecord): Promise<void> {
    const keys = this.guardKeys(user);
    if (this.users.has(user.userId) || keys.some((key) => this.identifiers.has(key)))
      throw new AccountExistsError();
    this.users.set(user.userId, structuredClone(user));
    for (const key of keys) this.identifiers.set(key, user.userId);
  }

  async importMany(users: readonly UserRecord[]): Promise<ImportWriteOutcome[]> {
    return users.map((user) => {
      const keys = identifierGuardKeys(user);
      if (this.users.has(user.userId) || keys.some((key) => this.identifiers.has(key))) return 'exists';
      this.users.set(user.userId, structuredClone(user));
      for (const key of keys) this.identifiers.set(key, user.userId);
      return 'created';
    });
  }

  async findUserId(identifier: LoginIdentifier): Promise<string | undefined> {
    return this.identifiers.get(identifierKey(identifier));
  }

  async get(userId: string): Promise<UserRecord | undefined> {
    this.reads.push(userId);
    const user = this.users.get(userId);
    return user && structuredClone(user);
  }

  async getWithEqualWork(userId: string | undefined): Promise<UserRecord | undefined> {
    const user = await this.get(userId ?? 'no-such-user');
    return userId === undefined ? undefined : user;
  }

  async findByIdentifier(identifier: LoginIdentifier): Promise<UserRecord | undefined> {
    const userId = await this.findUserId(identifier);
    return userId === undefined ? undefined : this.get(userId);
  }

  async bumpTokenVersionReturningUser(userId: string, now: Date): Promise<UserRecord> {
    if (!this.users.has(userId)) throw new NotFoundError('The account no longer exists.');
    return this.update(userId, (user) => {
      user.tokenVersion += 1;
      user.updatedAt = now.toISOString();
    });
  }

  async replacePasswordHash(userId: string, expectedHash: string, newHash: string): Promise<boolean> {
    if (this.users.get(userId)?.passwordHash !== expectedHash) return false;
    this.update(userId, (user) => {
      user.passwordHash = newHash;
    });
    return true;
  }

  private canSetPassword(userId: string, input: PasswordInput): boolean {
    const user = this.users.get(userId);
    if (user?.authMethod !== 'password') return false;
    return input.expectedHash === undefined || user.passwordHash === input.expectedHash;
  }

  private applyPassword(userId: string, input: PasswordInput): UserRecord {
    return this.update(userId, (user) => {
      user.passwordHash = input.passwordHash;
      user.passwordSetAt = input.now.getTime();
      user.updatedAt = input.now.toISOString();
      user.mustResetPassword = false;
      if (input.signOut) user.tokenVersion += 1;
    });
  }

  setPasswordItem(userId: string, input: PasswordInput): TransactItem {
    return memoryItem('set password', {
      check: () => this.canSetPassword(userId, input),
      apply: () => void this.applyPassword(userId, input),
    });
  }

  async setPasswordTogether(userId: string, input: PasswordInput, otherItems: readonly TransactItem[]) {
    return commitMemoryItems([...otherItems, this.setPasswordItem(userId, input)]);
  }

  async setPassword(userId: string, input: PasswordInput): Promise<UserRecord | undefined> {
    return this.canSetPassword(userId, input) ? this.applyPassword(userId, input) : undefined;
  }

  async setMustResetPassword(userId: string, input: { revokeSessions: boolean; now: Date }) {
    if (!this.users.has(userId)) throw new NotFoundError('No such user.');
    return this.update(userId, (user) => {
      user.mustResetPassword = true;
      user.updatedAt = input.now.toISOString();
      if (input.revokeSessions) user.tokenVersion += 1;
    });
  }

  async savePendingTotp(userId: string, sealedSecret: string, now: Date): Promise<void> {
    if (!this.users.has(userId)) throw new NotFoundError('No such user.');
    this.update(userId, (user) => {
      user.totpPendingSecret = sealedSecret;
      user.updatedAt = now.toISOString();
    });
  }

  async enableTotp(
    userId: string,
    input: { sealedSecret: string; step: number; recoveryCodeHashes: string[]; now: Date },
  ): Promise<boolean> {
    if (this.users.get(userId)?.totpPendingSecret !== input.sealedSecret) return false;
    this.update(userId, (user) => {
      user.mfaEnabled = true;
      user.totpSecret = input.sealedSecret;
      user.totpLastStep = input.step;
      user.recoveryCodeHashes = [...input.recoveryCodeHashes];
      user.updatedAt = input.now.toISOString();
      delete user.totpPendingSecret;
    });
    return true;
  }

  async disableTotp(userId: string, now: Date): Promise<boolean> {
    if (this.users.get(userId)?.mfaEnabled !== true) return false;
    this.update(userId, (user) => {
      user.mfaEnabled = false;
      user.updatedAt = now.toISOString();
      delete user.totpSecret;
      delete user.totpLastStep;
      delete user.recoveryCodeHashes;
      delete user.totpPendingSecret;
    });
    return true;
  }

  async useTotpStep(userId: string, step: number): Promise<boolean> {
    const user = this.users.get(userId);
    if (user?.mfaEnabled !== true || (user.totpLastStep !== undefined && user.totpLastStep >= step))
      return false;
    this.update(userId, (stored) => {
      stored.totpLastStep = step;
    });
    return true;
  }

  async useRecoveryCode(userId: string, index: number, codeHash: string): Promise<boolean> {
    if (this.users.get(userId)?.recoveryCodeHashes?.[index] !== codeHash) return false;
    this.update(userId, (user) => {
      user.recoveryCodeHashes = user.recoveryCodeHashes!.filter((_, i) => i !== index);
    });
    return true;
  }
}
