import { loadConfig } from '../../shared/config.js';
import {
  counterName,
  type IncidentRecord,
  LeaseLostError,
  type SegmentCursor,
  type SettlementView,
} from '../../shared/domain/incident.js';
import type {
  IncidentBatchMessage,
  IncidentRecipient,
  NotificationMessage,
} from '../../shared/notifications/messages.js';
import type { AudienceMember } from '../../shared/ports/campaign-audience.js';
import type { NotificationQueue } from '../../shared/ports/notification-queue.js';
import {
  CLAIM_FIRST_RECIPIENT_INDEX,
  CLAIM_GUARD_INDEX,
  CLAIM_RATE_INDEX,
  parseClaimCancellation,
} from '../../shared/stores/incident-deliveries-store.js';
import {
  type DispatchDeps,
  decideSettlement,
  dispatchDueCampaigns,
  isEligible,
  packRecipients,
} from '../../shared/use-cases/dispatch-campaigns.js';
import { unitTestEnv } from '../support/unit-config.js';

const config = loadConfig({
  ...unitTestEnv,
  SES_MAX_SEND_RATE: '1000',
  CAMPAIGN_SCAN_SEGMENTS: '2',
  CAMPAIGN_PAGE_SIZE: '50',
});

const recipient = (i: number, audience: 'password' | 'sso'): IncidentRecipient => ({
  userId: `user-${audience}-${i}`,
  email: `user-${audience}-${i}@example.test`,
  audience,
});

describe('packRecipients', () => {
  it('packs at most the pack size per message, one audience per message, every recipient exactly once', () => {
    const recipients = [
      ...Array.from({ length: 120 }, (_, i) => recipient(i, 'password')),
      ...Array.from({ length: 30 }, (_, i) => recipient(i, 'sso')),
    ].sort(() => Math.random() - 0.5);

    const messages = packRecipients(recipients, {
      incidentId: 'inc_x',
      round: 0,
      packSize: 50,
      origin: 'r0s1p3',
    });

    expect(messages.map((m) => m.recipients.length)).toEqual([50, 50, 20, 30]);
    for (const message of messages) {
      expect(new Set(message.recipients.map((r) => r.audience)).size).toBe(1);
      expect(message).toMatchObject({ version: 1, type: 'incident_batch', incidentId: 'inc_x', round: 0 });
    }
    const all = messages.flatMap((m) => m.recipients.map((r) => r.userId)).sort();
    expect(all).toEqual(recipients.map((r) => r.userId).sort());
    expect(new Set(messages.map((m) => m.origin)).size).toBe(messages.length);
  });

  it('never exceeds 50 per message (one SES bulk call), and packs smaller under a low send rate', () => {
    const recipients = Array.from({ length: 60 }, (_, i) => recipient(i, 'sso'));
    expect(
      packRecipients(recipients, { incidentId: 'i', round: 1, packSize: 500, origin: 'o' }).map(
        (m) => m.recipients.length,
      ),
    ).toEqual([50, 10]);
    expect(packRecipients(recipients, { incidentId: 'i', round: 1, packSize: 14, origin: 'o' })).toHaveLength(
      5,
    );
    expect(packRecipients([], { incidentId: 'i', round: 0, packSize: 50, origin: 'o' })).toEqual([]);
  });
});

describe('parseClaimCancellation', () => {
  const reasons = (codes: Record<number, string>, length: number) =>
    Array.from({ length }, (_, i) => ({ Code: codes[i] ?? 'None' }));

  it('reads the cancel check, the rate slot and each recipient claim by their index', () => {
    expect(parseClaimCancellation(reasons({ [CLAIM_GUARD_INDEX]: 'ConditionalCheckFailed' }, 5), 3)).toEqual({
      cancelled: true,
      rateFull: false,
      taken: [],
      contended: false,
    });
    expect(
      parseClaimCancellation(reasons({ [CLAIM_RATE_INDEX]: 'ConditionalCheckFailed' }, 5), 3),
    ).toMatchObject({
      cancelled: false,
      rateFull: true,
      taken: [],
    });
    const claims = reasons(
      {
        [CLAIM_FIRST_RECIPIENT_INDEX]: 'ConditionalCheckFailed',
        [CLAIM_FIRST_RECIPIENT_INDEX + 2]: 'ConditionalCheckFailed',
      },
      5,
    );
    expect(parseClaimCancellation(claims, 3)).toMatchObject({
      cancelled: false,
      rateFull: false,
      taken: [0, 2],
    });
  });

  it('treats conflicts and throttling as contention, and anything else as not ours to explain', () => {
    expect(parseClaimCancellation(reasons({ 3: 'TransactionConflict' }, 5), 3)).toMatchObject({
      contended: true,
      taken: [],
    });
    expect(parseClaimCancellation(reasons({ 0: 'ThrottlingError' }, 5), 3)).toMatchObject({
      contended: true,
      cancelled: false,
    });
    expect(parseClaimCancellation(reasons({ 2: 'ValidationError' }, 5), 3)).toBeUndefined();
    expect(parseClaimCancellation([], 3)).toBeUndefined();
  });
});

