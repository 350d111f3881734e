/**
 * Incidents with a listed audience end to end on the emulators: entries uploaded in chunks over HTTP,
 * closed, protected and mailed by the dispatcher and the notifier, counted and reported per entry.
 * Accounts are seeded straight into the tables (BatchWriteItem, no hashing), like the campaign tests.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { type SeededAccount, seedAccounts as seedStoredAccounts } from '../../scripts/seed/seed-accounts.js';
import type { NotificationQueue } from '../../shared/ports/notification-queue.js';
import type { Deps } from '../../shared/use-cases/deps.js';
import { dispatchDueCampaigns } from '../../shared/use-cases/dispatch-campaigns.js';
import type { IncidentView } from '../../shared/use-cases/incidents.js';
import { type Api, sleep } from '../support/fixtures.js';
import { startIncidentStack } from '../support/incident-fixtures.js';
import type { TestStack } from '../support/test-stack.js';

type Counts = IncidentView['counts'];
interface IncidentBody {
  id: string;
  title: string;
  status: string;
  counts: Counts;
  audience?: { total: number; chunks: number };
}
type Seeded = SeededAccount;
interface ReportLine {
  entry: string;
  userId?: string;
  outcome: string;
  at?: string;
}

/**
 * Known accounts of the mixed file here (with duplicates and unknown entries on top). The 20,000-entry file goes
 * through the ops CLI in test/integration/ops-audience-file.test.ts; this one checks the API path and the report
 * in detail, so a smaller file keeps the whole suite within its time on a 2-core machine.
 */
const KNOWN_ACCOUNTS = 600;

let stack: TestStack;
let client: Api;
let admin: { token: string };
let deps: Deps;
let seeder: DynamoDBDocumentClient;

beforeAll(async () => {
  ({ stack, client, admin, deps } = await startIncidentStack());
  seeder = DynamoDBDocumentClient.from(
    new DynamoDBClient({ endpoint: stack.endpoints.dynamodb, region: 'us-east-1', maxAttempts: 5 }),
  );
}, 60_000);

afterAll(async () => {
  seeder?.destroy();
  await stack?.stop();
});

/** Accounts with their email and external-id guards (`externalId#<externalId>`, the import's layout). */
const seedAccounts = (count: number): Promise<Seeded[]> => seedStoredAccounts(seeder, stack.tables, count);

async function createListIncident(title: string): Promise<IncidentBody> {
  const response = await client.post<{ incident: IncidentBody }>(
    '/v1/admin/incidents',
    {
      title,
      scope: { type: 'list' },
      actions: { forcePasswordReset: true, revokeSessions: true },
      notify: { enabled: true },
    },
    admin,
  );
  expect(response.status).toBe(201);
  expect(response.body.incident.status).toBe('collecting');
  return response.body.incident;
}

async function upload(id: string, entries: readonly string[], key: string) {
  const response = await client.post<{ received: number; total: number }>(
    `/v1/admin/incidents/${id}/audience`,
    { entries },
    { ...admin, headers: { 'idempotency-key': key } },
  );
  if (response.status !== 200) throw new Error(`upload failed: ${response.status} ${response.text}`);
  return response.body;
}

async function getIncident(id: string): Promise<IncidentBody> {
  const response = await client.get<{ incident: IncidentBody }>(`/v1/admin/incidents/${id}`, admin);
  expect(response.status).toBe(200);
  return response.body.incident;
}

async function dispatchUntilCompleted(id: string, timeoutMs = 120_000): Promise<IncidentBody> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await stack.runDispatcher();
    const incident = await getIncident(id);
    if (incident.status === 'completed') return incident;
    if (Date.now() > deadline)
      throw new Error(`incident ${id} did not complete: ${JSON.stringify(incident)}`);
    await sleep(200);
  }
}

async function readReport(id: string): Promise<ReportLine[]> {
  const lines: ReportLine[] = [];
  let cursor: string | undefined;
  do {
    const response = await client.get(
      `/v1/admin/incidents/${id}/report${cursor ? `?cursor=${encodeURIComponent(cursor)}` : ''}`,
      admin,
    );
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('application/x-ndjson');
    for (const line of response.text.split('\n')) if (line) lines.push(JSON.parse(line) as ReportLine);
    cursor = response.headers.get('x-next-cursor') ?? undefined;
  } while (cursor);
  return lines;
}

