/**
 * Accounts written straight into the tables with BatchWriteItem (no hashing, no HTTP): for the tests, benchmarks
 * and the breach drill of incidents over thousands of accounts, where signing each one up would take minutes.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { identifierKey } from '../../shared/domain/identifiers.js';
import type { UserRecord } from '../../shared/domain/user.js';

/** One item to put, and the table it goes to. */
export interface TableItem {
  readonly table: string;
  readonly item: Record<string, unknown>;
}

export interface AccountTables {
  readonly users: string;
  readonly identifiers: string;
}

export interface AccountToSeed {
  readonly userId: string;
  readonly email: string;
  readonly authMethod: 'password' | 'sso';
  /** Written as an `externalId#` guard, as the user import does. */
  readonly externalId?: string;
}

export interface SeededAccount {
  readonly id: string;
  readonly email: string;
  readonly authMethod: 'password' | 'sso';
  readonly externalId: string;
}

/**
 * The user item and its identifier guards (email, and `externalId#` when given): the import's layout. Password
 * accounts get `password.hash`, set at `password.setAt` (epoch ms).
 */
export function accountItems(
  tables: AccountTables,
  account: AccountToSeed,
  password: { readonly hash: string; readonly setAt: number },
  now: Date,
): TableItem[] {
  const user: UserRecord = {
    userId: account.userId,
    email: account.email,
    authMethod: account.authMethod,
    ...(account.authMethod === 'password'
      ? { passwordHash: password.hash, passwordSetAt: password.setAt }
      : {}),
    tokenVersion: 0,
    mustResetPassword: false,
    createdAt: now.toISOString(),
    updatedAt: now.toISOString(),
  };
  return [
    { table: tables.users, item: user as unknown as Record<string, unknown> },
    {
      table: tables.identifiers,
      item: { identifier: identifierKey({ kind: 'email', value: account.email }), userId: account.userId },
    },
    ...(account.externalId === undefined
      ? []
      : [
          {
            table: tables.identifiers,
            item: { identifier: `externalId#${account.externalId}`, userId: account.userId },
          },
        ]),
  ];
}

/**
 * One BatchWriteItem of at most 25 puts, sent again with what DynamoDB left unprocessed, backing off a little more
 * each time (as DynamoDB asks), until nothing is left.
 */
export async function batchPut(db: DynamoDBDocumentClient, batch: readonly TableItem[]): Promise<void> {
  let requests: Record<string, { PutRequest: { Item: Record<string, unknown> } }[]> = {};
  for (const { table, item } of batch)
    requests[table] = [...(requests[table] ?? []), { PutRequest: { Item: item } }];
  for (let attempt = 0; Object.keys(requests).length > 0; attempt += 1) {
    if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(50 * attempt, 1000)));
    const result = await db.send(new BatchWriteCommand({ RequestItems: requests }));
    requests = (result.UnprocessedItems ?? {}) as typeof requests;
  }
}

/** Every item, 25 per BatchWriteItem, 8 requests in flight. */
export async function batchPutAll(db: DynamoDBDocumentClient, items: readonly TableItem[]): Promise<void> {
  for (let start = 0; start < items.length; start += 25 * 8) {
    await Promise.all(
      Array.from({ length: 8 }, async (_, k) => {
        const batch = items.slice(start + k * 25, start + k * 25 + 25);
        if (batch.length > 0) await batchPut(db, batch);
      }),
    );
  }
}

/** `count` accounts; every fourth is an SSO account; each has its email and `externalId#` guards. */
export async function seedAccounts(
  db: DynamoDBDocumentClient,
  tables: AccountTables,
  count: number,
): Promise<SeededAccount[]> {
  const tag = randomBytes(4).toString('hex');
  const now = new Date();
  const accounts = Array.from({ length: count }, (_, i) => ({
    userId: randomUUID(),
    email: `seed-${tag}-${i}@example.test`,
    authMethod: (i % 4 === 3 ? 'sso' : 'password') as 'password' | 'sso',
    externalId: `legacy-${tag}-${i}`,
  }));
  const password = { hash: 'seeded-not-a-hash', setAt: now.getTime() };
  await batchPutAll(
    db,
    accounts.flatMap((account) => accountItems(tables, account, password, now)),
  );
  return accounts.map(({ userId, email, authMethod, externalId }) => ({
    id: userId,
    email,
    authMethod,
    externalId,
  }));
}
