/**
 * The exact tenant cut-off of a `scope: all` revocation, across two Lambda instances on one fake clock: instance A
 * and instance B each have their own revocation reader (tenant policy cached for 500 ms), and B's cache was filled
 * just before the incident. Minting must not trust that cache, and the token check compares the session's start
 * (ms) with the cut-off as well as the token's `iat` (s).
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
} from '@aws-sdk/lib-dynamodb';
import { tokenAuthorizerReads } from '../../infra/workloads.js';
import { loadConfig } from '../../shared/config.js';
import { createAccessTokens } from '../../shared/crypto/access-tokens.js';
import { importSigningKeys } from '../../shared/crypto/key-store.js';
import { sha256Hex } from '../../shared/crypto/secrets.js';
import { generateSigningKey } from '../../shared/crypto/signing-key-set.js';
import type { UserRecord } from '../../shared/domain/user.js';
import { InvalidGrantError, InvalidTokenError } from '../../shared/errors.js';
import type { Clock } from '../../shared/ports/clock.js';
import type { SecurityEventsStore } from '../../shared/ports/security-events-store.js';
import { createRevocationStateReader } from '../../shared/stores/revocation-state.js';
import { DynamoDbSessionsStore } from '../../shared/stores/sessions-store.js';
import { DynamoDbTenantPolicyStore } from '../../shared/stores/tenant-policy-store.js';
import { DynamoDbUsersStore } from '../../shared/stores/users-store.js';
import { authenticate } from '../../shared/use-cases/authenticate.js';
import { formatRefreshToken, startSession } from '../../shared/use-cases/session-tokens.js';
import { refreshSession } from '../../shared/use-cases/sessions.js';
import { unitTestEnv } from '../support/unit-config.js';

const config = loadConfig(unitTestEnv);
const keyAttributes: Record<string, readonly string[]> = {
  [config.tables.users]: ['userId'],
  [config.tables.sessions]: ['userId', 'sessionId'],
  [config.tables.records]: ['pk', 'sk'],
};

/** Just enough of DynamoDB for these paths: strongly consistent gets, batch gets with projections, puts, deletes. */
class FakeDocumentClient {
  readonly items = new Map<string, Record<string, unknown>>();
  readonly projections: string[] = [];

  private id(table: string, item: Record<string, unknown>): string {
    const names = keyAttributes[table];
    if (!names) throw new Error(`unknown table ${table}`);
    return `${table}|${names.map((name) => String(item[name])).join('|')}`;
  }

  put(table: string, item: Record<string, unknown>): void {
    this.items.set(this.id(table, item), { ...item });
  }

  async send(command: unknown): Promise<unknown> {
    if (command instanceof GetCommand) {
      const { TableName, Key, ProjectionExpression } = command.input;
      this.projections.push(`${TableName}: ${ProjectionExpression ?? '*'}`);
      return { Item: this.items.get(this.id(TableName!, Key!)) };
    }
    if (command instanceof BatchGetCommand) {
      const Responses: Record<string, Record<string, unknown>[]> = {};
      for (const [table, request] of Object.entries(command.input.RequestItems!)) {
        const projection = request.ProjectionExpression?.split(',').map((name) => name.trim());
        if (request.ProjectionExpression) this.projections.push(`${table}: ${request.ProjectionExpression}`);
        Responses[table] = (request.Keys ?? []).flatMap((key) => {
          const item = this.items.get(this.id(table, key));
          if (!item) return [];
          return [projection ? Object.fromEntries(projection.map((name) => [name, item[name]])) : item];
        });
      }
      return { Responses, UnprocessedKeys: {} };
    }
    if (command instanceof PutCommand) {
      const { TableName, Item } = command.input;
      this.put(TableName!, Item!);
      return {};
    }
    if (command instanceof DeleteCommand) {
      const { TableName, Key } = command.input;
      const id = this.id(TableName!, Key!);
      if (!this.items.has(id))
        throw new ConditionalCheckFailedException({
          message: 'The conditional request failed',
          $metadata: {},
        });
      this.items.delete(id);
      return {};
    }
    throw new Error(`FakeDocumentClient does not support ${(command as object).constructor.name}`);
  }
}