describe('decideSettlement', () => {
  const base = { walkDoneAt: 1_000, lastActivityAt: 2_000, nowMs: 3_000, graceMs: 60_000 };
  const counts = (sent: number, skipped: number, failed: number) => ({
    targeted: 10,
    queued: 10,
    sent,
    skipped,
    failed,
  });
  const notifier = (claimed: number, sent: number, failed = 0, released = 0) => ({
    claimed,
    sent,
    failed,
    released,
    skipped: 0,
  });

  it('finishes when every targeted recipient is settled', () => {
    expect(decideSettlement({ ...base, counts: counts(7, 2, 1), notifier: notifier(8, 7, 1) })).toEqual({
      finish: true,
      unknown: 0,
    });
  });

  it('waits while recipients are still queued, however long it has been quiet', () => {
    const quiet = { ...base, nowMs: 10_000_000 };
    expect(decideSettlement({ ...quiet, counts: counts(5, 0, 0), notifier: notifier(6, 5) })).toEqual({
      finish: false,
    });
    // Released for a retry: pending again, not in flight.
    expect(decideSettlement({ ...quiet, counts: counts(8, 0, 0), notifier: notifier(10, 8, 0, 2) })).toEqual({
      finish: false,
    });
  });

  it('counts claimed-but-unsettled recipients as failed only after the grace period of silence', () => {
    const input = { counts: counts(8, 0, 0), notifier: notifier(10, 8) };
    expect(decideSettlement({ ...base, ...input })).toEqual({ finish: false });
    expect(decideSettlement({ ...base, ...input, nowMs: 2_000 + 60_000 })).toEqual({
      finish: true,
      unknown: 2,
    });
  });
});

describe('isEligible', () => {
  const member = (overrides: Partial<AudienceMember>): AudienceMember => ({
    userId: 'u',
    email: 'u@example.test',
    authMethod: 'password',
    passwordSetAt: 1_000,
    mustResetPassword: false,
    createdAt: '2026-01-01T00:00:00.000Z',
    ...overrides,
  });
  const all = {
    scope: { type: 'all' as const },
    createdAt: '2026-06-01T00:00:00.000Z',
    createdAtMs: Date.parse('2026-06-01T00:00:00.000Z'),
  };
  const scoped = { ...all, scope: { type: 'users' as const, userIds: ['u'] } };

  it('mails every account that existed at the incident in round 0, SSO included, not later sign-ups', () => {
    expect(isEligible(member({ authMethod: 'sso' }), { ...all, round: 0 })).toBe(true);
    expect(isEligible(member({ createdAt: '2026-07-01T00:00:00.000Z' }), { ...all, round: 0 })).toBe(false);
  });

  it('reminds only password accounts that still have to reset', () => {
    expect(isEligible(member({}), { ...all, round: 1 })).toBe(true);
    expect(isEligible(member({ passwordSetAt: all.createdAtMs + 1 }), { ...all, round: 1 })).toBe(false);
    expect(isEligible(member({ authMethod: 'sso' }), { ...all, round: 1 })).toBe(false);
    expect(isEligible(member({ mustResetPassword: true }), { ...scoped, round: 2 })).toBe(true);
    expect(isEligible(member({ mustResetPassword: false }), { ...scoped, round: 2 })).toBe(false);
  });
});