/** Mails whose text names `title`, per lower-cased recipient. */
async function mailsByRecipient(title: string): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const mail of await stack.ses.listMail()) {
    if (!mail.body.text?.includes(title)) continue;
    for (const to of mail.destination.to)
      counts.set(to.toLowerCase(), (counts.get(to.toLowerCase()) ?? 0) + 1);
  }
  return counts;
}

/** Every mail of the incident has arrived (the notifier settles before SES's store is read). */
async function waitForMails(title: string, expected: number, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const mails = await mailsByRecipient(title);
    const total = [...mails.values()].reduce((sum, n) => sum + n, 0);
    if (total >= expected || Date.now() > deadline) return mails;
    await sleep(250);
  }
}

/** The counts of a campaign over `accounts` known accounts that each got their mail and their protection. */
const sentAndProtected = (accounts: number): Partial<Counts> => ({
  targeted: accounts,
  sent: accounts,
  skipped: 0,
  failed: 0,
  effectsApplied: accounts,
});

/** A listed incident whose audience is `entries` (one upload) and is closed: due for the dispatcher. */
async function createClosedListIncident(title: string, entries: readonly string[]): Promise<IncidentBody> {
  const incident = await createListIncident(title);
  await upload(incident.id, entries, 'all');
  await client.post(`/v1/admin/incidents/${incident.id}/audience/close`, undefined, admin);
  return incident;
}

/** One dispatcher run with `dying` in place of its dependency of that name: the run must die of it. */
async function expectDispatcherKilled(dying: Partial<Deps>, owner: string): Promise<void> {
  const now = Date.now();
  await expect(
    dispatchDueCampaigns({ ...deps, ...dying }, { owner, stopAtMs: now + 60_000, deadlineMs: now + 1 }),
  ).rejects.toThrow('killed');
}

/** Every account got exactly one mail of the incident: none missed, and none twice even a moment later. */
async function expectMailedOnceEach(title: string, accounts: readonly Seeded[]): Promise<void> {
  const mails = await waitForMails(title, accounts.length);
  await sleep(500);
  expect(accounts.filter((account) => mails.get(account.email) !== 1)).toEqual([]);
}

