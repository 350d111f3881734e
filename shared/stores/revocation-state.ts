import { BatchGetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { TenantPolicy } from '../domain/tenant-policy.js';
import type { Clock } from '../ports/clock.js';
import type { RevocationState, RevocationStateReader } from '../ports/revocation-state.js';
import type { TenantPolicyStore } from '../ports/tenant-policy-store.js';

interface Cached<T> {
  readonly value: T;
  readonly fetchedAt: number;
}

/**
 * Reads what a token check needs in one BatchGetItem (user + session) plus the tenant policy, each
 * cached for at most `maxAgeMs` (<= 1 s by config): the contract's "revocation visible within one
 * second" across Lambda instances, and thousands of checks per second per instance.
 */
export function createRevocationStateReader(deps: {
  db: DynamoDBDocumentClient;
  tables: { users: string; sessions: string };
  tenantPolicy: TenantPolicyStore;
  clock: Clock;
  maxAgeMs: number;
}): RevocationStateReader {
  const { db, tables, tenantPolicy, clock, maxAgeMs } = deps;
  const entries = new Map<
    string,
    Cached<{ tokenVersion?: number; sessionExpiresAt?: number; sessionCreatedAtMs?: number }>
  >();
  let tenant: Cached<TenantPolicy> | undefined;
  let tenantInFlight: Promise<TenantPolicy> | undefined;
  const MAX_ENTRIES = 10_000;

  const fresh = (fetchedAt: number) => clock.now().getTime() - fetchedAt < maxAgeMs;

  const readTenant = async (): Promise<TenantPolicy> => {
    if (tenant && fresh(tenant.fetchedAt)) return tenant.value;
    tenantInFlight ??= tenantPolicy
      .get()
      .then((value) => {
        tenant = { value, fetchedAt: clock.now().getTime() };
        return value;
      })
      .finally(() => {
        tenantInFlight = undefined;
      });
    return tenantInFlight;
  };

  const readAccount = async (userId: string, sessionId: string) => {
    const key = `${userId}\u0000${sessionId}`;
    const cached = entries.get(key);
    if (cached && fresh(cached.fetchedAt)) return cached.value;
    const result = await db.send(
      new BatchGetCommand({
        RequestItems: {
          [tables.users]: {
            Keys: [{ userId }],
            ProjectionExpression: 'userId, tokenVersion',
            ConsistentRead: true,
          },
          [tables.sessions]: {
            Keys: [{ userId, sessionId }],
            // Only revocation attributes: the authorizer's IAM policy allows no others (infra/workloads.ts).
            ProjectionExpression: 'sessionId, expiresAt, createdAtMs',
            ConsistentRead: true,
          },
        },
      }),
    );
    if (Object.keys(result.UnprocessedKeys ?? {}).length > 0) {
      // Throttled: treat as a dependency hiccup rather than guessing either way.
      throw Object.assign(new Error('Revocation state read was throttled'), { name: 'ThrottlingException' });
    }
    const user = result.Responses?.[tables.users]?.[0];
    const session = result.Responses?.[tables.sessions]?.[0];
    const value = {
      tokenVersion: user?.['tokenVersion'] as number | undefined,
      sessionExpiresAt: session?.['expiresAt'] as number | undefined,
      sessionCreatedAtMs: session?.['createdAtMs'] as number | undefined,
    };
    if (entries.size >= MAX_ENTRIES) entries.clear();
    entries.set(key, { value, fetchedAt: clock.now().getTime() });
    return value;
  };

  return {
    async read(userId, sessionId) {
      const [account, tenantValue] = await Promise.all([readAccount(userId, sessionId), readTenant()]);
      return { ...account, tenant: tenantValue } as RevocationState;
    },
    readTenant,
    forget(userId) {
      const prefix = `${userId}\u0000`;
      for (const key of entries.keys()) if (key.startsWith(prefix)) entries.delete(key);
      tenant = undefined;
    },
  };
}