const at = (iso: string) => Date.parse(iso);
const origin = { ip: '192.0.2.1', userAgent: 'jest' };

async function twoInstances(startMs: number) {
  const db = new FakeDocumentClient();
  const documentClient = db as unknown as DynamoDBDocumentClient;
  let nowMs = startMs;
  const clock: Clock = { now: () => new Date(nowMs) };
  const keys = await importSigningKeys({ keys: [await generateSigningKey('ES256', new Date())] });
  const keyStore = { load: async () => keys };
  const instance = () => {
    const tenantPolicy = new DynamoDbTenantPolicyStore(documentClient, config.tables.records);
    return {
      config,
      clock,
      users: new DynamoDbUsersStore(documentClient, config.tables),
      sessions: new DynamoDbSessionsStore(documentClient, config.tables.sessions, config.tables.records),
      tenantPolicy,
      revocation: createRevocationStateReader({
        db: documentClient,
        tables: config.tables,
        tenantPolicy,
        clock,
        maxAgeMs: 500,
      }),
      accessTokens: createAccessTokens(keyStore, config.jwt, () => nowMs),
      events: { record: async () => undefined } as unknown as SecurityEventsStore,
    };
  };
  const user: UserRecord = {
    userId: 'user-1',
    email: 'user-1@example.test',
    authMethod: 'password',
    passwordHash: 'not-used',
    passwordSetAt: startMs - 86_400_000,
    tokenVersion: 0,
    mustResetPassword: false,
    createdAt: new Date(startMs - 86_400_000).toISOString(),
    updatedAt: new Date(startMs - 86_400_000).toISOString(),
  };
  db.put(config.tables.users, { ...user });
  return {
    db,
    user,
    a: instance(),
    b: instance(),
    setNow: (ms: number) => {
      nowMs = ms;
    },
    /** What an incident's `scope: all` revocation writes (TenantPolicyStore.raise, on some third instance). */
    cutOff: (ms: number) =>
      db.put(config.tables.records, { pk: 'tenant', sk: 'policy', revokeTokensIssuedBefore: ms }),
    preIncidentSession: (sessionId: string, secret: string, createdAtMs: number) => {
      db.put(config.tables.sessions, {
        userId: user.userId,
        sessionId,
        deviceName: null,
        refreshTokenHash: sha256Hex(secret),
        tokenVersion: 0,
        createdAt: new Date(createdAtMs).toISOString(),
        createdAtMs,
        lastUsedAt: new Date(createdAtMs).toISOString(),
        expiresAt: Math.floor(createdAtMs / 1000) + 86_400,
      });
      return formatRefreshToken(user.userId, sessionId, secret);
    },
  };
}