/**
 * An in-memory incidents store with the same rules as the DynamoDB one where the dispatcher relies on them:
 * leases, idempotent page saves guarded by the lease, phases.
 */
/** A scope-all incident created an hour before `nowMs`, due now, walked by two scan segments. */
function dueScopeAllIncident(nowMs: number, overrides: Partial<IncidentRecord>): IncidentRecord {
  return {
    id: 'inc_due',
    title: 't',
    status: 'scheduled',
    createdAt: new Date(nowMs - 3_600_000).toISOString(),
    createdAtMs: nowMs - 3_600_000,
    sendAt: new Date(nowMs - 3_600_000).toISOString(),
    scope: { type: 'all' },
    actions: { forcePasswordReset: true, revokeSessions: true },
    notify: { enabled: true },
    maxReminders: 0,
    round: 0,
    phase: 'waiting',
    dueAt: nowMs - 1,
    segments: 2,
    cursors: {},
    rounds: {},
    ...overrides,
  };
}

function fakeIncidents(initial: IncidentRecord) {
  let item: IncidentRecord = initial;
  const copy = () => structuredClone(item) as IncidentRecord;
  const counters: Record<string, number> = {};
  const requireLease = (owner: string) => {
    if (item.leaseOwner !== owner) throw new LeaseLostError('lost');
  };
  const store: DispatchDeps['incidents'] & { current: () => IncidentRecord } = {
    current: () => ({ ...copy(), ...counters }) as IncidentRecord,
    async findDue(nowMs) {
      return item.dueAt !== undefined && item.dueAt <= nowMs ? [item.id] : [];
    },
    async takeLease(_id, owner, nowMs, untilMs) {
      if (item.dueAt === undefined || item.dueAt > nowMs) return undefined;
      if (item.leaseUntil !== undefined && item.leaseUntil >= nowMs && item.leaseOwner !== owner)
        return undefined;
      item = { ...item, leaseOwner: owner, leaseUntil: untilMs };
      return store.current();
    },
    async releaseLease(_id, owner) {
      if (item.leaseOwner === owner) item = { ...item, leaseOwner: undefined, leaseUntil: undefined };
    },
    async startRound(_item, owner, input) {
      requireLease(owner);
      const cursors: Record<string, SegmentCursor> = {};
      for (let s = 0; s < input.segments; s += 1) cursors[String(s)] = { done: false, page: 0 };
      item = {
        ...item,
        phase: 'walking',
        status: 'running',
        segments: input.segments,
        cursors,
        rounds: { 0: { startedAt: input.nowMs } },
      };
      return store.current();
    },
    async savePage(_id, owner, input) {
      requireLease(owner);
      if (item.cursors[String(input.segment)]?.page !== input.previousPage)
        throw new LeaseLostError('stale page');
      item = { ...item, cursors: { ...item.cursors, [String(input.segment)]: input.cursor } };
      for (const field of ['targeted', 'queued', 'skipped'] as const) {
        const name = counterName(input.round, field);
        counters[name] = (counters[name] ?? 0) + input[field];
      }
      return store.current();
    },
    async finishWalk(_id, owner, _round, nowMs) {
      requireLease(owner);
      item = { ...item, phase: 'settling', rounds: { 0: { ...item.rounds['0'], walkDoneAt: nowMs } } };
      return store.current();
    },
    async finishRound() {
      throw new Error('not expected in this test');
    },
    async settlement(): Promise<SettlementView> {
      return { byRound: new Map(), lastActivityAt: 0 };
    },
  };
  return store;
}

/** Two scan segments of 120 users each (3 pages of 50, the last one short), keyed by position. */
function fakeAudience(createdAt: string) {
  const scans: { segment: number; startKey: unknown }[] = [];
  const audience: DispatchDeps['audience'] = {
    async scanPage({ segment, startKey, limit }) {
      scans.push({ segment, startKey });
      const start = (startKey as { position?: number } | undefined)?.position ?? 0;
      const end = Math.min(120, start + limit);
      const members: AudienceMember[] = Array.from({ length: end - start }, (_, i) => ({
        userId: `s${segment}-u${start + i}`,
        email: `s${segment}-u${start + i}@example.test`,
        authMethod: (start + i) % 3 === 0 ? 'sso' : 'password',
        createdAt,
      }));
      return { members, lastKey: end < 120 ? { position: end } : undefined };
    },
    async getUsers() {
      return new Map();
    },
    async resolveEmails() {
      return new Map();
    },
  };
  return { audience, scans };
}

