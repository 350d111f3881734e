/**
 * Accounts written straight into the tables with BatchWriteItem (no hashing, no HTTP): for tests of
 * incidents over thousands of accounts, where signing each one up would take minutes.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { identifierKey } from '../../shared/domain/identifiers.js';
import type { UserRecord } from '../../shared/domain/user.js';

export interface SeededAccount {
  readonly id: string;
  readonly email: string;
  readonly authMethod: 'password' | 'sso';
  readonly externalId: string;
}

/** Every fourth account is an SSO account; each has its email and `externalId#` guards (the import's layout). */
export async function seedAccounts(
  db: DynamoDBDocumentClient,
  tables: { readonly users: string; readonly identifiers: string },
  count: number,
): Promise<SeededAccount[]> {
  const tag = randomBytes(4).toString('hex');
  const now = new Date();
  const records = Array.from({ length: count }, (_, i) => {
    const authMethod: 'password' | 'sso' = i % 4 === 3 ? 'sso' : 'password';
    const user: UserRecord = {
      userId: randomUUID(),
      email: `seed-${tag}-${i}@example.test`,
      authMethod,
      ...(authMethod === 'password'
        ? { passwordHash: 'seeded-not-a-hash', passwordSetAt: now.getTime() }
        : {}),
      tokenVersion: 0,
      mustResetPassword: false,
      createdAt: now.toISOString(),
      updatedAt: now.toISOString(),
    };
    return { user, externalId: `legacy-${tag}-${i}` };
  });
  const writes = records.flatMap(({ user, externalId }) => [
    { table: tables.users, item: user as unknown as Record<string, unknown> },
    {
      table: tables.identifiers,
      item: { identifier: identifierKey({ kind: 'email', value: user.email }), userId: user.userId },
    },
    { table: tables.identifiers, item: { identifier: `externalId#${externalId}`, userId: user.userId } },
  ]);
  const chunks = Array.from({ length: Math.ceil(writes.length / 25) }, (_, i) =>
    writes.slice(i * 25, i * 25 + 25),
  );
  for (let start = 0; start < chunks.length; start += 8) {
    await Promise.all(
      chunks.slice(start, start + 8).map(async (chunk) => {
        let pending: Record<string, { PutRequest: { Item: Record<string, unknown> } }[]> = {};
        for (const { table, item } of chunk)
          pending[table] = [...(pending[table] ?? []), { PutRequest: { Item: item } }];
        while (Object.keys(pending).length > 0) {
          const result = await db.send(new BatchWriteCommand({ RequestItems: pending }));
          pending = (result.UnprocessedItems ?? {}) as typeof pending;
        }
      }),
    );
  }
  return records.map(({ user, externalId }) => ({
    id: user.userId,
    email: user.email,
    authMethod: user.authMethod as 'password' | 'sso',
    externalId,
  }));
}
