import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { cancelledConditionIndexes, isConditionFailure } from '../aws/dynamodb-errors.js';
import { identifierGuardKeys, identifierKey, type LoginIdentifier } from '../domain/identifiers.js';
import type { UserRecord } from '../domain/user.js';
import { AccountExistsError, NotFoundError } from '../errors.js';
import type { ImportWriteOutcome, PasswordChange, UsersStore } from '../ports/users-store.js';
import { conditionHeld, type TransactItem } from './conditional-write.js';

/** A key no account has (user ids are UUIDs): read to spend the same work as a real lookup. */
const NO_SUCH_USER = 'no-such-user';

/** DynamoDB's limit on the items of one TransactWriteItems call. */
export const MAX_TRANSACTION_ITEMS = 100;
/** Transactions cancelled only by a concurrent transaction on the same guard are retried this often. */
const MAX_IMPORT_ATTEMPTS = 6;

/**
 * Users live in the users table keyed by userId; email and username uniqueness is enforced by guard
 * items in the identifiers table written in the same transaction (docs/adr/0002-table-key-layout.md).
 */
export class DynamoDbUsersStore implements UsersStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tables: { users: string; identifiers: string },
  ) {}

  async create(user: UserRecord): Promise<void> {
    const identifiers: LoginIdentifier[] = [{ kind: 'email', value: user.email }];
    if (user.username) identifiers.push({ kind: 'username', value: user.username });
    try {
      await this.db.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.tables.users,
                Item: user,
                ConditionExpression: 'attribute_not_exists(userId)',
              },
            },
            ...identifiers.map((identifier) => ({
              Put: {
                TableName: this.tables.identifiers,
                Item: { identifier: identifierKey(identifier), userId: user.userId },
                ConditionExpression: 'attribute_not_exists(identifier)',
              },
            })),
          ],
        }),
      );
    } catch (error) {
      if (cancelledConditionIndexes(error)) throw new AccountExistsError();
      throw error;
    }
  }

  /**
   * Bulk import: each account is its user item plus one conditional guard per identifier, packed into
   * transactions of up to 100 items, so uniqueness holds exactly as for sign-up even when imports race,
   * at a fraction of a request per account. A cancelled transaction names the guards that already
   * exist: those accounts are `exists`, and the rest of that transaction is sent again without them.
   * The caller must not pass two accounts sharing an identifier (one transaction cannot touch an item
   * twice).
   */
  async importMany(users: readonly UserRecord[]): Promise<ImportWriteOutcome[]> {
    const outcomes: ImportWriteOutcome[] = new Array(users.length).fill('created');
    const groups: number[][] = [];
    let current: number[] = [];
    let itemsInCurrent = 0;
    users.forEach((user, index) => {
      const items = 1 + identifierGuardKeys(user).length;
      if (itemsInCurrent + items > MAX_TRANSACTION_ITEMS) {
        groups.push(current);
        current = [];
        itemsInCurrent = 0;
      }
      current.push(index);
      itemsInCurrent += items;
    });
    if (current.length > 0) groups.push(current);
    await Promise.all(groups.map((group) => this.importGroup(users, group, outcomes)));
    return outcomes;
  }

  private async importGroup(
    users: readonly UserRecord[],
    group: readonly number[],
    outcomes: ImportWriteOutcome[],
  ): Promise<void> {
    let pending = [...group];
    for (let attempt = 1; pending.length > 0; attempt += 1) {
      const owners: number[] = [];
      const items: TransactItem[] = [];
      for (const index of pending) {
        const user = users[index]!;
        owners.push(index);
        items.push({
          Put: {
            TableName: this.tables.users,
            Item: user,
            ConditionExpression: 'attribute_not_exists(userId)',
          },
        });
        for (const key of identifierGuardKeys(user)) {
          owners.push(index);
          items.push({
            Put: {
              TableName: this.tables.identifiers,
              Item: { identifier: key, userId: user.userId },
              ConditionExpression: 'attribute_not_exists(identifier)',
            },
          });
        }
      }
      try {
        await this.db.send(new TransactWriteCommand({ TransactItems: items }));
        return;
      } catch (error) {
        if (!(error instanceof TransactionCanceledException) || attempt >= MAX_IMPORT_ATTEMPTS) throw error;
        const taken = new Set((cancelledConditionIndexes(error) ?? []).map((item) => owners[item]!));
        for (const index of taken) outcomes[index] = 'exists';
        pending = pending.filter((index) => !taken.has(index));
        if (taken.size === 0) {
          // Cancelled by a concurrent transaction on the same guards (TransactionConflict): back off and retry.
          await new Promise((resolve) => setTimeout(resolve, 20 * 2 ** attempt * Math.random()));
        }
      }
    }
  }

  async findUserId(identifier: LoginIdentifier): Promise<string | undefined> {
    const result = await this.db.send(
      new GetCommand({ TableName: this.tables.identifiers, Key: { identifier: identifierKey(identifier) } }),
    );
    return result.Item?.['userId'] as string | undefined;
  }

  async get(userId: string): Promise<UserRecord | undefined> {
    const result = await this.db.send(
      new GetCommand({ TableName: this.tables.users, Key: { userId }, ConsistentRead: true }),
    );
    return result.Item as UserRecord | undefined;
  }

  /**
   * The account an identifier lookup found; for an unknown identifier (undefined) a key no account has is read
   * instead, so a login spends the same reads whether or not the account exists.
   */
  async getWithEqualWork(userId: string | undefined): Promise<UserRecord | undefined> {
    const user = await this.get(userId ?? NO_SUCH_USER);
    return userId === undefined ? undefined : user;
  }

  async findByIdentifier(identifier: LoginIdentifier): Promise<UserRecord | undefined> {
    const userId = await this.findUserId(identifier);
    return userId === undefined ? undefined : this.get(userId);
  }

  /** "Sign out of all devices": one conditional update, whatever the number of sessions. */
  async bumpTokenVersionReturningUser(userId: string, now: Date): Promise<UserRecord> {
    try {
      const result = await this.db.send(
        new UpdateCommand({
          TableName: this.tables.users,
          Key: { userId },
          UpdateExpression: 'ADD tokenVersion :one SET updatedAt = :now',
          ConditionExpression: 'attribute_exists(userId)',
          ExpressionAttributeValues: { ':one': 1, ':now': now.toISOString() },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return result.Attributes as UserRecord;
    } catch (error) {
      if (isConditionFailure(error)) throw new NotFoundError('The account no longer exists.');
      throw error;
    }
  }

  /** Re-hash on login: only if nobody changed the password in between (else keep theirs). */
  async replacePasswordHash(userId: string, expectedHash: string, newHash: string): Promise<boolean> {
    return conditionHeld(
      this.db.send(
        new UpdateCommand({
          TableName: this.tables.users,
          Key: { userId },
          UpdateExpression: 'SET passwordHash = :new',
          ConditionExpression: 'passwordHash = :expected',
          ExpressionAttributeValues: { ':new': newHash, ':expected': expectedHash },
        }),
      ),
    );
  }

  /**
   * The transaction item that sets a new password: clears the forced-reset flag and, when asked,
   * bumps the token version, so that both land together with whatever else the caller adds
   * (e.g. consuming a reset token).
   */
  setPasswordItem(userId: string, input: PasswordChange): TransactItem {
    const values: Record<string, unknown> = {
      ':hash': input.passwordHash,
      ':setAt': input.now.getTime(),
      ':now': input.now.toISOString(),
      ':false': false,
    };
    let update =
      'SET passwordHash = :hash, passwordSetAt = :setAt, updatedAt = :now, mustResetPassword = :false';
    if (input.signOut) {
      update += ' ADD tokenVersion :one';
      values[':one'] = 1;
    }
    let condition = 'attribute_exists(userId) AND authMethod = :password';
    values[':password'] = 'password';
    if (input.expectedHash !== undefined) {
      condition += ' AND passwordHash = :expected';
      values[':expected'] = input.expectedHash;
    }
    return {
      Update: {
        TableName: this.tables.users,
        Key: { userId },
        UpdateExpression: update,
        ConditionExpression: condition,
        ExpressionAttributeValues: values,
      },
    };
  }

  /**
   * Sets the password together with other writes (e.g. consuming a reset token) in one transaction.
   * Returns false when any condition failed: token used or expired, or the password changed meanwhile.
   */
  async setPasswordTogether(
    userId: string,
    input: PasswordChange,
    otherItems: readonly TransactItem[],
  ): Promise<boolean> {
    try {
      await this.db.send(
        new TransactWriteCommand({ TransactItems: [...otherItems, this.setPasswordItem(userId, input)] }),
      );
      return true;
    } catch (error) {
      if (cancelledConditionIndexes(error)) return false;
      throw error;
    }
  }

  /** Returns the updated account, or undefined when the expected hash no longer matches. */
  async setPassword(userId: string, input: PasswordChange): Promise<UserRecord | undefined> {
    const item = this.setPasswordItem(userId, input);
    try {
      const result = await this.db.send(new UpdateCommand({ ...item.Update!, ReturnValues: 'ALL_NEW' }));
      return result.Attributes as UserRecord;
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  async setMustResetPassword(
    userId: string,
    input: { revokeSessions: boolean; now: Date },
  ): Promise<UserRecord> {
    try {
      const result = await this.db.send(
        new UpdateCommand({
          TableName: this.tables.users,
          Key: { userId },
          UpdateExpression: `SET mustResetPassword = :true, updatedAt = :now${input.revokeSessions ? ' ADD tokenVersion :one' : ''}`,
          ConditionExpression: 'attribute_exists(userId)',
          ExpressionAttributeValues: {
            ':true': true,
            ':now': input.now.toISOString(),
            ...(input.revokeSessions ? { ':one': 1 } : {}),
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return result.Attributes as UserRecord;
    } catch (error) {
      if (isConditionFailure(error)) throw new NotFoundError('No such user.');
      throw error;
    }
  }

  /** Stores the sealed secret of a TOTP setup that is not confirmed yet (replacing an older one). */
  async savePendingTotp(userId: string, sealedSecret: string, now: Date): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.tables.users,
        Key: { userId },
        UpdateExpression: 'SET totpPendingSecret = :secret, updatedAt = :now',
        ConditionExpression: 'attribute_exists(userId)',
        ExpressionAttributeValues: { ':secret': sealedSecret, ':now': now.toISOString() },
      }),
    );
  }

  /** Turns TOTP on with the pending secret, if that is still the one the code was checked against. */
  async enableTotp(
    userId: string,
    input: { sealedSecret: string; step: number; recoveryCodeHashes: string[]; now: Date },
  ): Promise<boolean> {
    return this.conditionalUpdate({
      Key: { userId },
      UpdateExpression:
        'SET mfaEnabled = :true, totpSecret = :secret, totpLastStep = :step, recoveryCodeHashes = :codes, updatedAt = :now REMOVE totpPendingSecret',
      ConditionExpression: 'totpPendingSecret = :secret',
      ExpressionAttributeValues: {
        ':true': true,
        ':secret': input.sealedSecret,
        ':step': input.step,
        ':codes': input.recoveryCodeHashes,
        ':now': input.now.toISOString(),
      },
    });
  }

  async disableTotp(userId: string, now: Date): Promise<boolean> {
    return this.conditionalUpdate({
      Key: { userId },
      UpdateExpression:
        'SET mfaEnabled = :false, updatedAt = :now REMOVE totpSecret, totpLastStep, recoveryCodeHashes, totpPendingSecret',
      ConditionExpression: 'mfaEnabled = :true',
      ExpressionAttributeValues: { ':false': false, ':true': true, ':now': now.toISOString() },
    });
  }

  /** Accepts a TOTP step once: concurrent or replayed uses of the same (or an older) step lose. */
  async useTotpStep(userId: string, step: number): Promise<boolean> {
    return this.conditionalUpdate({
      Key: { userId },
      UpdateExpression: 'SET totpLastStep = :step',
      ConditionExpression:
        'mfaEnabled = :true AND (attribute_not_exists(totpLastStep) OR totpLastStep < :step)',
      ExpressionAttributeValues: { ':step': step, ':true': true },
    });
  }

  /** Consumes one recovery code, identified by its position, only if it is still there. */
  async useRecoveryCode(userId: string, index: number, codeHash: string): Promise<boolean> {
    return this.conditionalUpdate({
      Key: { userId },
      UpdateExpression: `REMOVE recoveryCodeHashes[${index}]`,
      ConditionExpression: `recoveryCodeHashes[${index}] = :hash`,
      ExpressionAttributeValues: { ':hash': codeHash },
    });
  }

  private async conditionalUpdate(input: Omit<ConstructorParameters<typeof UpdateCommand>[0], 'TableName'>) {
    return conditionHeld(this.db.send(new UpdateCommand({ TableName: this.tables.users, ...input })));
  }
}