describe('dispatchDueCampaigns cursor resumption', () => {
  it('resumes every segment from its saved cursor after a crash, re-queueing only the page that was not saved', async () => {
    const nowMs = Date.parse('2026-06-01T12:00:00.000Z');
    const incidents = fakeIncidents(dueScopeAllIncident(nowMs, { id: 'inc_test', status: 'scheduled' }));
    const { audience, scans } = fakeAudience('2026-01-01T00:00:00.000Z');
    const queued: NotificationMessage[] = [];
    let batches = 0;
    const crashOnFourthPage: NotificationQueue = {
      async enqueue(messages) {
        queued.push(...messages);
        batches += 1;
        if (batches === 4) throw new Error('simulated crash after queueing');
      },
    };
    const clock = { now: () => new Date(nowMs) };
    const run = { stopAtMs: nowMs + 60_000, deadlineMs: nowMs + 70_000 };

    await expect(
      dispatchDueCampaigns(
        { config, clock, incidents, audience, notifications: crashOnFourthPage },
        { owner: 'a', ...run },
      ),
    ).rejects.toThrow('simulated crash');
    const afterCrash = incidents.current();
    const unfinished = [0, 1].filter((segment) => !afterCrash.cursors[String(segment)]?.done);
    expect(unfinished.length).toBeGreaterThan(0);
    scans.length = 0;

    const report = await dispatchDueCampaigns(
      { config, clock, incidents, audience, notifications: { enqueue: async (m) => void queued.push(...m) } },
      { owner: 'b', ...run },
    );

    // The second run started each unfinished segment where its cursor said, not from the beginning.
    for (const segment of [0, 1]) {
      const cursor = afterCrash.cursors[String(segment)]!;
      const firstScan = scans.find((scan) => scan.segment === segment);
      if (cursor.done) expect(firstScan).toBeUndefined();
      else expect(firstScan!.startKey).toEqual(cursor.lastKey);
    }
    expect(report.incidents[0]).toMatchObject({ id: 'inc_test', outcome: 'settling' });
    const final = incidents.current();
    expect(final.phase).toBe('settling');
    expect(final[counterName(0, 'targeted')]).toBe(240);
    expect(final[counterName(0, 'queued')]).toBe(240);
    // Everyone queued at least once; only the one unsaved page (50 users) twice.
    const perUser = new Map<string, number>();
    for (const message of queued as IncidentBatchMessage[]) {
      for (const r of message.recipients) perUser.set(r.userId, (perUser.get(r.userId) ?? 0) + 1);
    }
    expect(perUser.size).toBe(240);
    expect([...perUser.values()].filter((n) => n === 2)).toHaveLength(50);
    expect([...perUser.values()].filter((n) => n > 2)).toHaveLength(0);
  });

  it('stops starting pages at stopAtMs and leaves the rest to the next run', async () => {
    let nowMs = Date.parse('2026-06-01T12:00:00.000Z');
    const incidents = fakeIncidents(
      dueScopeAllIncident(nowMs, {
        id: 'inc_time',
        status: 'running',
        actions: { forcePasswordReset: false, revokeSessions: true },
      }),
    );
    const { audience } = fakeAudience('2026-01-01T00:00:00.000Z');
    // Every page takes 10 s of (fake) time; the run may start pages for 25 s.
    const slowQueue: NotificationQueue = {
      async enqueue() {
        nowMs += 10_000;
      },
    };
    const clock = { now: () => new Date(nowMs) };

    const report = await dispatchDueCampaigns(
      { config, clock, incidents, audience, notifications: slowQueue },
      { owner: 'a', stopAtMs: nowMs + 25_000, deadlineMs: nowMs + 60_000 },
    );

    expect(report.incidents[0]).toMatchObject({ outcome: 'out_of_time' });
    expect(report.incidents[0]!.pages).toBeLessThan(6);
    expect(incidents.current().phase).toBe('walking');
    expect(incidents.current().leaseOwner).toBeUndefined();
  });
});
