/**
 * The dispatcher finds due incidents through the sparse due index (shared/tables.ts): on DynamoDB Local, with
 * the tables created from the same definitions as the CDK stack. Reads are counted from the Query answers
 * (ScannedCount: the items DynamoDB read, filtered or not), so reading the whole incident partition fails.
 */
import { randomBytes } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { startEmulators } from '../../scripts/local/emulators.js';
import { createTables } from '../../scripts/local/provision.js';
import { type NewIncident, newIncidentId } from '../../shared/domain/incident.js';
import { DynamoDbIncidentsStore } from '../../shared/stores/incidents-store.js';

let stopOwnEmulators: (() => Promise<void>) | undefined;
let client: DynamoDBClient;
let store: DynamoDbIncidentsStore;
/** Items DynamoDB read for the Queries since the last reset. */
let scanned = 0;
let queries = 0;

beforeAll(async () => {
  let endpoint = process.env.ACCOUNT_SHIELD_TEST_DYNAMODB_ENDPOINT;
  if (!endpoint) {
    const own = await startEmulators({ dynamodbPort: 0, sqsPort: 0, sesPort: 0 });
    endpoint = own.endpoints.dynamodb;
    stopOwnEmulators = () => own.stop();
  }
  client = new DynamoDBClient({ endpoint, region: 'us-east-1', maxAttempts: 3 });
  client.middlewareStack.add(
    (next) => async (args) => {
      const result = await next(args);
      const output = (result.output ?? {}) as { ScannedCount?: number };
      if (typeof output.ScannedCount === 'number') {
        queries += 1;
        scanned += output.ScannedCount;
      }
      return result;
    },
    { step: 'initialize', name: 'countScannedItems' },
  );
  const { names } = await createTables(client, `due${randomBytes(4).toString('hex')}`);
  store = new DynamoDbIncidentsStore(DynamoDBDocumentClient.from(client), names.records);
}, 60_000);

afterAll(async () => {
  client?.destroy();
  await stopOwnEmulators?.();
});

let clockMs = Date.parse('2026-12-01T00:00:00Z');

function incident(overrides: Partial<NewIncident> = {}): NewIncident {
  clockMs += 1;
  return {
    id: newIncidentId(clockMs),
    title: 'Index test',
    status: 'scheduled',
    createdAt: new Date(clockMs).toISOString(),
    createdAtMs: clockMs,
    sendAt: new Date(clockMs).toISOString(),
    scope: { type: 'users', userIds: ['u1'] },
    actions: { forcePasswordReset: true, revokeSessions: true },
    notify: { enabled: true },
    maxReminders: 0,
    round: 0,
    phase: 'waiting',
    dueAt: clockMs,
    segments: 1,
    cursors: {},
    rounds: {},
    ...overrides,
  };
}

const completed = () => incident({ status: 'completed', phase: 'done', dueAt: undefined });

describe('the due-incidents index', () => {
  it('finds exactly the incidents with work due, reading only them however many incidents are done', async () => {
    // Prepare: 300 completed incidents, 3 due, 1 due later, 1 still collecting its audience.
    const done = Array.from({ length: 300 }, completed);
    for (let start = 0; start < done.length; start += 25)
      await Promise.all(done.slice(start, start + 25).map((item) => store.create(item)));
    const due = [incident(), incident(), incident()];
    for (const item of due) await store.create(item);
    const later = incident({ dueAt: clockMs + 3_600_000 });
    await store.create(later);
    const collecting = incident({ status: 'collecting', dueAt: undefined, sendAt: null });
    await store.create(collecting);
    scanned = 0;
    queries = 0;

    // Act
    const found = await store.findDue(clockMs + 10);

    // Assess: due ones only, oldest due first, and DynamoDB read nothing else.
    expect(found).toEqual(due.map((item) => item.id));
    expect(queries).toBe(1);
    expect(scanned).toBe(due.length);
    expect(await store.findDue(clockMs + 3_600_001)).toEqual([...due.map((item) => item.id), later.id]);

    // A closed audience enters the index; cancelled incidents leave it.
    await store.closeAudience(collecting.id, clockMs + 5);
    expect(await store.findDue(clockMs + 10)).toContain(collecting.id);
    await store.cancel(collecting.id, new Date());
    await store.cancel(due[0]?.id ?? '', new Date());
    expect(await store.findDue(clockMs + 10)).toEqual(due.slice(1).map((item) => item.id));
  }, 60_000);

  it('leaves the index when a round finishes for good, stays in it while a reminder is pending', async () => {
    const once = incident();
    const withReminder = incident({ maxReminders: 1, notify: { enabled: true, remindAfterHours: 1 } });
    for (const item of [once, withReminder]) await store.create(item);
    const nowMs = clockMs + 10;

    for (const [item, nextRoundAt] of [
      [once, undefined],
      [withReminder, nowMs + 3_600_000],
    ] as const) {
      let leased = await store.takeLease(item.id, 'owner', nowMs, nowMs + 60_000);
      if (!leased) throw new Error('no lease');
      leased = await store.startRound(leased, 'owner', { segments: 1, nowMs });
      leased = await store.finishWalk(item.id, 'owner', 0, nowMs);
      await store.finishRound(leased, 'owner', { nowMs, unknown: 0, nextRoundAt });
    }

    const dueNow = await store.findDue(nowMs);
    expect(dueNow).not.toContain(once.id);
    expect(dueNow).not.toContain(withReminder.id);
    expect(await store.findDue(nowMs + 3_600_000)).toContain(withReminder.id);
    expect(await store.findDue(nowMs + 3_600_000)).not.toContain(once.id);
  }, 60_000);

  it('pages through more due incidents than one index page holds, each exactly once', async () => {
    const many = Array.from({ length: 230 }, () => incident({ dueAt: 1_000 }));
    for (let start = 0; start < many.length; start += 25)
      await Promise.all(many.slice(start, start + 25).map((item) => store.create(item)));
    queries = 0;

    const found = await store.findDue(1_000);

    expect(found).toHaveLength(many.length);
    expect(new Set(found)).toEqual(new Set(many.map((item) => item.id)));
    expect(queries).toBeGreaterThanOrEqual(3);
  }, 60_000);
});