describe('incidents with a listed audience', () => {
  it('protects and mails every known account of a mixed file exactly once, with exact counts and a report', async () => {
    // Prepare: ids, emails (some in upper case), external ids, unknown entries and duplicates, shuffled.
    const accounts = await seedAccounts(KNOWN_ACCOUNTS);
    const entries: string[] = [];
    accounts.forEach((account, i) => {
      if (i % 3 === 0) entries.push(account.id);
      else if (i % 3 === 1) entries.push(i % 2 === 0 ? account.email.toUpperCase() : account.email);
      else entries.push(`ext:${account.externalId}`);
    });
    const duplicates = accounts.filter((_, i) => i % 5 === 0).map((account) => account.email);
    const unknown = Array.from({ length: 400 }, (_, i) =>
      i % 2 === 0 ? randomUUID() : `nobody-${i}-${randomBytes(3).toString('hex')}@example.test`,
    );
    entries.push(...duplicates, ...unknown);
    for (let i = entries.length - 1; i > 0; i -= 1) {
      const j = Math.floor(Math.random() * (i + 1));
      [entries[i], entries[j]] = [entries[j] as string, entries[i] as string];
    }
    // A duplicate before the entry it repeats is as good as the first: exactly one of the two counts.
    const title = `Listed breach ${randomBytes(4).toString('hex')}`;
    const incident = await createListIncident(title);

    // Act: upload in chunks (the 1 MiB route takes far more than 16 KiB), retry one chunk, close.
    const chunkSize = 1_000;
    let total = 0;
    for (let start = 0; start < entries.length; start += chunkSize) {
      const answer = await upload(incident.id, entries.slice(start, start + chunkSize), `chunk-${start}`);
      total += answer.received;
      expect(answer.total).toBe(total);
    }
    const retried = await upload(incident.id, entries.slice(0, chunkSize), 'chunk-0');
    expect(retried).toEqual({ received: chunkSize, total: entries.length });
    const closed = await client.post<{ incident: IncidentBody }>(
      `/v1/admin/incidents/${incident.id}/audience/close`,
      undefined,
      admin,
    );
    expect(closed.status).toBe(200);
    expect(closed.body.incident.status).toBe('scheduled');
    const done = await dispatchUntilCompleted(incident.id);

    // Assess: counts, mails, effects and the report agree on every entry.
    expect(done.audience).toEqual({ total: entries.length, chunks: Math.ceil(entries.length / chunkSize) });
    expect(done.counts).toEqual({
      targeted: entries.length,
      queued: KNOWN_ACCOUNTS,
      sent: KNOWN_ACCOUNTS,
      skipped: duplicates.length + unknown.length,
      failed: 0,
      effectsApplied: KNOWN_ACCOUNTS,
    });
    const mails = await waitForMails(title, KNOWN_ACCOUNTS);
    expect(mails.size).toBe(KNOWN_ACCOUNTS);
    for (const account of accounts) expect(mails.get(account.email)).toBe(1);
    for (const account of accounts.slice(0, 40)) {
      const user = await deps.users.get(account.id);
      expect(user?.tokenVersion).toBe(1);
      expect(user?.mustResetPassword).toBe(account.authMethod === 'password');
    }
    const report = await readReport(incident.id);
    expect(report).toHaveLength(entries.length);
    const byOutcome = (outcome: string) => report.filter((line) => line.outcome === outcome);
    expect(byOutcome('sent')).toHaveLength(KNOWN_ACCOUNTS);
    expect(new Set(byOutcome('sent').map((line) => line.userId)).size).toBe(KNOWN_ACCOUNTS);
    expect(byOutcome('skipped_duplicate')).toHaveLength(duplicates.length);
    expect(byOutcome('skipped_unknown')).toHaveLength(unknown.length);
    expect(new Set(byOutcome('skipped_unknown').map((line) => line.entry))).toEqual(
      new Set(unknown.map((entry) => entry.toLowerCase())),
    );
  }, 240_000);

  it('resumes a dispatcher killed halfway without a second mail or a missed account', async () => {
    const accounts = await seedAccounts(600);
    const title = `Listed crash ${randomBytes(4).toString('hex')}`;
    const incident = await createClosedListIncident(
      title,
      accounts.map((account) => account.email),
    );
    // A dispatcher whose queue dies after the first page's mail is queued (before its cursor is saved).
    let enqueues = 0;
    const dying: NotificationQueue = {
      async enqueue(messages) {
        await deps.notifications.enqueue(messages);
        enqueues += 1;
        if (enqueues === 1) throw new Error('killed after queueing the first page');
      },
    };
    await expectDispatcherKilled({ notifications: dying }, 'crashing');
    const halfway = await getIncident(incident.id);
    expect(halfway.counts.effectsApplied).toBe(0);

    const done = await dispatchUntilCompleted(incident.id);

    expect(done.counts).toMatchObject(sentAndProtected(600));
    await expectMailedOnceEach(title, accounts);
    for (const account of accounts.slice(0, 20))
      expect((await deps.users.get(account.id))?.tokenVersion).toBe(1);
  }, 120_000);

  it('resumes a dispatcher killed in the middle of a page of effects: every account protected and mailed once', async () => {
    const accounts = await seedAccounts(300);
    const title = `Listed effects crash ${randomBytes(4).toString('hex')}`;
    const incident = await createClosedListIncident(
      title,
      accounts.map((account, i) => (i % 2 ? account.id : account.email)),
    );
    const listed = deps.listedAudience;
    // The 150th account's transaction never happens: the run dies with half the page protected, none queued.
    let claims = 0;
    const dying: typeof listed = Object.assign(Object.create(Object.getPrototypeOf(listed)), listed, {
      claimAndApply: async (input: Parameters<typeof listed.claimAndApply>[0]) => {
        claims += 1;
        if (claims >= 150) throw new Error('killed in the middle of the effects');
        return listed.claimAndApply(input);
      },
    });
    await expectDispatcherKilled({ listedAudience: dying }, 'dying-mid-effects');
    const tokenVersions = async () => {
      const versions: (number | undefined)[] = [];
      for (let start = 0; start < accounts.length; start += 20) {
        const slice = accounts.slice(start, start + 20);
        versions.push(
          ...(await Promise.all(
            slice.map(async (account) => (await deps.users.get(account.id))?.tokenVersion),
          )),
        );
      }
      return versions;
    };
    const protectedBefore = (await tokenVersions()).filter((version) => version === 1).length;
    expect(protectedBefore).toBeGreaterThan(100);
    expect(protectedBefore).toBeLessThan(300);
    expect((await getIncident(incident.id)).counts).toMatchObject({ queued: 0, effectsApplied: 0 });

    const done = await dispatchUntilCompleted(incident.id);

    expect(done.counts).toEqual({ ...sentAndProtected(300), queued: 300 });
    await expectMailedOnceEach(title, accounts);
    const versions = await tokenVersions();
    expect(versions.filter((version) => version !== 1)).toEqual([]);
  }, 120_000);

  it('counts a retried chunk once, refuses bad entries and chunks after the close, and cancels while collecting', async () => {
    const incident = await createListIncident(`Listed edges ${randomBytes(4).toString('hex')}`);
    const entries = Array.from({ length: 700 }, (_, i) => `someone-${i}-${'x'.repeat(20)}@example.test`);
    expect(JSON.stringify({ entries }).length).toBeGreaterThan(16 * 1024);
    expect(await upload(incident.id, entries, 'k1')).toEqual({ received: 700, total: 700 });
    expect(await upload(incident.id, entries, 'k1')).toEqual({ received: 700, total: 700 });
    // Without a key the content is the key: the same entries again add nothing either.
    const noKey = () =>
      client.post(`/v1/admin/incidents/${incident.id}/audience`, { entries: ['a@example.test'] }, admin);
    expect((await noKey()).body).toEqual({ received: 1, total: 701 });
    expect((await noKey()).body).toEqual({ received: 1, total: 701 });

    const bad = await client.post(
      `/v1/admin/incidents/${incident.id}/audience`,
      { entries: ['not an entry!'] },
      admin,
    );
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error: 'invalid_request', details: [{ path: 'entries.0' }] });
    const tooMany = await client.post(
      `/v1/admin/incidents/${incident.id}/audience`,
      { entries: Array.from({ length: 10_001 }, (_, i) => `u${i}`) },
      admin,
    );
    expect(tooMany.status).toBe(400);
    const unknownIncident = await client.post(
      '/v1/admin/incidents/inc_0000000000deadbeef/audience',
      { entries: ['a@example.test'] },
      admin,
    );
    expect(unknownIncident.status).toBe(404);

    const cancelled = await client.post<{ incident: IncidentBody }>(
      `/v1/admin/incidents/${incident.id}/cancel`,
      undefined,
      admin,
    );
    expect(cancelled.body.incident.status).toBe('cancelled');
    const late = await client.post(
      `/v1/admin/incidents/${incident.id}/audience`,
      { entries: ['late@example.test'] },
      admin,
    );
    expect(late.status).toBe(400);
    const close = await client.post(`/v1/admin/incidents/${incident.id}/audience/close`, undefined, admin);
    expect(close.status).toBe(400);
  }, 60_000);

  it('pages the incident list newest first, returning every incident exactly once', async () => {
    for (let i = 0; i < 7; i += 1) await createListIncident(`Paged ${i}`);
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const response = await client.get<{ incidents: IncidentBody[]; nextCursor?: string }>(
        `/v1/admin/incidents?limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        admin,
      );
      expect(response.status).toBe(200);
      seen.push(...response.body.incidents.map((incident) => incident.id));
      cursor = response.body.nextCursor;
      pages += 1;
    } while (cursor);
    const all = await client.get<{ incidents: IncidentBody[] }>('/v1/admin/incidents', admin);
    expect(seen).toEqual(all.body.incidents.map((incident) => incident.id));
    expect(new Set(seen).size).toBe(seen.length);
    expect(pages).toBeGreaterThanOrEqual(Math.ceil(seen.length / 3));
    expect([...seen].sort().reverse()).toEqual(seen);

    for (const garbage of ['nope', Buffer.from('{"v":1,"id":"x"}').toString('base64url')]) {
      const response = await client.get(`/v1/admin/incidents?cursor=${garbage}`, admin);
      expect(response.status).toBe(400);
      expect(response.body).toMatchObject({ error: 'invalid_request' });
    }
    expect((await client.get('/v1/admin/incidents?limit=0', admin)).status).toBe(400);
  }, 60_000);
});