describe('exact tenant cut-off across two instances', () => {
  it('revokes a pre-incident session refreshed just after the cut-off on an instance with a stale cache', async () => {
    const world = await twoInstances(at('2026-11-22T10:00:00.700Z'));
    const refreshToken = world.preIncidentSession(
      'pre-incident',
      'p'.repeat(43),
      at('2026-11-22T09:00:00.000Z'),
    );
    // Instance B cached the tenant policy just before the incident.
    await world.b.revocation.readTenant();
    world.setNow(at('2026-11-22T10:00:00.900Z'));
    world.cutOff(at('2026-11-22T10:00:00.900Z'));
    // 200 ms later, in the next whole second: B's cache (400 ms old) still says "no cut-off".
    world.setNow(at('2026-11-22T10:00:01.100Z'));
    expect((await world.b.revocation.readTenant()).revokeTokensIssuedBefore).toBeUndefined();

    await expect(refreshSession(world.b, refreshToken, origin)).rejects.toBeInstanceOf(InvalidGrantError);
    expect(world.db.items.has(`${config.tables.sessions}|user-1|pre-incident`)).toBe(false);
  });

  it('revokes, on both instances, a token minted for a pre-incident session after the cut-off', async () => {
    const world = await twoInstances(at('2026-11-22T10:00:00.700Z'));
    world.preIncidentSession('pre-incident', 'q'.repeat(43), at('2026-11-22T09:00:00.000Z'));
    await world.b.revocation.readTenant();
    world.setNow(at('2026-11-22T10:00:00.900Z'));
    world.cutOff(at('2026-11-22T10:00:00.900Z'));
    world.setNow(at('2026-11-22T10:00:01.100Z'));
    // What a stale instance used to do: mint with `iat` in the second after the cut-off, so `iat` alone passes.
    const { token } = await world.b.accessTokens.issue({
      userId: 'user-1',
      sessionId: 'pre-incident',
      tokenVersion: 0,
      issuedAt: Math.floor(at('2026-11-22T10:00:01.100Z') / 1000),
    });

    await expect(authenticate(world.a, token)).rejects.toBeInstanceOf(InvalidTokenError);
    // Once B's cache has aged out (within the contract's second), B agrees.
    world.setNow(at('2026-11-22T10:00:01.300Z'));
    await expect(authenticate(world.b, token)).rejects.toBeInstanceOf(InvalidTokenError);
    expect(world.db.projections).toContain(`${config.tables.sessions}: sessionId, expiresAt, createdAtMs`);
  });

  it('accepts a login in the same second, after the cut-off, on an instance with a stale cache', async () => {
    const world = await twoInstances(at('2026-11-22T10:00:00.100Z'));
    await world.b.revocation.readTenant();
    world.setNow(at('2026-11-22T10:00:00.300Z'));
    world.cutOff(at('2026-11-22T10:00:00.300Z'));
    world.setNow(at('2026-11-22T10:00:00.400Z'));
    expect((await world.b.revocation.readTenant()).revokeTokensIssuedBefore).toBeUndefined();

    const tokens = await startSession(world.b, world.user, 'laptop');

    // Instance A has the cut-off fresh: the token's `iat` was lifted past it and its session started after it.
    await expect(authenticate(world.a, tokens.accessToken)).resolves.toMatchObject({ userId: 'user-1' });
    world.setNow(at('2026-11-22T10:00:00.700Z'));
    await expect(authenticate(world.b, tokens.accessToken)).resolves.toMatchObject({ userId: 'user-1' });
  });

  it('still revokes a login made just before the cut-off, in the same second', async () => {
    const world = await twoInstances(at('2026-11-22T10:00:00.100Z'));
    const tokens = await startSession(world.a, world.user, 'laptop');
    world.setNow(at('2026-11-22T10:00:00.300Z'));
    world.cutOff(at('2026-11-22T10:00:00.300Z'));
    // Still the same whole second, and past any cache either instance may hold.
    world.setNow(at('2026-11-22T10:00:00.700Z'));

    await expect(authenticate(world.a, tokens.accessToken)).rejects.toBeInstanceOf(InvalidTokenError);
    await expect(refreshSession(world.b, tokens.refreshToken, origin)).rejects.toBeInstanceOf(
      InvalidGrantError,
    );
  });
});

describe('what a token check reads', () => {
  it('asks only for the attributes the token authorizer may read under its IAM policy', async () => {
    const world = await twoInstances(at('2026-11-22T10:00:00.000Z'));
    const tokens = await startSession(world.a, world.user, 'laptop');
    world.db.projections.length = 0;
    world.setNow(at('2026-11-22T10:00:05.000Z'));

    await authenticate(world.b, tokens.accessToken);

    const allowed: Record<string, readonly string[]> = {
      [config.tables.users]: tokenAuthorizerReads.users.attributes,
      [config.tables.sessions]: tokenAuthorizerReads.sessions.attributes,
      [config.tables.records]: tokenAuthorizerReads.records.attributes,
    };
    expect(world.db.projections).toHaveLength(3);
    for (const entry of world.db.projections) {
      const [table, projection] = entry.split(': ') as [string, string];
      expect(projection).not.toBe('*');
      for (const name of projection.split(',').map((n) => n.trim())) expect(allowed[table]).toContain(name);
    }
  });
});
