/**
 * Breach incidents end to end on the emulators: effects over HTTP (logins, tokens), campaigns walked by the
 * dispatcher and sent by the notifier, every mail read back from the SES emulator's store.
 *
 * One stack for the file; every incident is scoped to accounts of its own, so the tests run in any order. The
 * tenant-wide incident has a stack of its own (tenant-wide-incident.test.ts).
 */
import { randomUUID } from 'node:crypto';
import type { IncidentBatchMessage, NotificationMessage } from '../../shared/notifications/messages.js';
import { NEVER_ASK_LINE } from '../../shared/notifications/templates.js';
import type { NotificationQueue } from '../../shared/ports/notification-queue.js';
import { deliverIncidentBatch } from '../../shared/use-cases/deliver-incident-batch.js';
import type { Deps } from '../../shared/use-cases/deps.js';
import { dispatchDueCampaigns } from '../../shared/use-cases/dispatch-campaigns.js';
import { type Api, logIn, sleep, uniqueName } from '../support/fixtures.js';
import {
  expectAudienceContent,
  type IncidentBody,
  type IncidentFixtures,
  isCompleted,
  PASSWORD,
  SETTLE_GRACE_SECONDS,
  type Seeded,
  useIncidentStack,
} from '../support/incident-fixtures.js';
import type { TestStack } from '../support/test-stack.js';

let stack: TestStack;
let client: Api;
let admin: { token: string };
let deps: Deps;
let passwordHash: string;
let fixtures: IncidentFixtures;
useIncidentStack((started) => {
  ({ stack, client, admin, deps, passwordHash, fixtures } = started);
});

/** One dispatcher run as if the clock read `nowMs`; its report on incident `id`. */
async function dispatchAt(nowMs: number, id: string) {
  const report = await dispatchDueCampaigns(
    { ...deps, clock: { now: () => new Date(nowMs) } },
    { owner: randomUUID(), stopAtMs: nowMs + 30_000, deadlineMs: nowMs + 40_000 },
  );
  return report.incidents.find((run) => run.id === id);
}

/** A notify-only incident for `accounts` whose send time (a second ahead, so nothing starts early) has come. */
async function notifyOnlyIncidentNowDue(title: string, accounts: readonly Seeded[]): Promise<IncidentBody> {
  const created = await fixtures.createIncident({
    title,
    scope: { type: 'users', userIds: accounts.map((a) => a.id) },
    actions: { forcePasswordReset: false, revokeSessions: false },
    notify: { enabled: true, sendAt: new Date(Date.now() + 1_000).toISOString() },
  });
  await sleep(1_100);
  return created;
}

/**
 * A notify-only incident for `accounts`, walked once by the dispatcher with its queue messages held back
 * (not sent to SQS), so a test can deliver them as it likes: twice, racing, or after a simulated crash.
 */
async function dispatchHeldBack(title: string, accounts: readonly Seeded[]) {
  const created = await notifyOnlyIncidentNowDue(title, accounts);
  const held = capturingQueue();
  await dispatchDueCampaigns(
    { ...deps, notifications: held },
    { owner: randomUUID(), stopAtMs: Date.now() + 30_000, deadlineMs: Date.now() + 40_000 },
  );
  return { created, held };
}

/** A queue that records instead of sending, so a test can hold messages back from the notifier. */
function capturingQueue(): NotificationQueue & { messages: NotificationMessage[] } {
  const messages: NotificationMessage[] = [];
  return {
    messages,
    async enqueue(batch) {
      messages.push(...batch);
    },
  };
}

describe('scoped incidents', () => {
  it('by emails: flags password accounts, revokes tokens, skips unknown emails and mails each account once', async () => {
    const accounts = await fixtures.seedAccounts({ password: 20, sso: 10 });
    const bystanders = await fixtures.seedAccounts({ password: 3, sso: 1 });
    const victim = accounts[0]!;
    const before = await logIn(client, { email: victim.email, password: PASSWORD });
    const bystanderTokens = await logIn(client, { email: bystanders[0]!.email, password: PASSWORD });
    const unknown = Array.from({ length: 5 }, () => `${uniqueName('nobody')}@example.test`);
    const title = `Scoped breach ${randomUUID()}`;

    const created = await fixtures.createIncident({
      title,
      scope: { type: 'emails', emails: [...accounts.map((a) => a.email.toUpperCase()), ...unknown] },
      actions: { forcePasswordReset: true, revokeSessions: true },
      notify: { enabled: true },
    });

    expect(created).toMatchObject({ title, status: 'scheduled', scope: { type: 'emails' } });
    expect(created.id).toMatch(/^inc_/);
    // Applied before the 201: the old token is refused, the right password only earns a forced reset.
    expect(await fixtures.sessionStatus(before.accessToken)).toBe(401);
    const login = await client.post('/v1/auth/login', { login: victim.email, password: PASSWORD });
    expect(login.status).toBe(403);
    expect(login.body).toMatchObject({ error: 'password_reset_required' });
    // Out of scope: untouched.
    expect(await fixtures.sessionStatus(bystanderTokens.accessToken)).toBe(200);
    const ssoRecord = await deps.users.get(accounts.find((a) => a.authMethod === 'sso')!.id);
    expect(ssoRecord).toMatchObject({ mustResetPassword: false, tokenVersion: 1 });
    const events = await deps.events.listNewestFirst(victim.id);
    expect(events.find((event) => event.type === 'incident_action')).toMatchObject({
      ip: null,
      detail: { incidentId: created.id, forcedPasswordReset: true, revokedSessions: true },
    });

    const done = await fixtures.dispatchUntil(created.id, isCompleted);

    expect(done.counts).toEqual({ targeted: 35, queued: 30, sent: 30, skipped: 5, failed: 0 });
    const mails = await fixtures.incidentMails(title);
    for (const account of accounts) {
      const received = mails.get(account.email) ?? [];
      expect(received).toHaveLength(1);
      expectAudienceContent(received[0]!, account.authMethod);
    }
    for (const account of bystanders) expect(mails.get(account.email)).toBeUndefined();
    expect(mails.size).toBe(accounts.length);
  });

  it('by user ids, sessions only: revokes tokens without forcing a reset; unknown ids are skipped', async () => {
    const accounts = await fixtures.seedAccounts({ password: 6, sso: 4 });
    const tokens = await logIn(client, { email: accounts[0]!.email, password: PASSWORD });
    const title = `Token leak ${randomUUID()}`;

    const created = await fixtures.createIncident({
      title,
      scope: { type: 'users', userIds: [...accounts.map((a) => a.id), randomUUID()] },
      actions: { forcePasswordReset: false, revokeSessions: true },
      notify: { enabled: true },
    });

    expect(await fixtures.sessionStatus(tokens.accessToken)).toBe(401);
    // Not forced to reset: the same password signs in again, with a token that works.
    const again = await logIn(client, { email: accounts[0]!.email, password: PASSWORD });
    expect(await fixtures.sessionStatus(again.accessToken)).toBe(200);
    const done = await fixtures.dispatchUntil(created.id, isCompleted);
    expect(done.counts).toEqual({ targeted: 11, queued: 10, sent: 10, skipped: 1, failed: 0 });
    const mails = await fixtures.incidentMails(title);
    for (const account of accounts) {
      expect(mails.get(account.email)).toHaveLength(1);
      expectAudienceContent(mails.get(account.email)![0]!, account.authMethod);
    }
  });

  it('without notification: applies its effects and completes at once with nothing to send', async () => {
    const [account] = await fixtures.seedAccounts({ password: 1, sso: 0 });
    const created = await fixtures.createIncident({
      title: `Silent ${randomUUID()}`,
      scope: { type: 'users', userIds: [account!.id] },
      actions: { forcePasswordReset: true, revokeSessions: false },
      notify: { enabled: false },
    });
    expect(created).toMatchObject({
      status: 'completed',
      sendAt: null,
      counts: { targeted: 0, queued: 0, sent: 0, skipped: 0, failed: 0 },
    });
    expect((await client.post('/v1/auth/login', { login: account!.email, password: PASSWORD })).status).toBe(
      403,
    );
  });

  it('rejects invalid incidents with 400 and the offending fields', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [
        {
          title: '',
          scope: { type: 'all' },
          actions: { forcePasswordReset: true, revokeSessions: true },
          notify: { enabled: true },
        },
        'title',
      ],
      [
        {
          title: 'x',
          scope: { type: 'emails', emails: ['a@example.test', 'A@example.test'] },
          actions: { forcePasswordReset: true, revokeSessions: true },
          notify: { enabled: true },
        },
        'scope.emails.1',
      ],
      [
        {
          title: 'x',
          scope: { type: 'users', userIds: [] },
          actions: { forcePasswordReset: true, revokeSessions: true },
          notify: { enabled: true },
        },
        'scope.userIds',
      ],
      [
        {
          title: 'x',
          scope: { type: 'all' },
          actions: { forcePasswordReset: true, revokeSessions: true },
          notify: { enabled: true, sendAt: 'tomorrow' },
        },
        'notify.sendAt',
      ],
      [
        {
          title: 'x',
          scope: { type: 'all' },
          actions: { forcePasswordReset: false, revokeSessions: true },
          notify: { enabled: true, remindAfterHours: 2 },
        },
        'notify.remindAfterHours',
      ],
      [
        {
          title: 'x',
          scope: { type: 'all' },
          actions: { forcePasswordReset: true, revokeSessions: true },
          notify: { enabled: true },
          extra: 1,
        },
        'extra',
      ],
      [
        {
          title: 'line\nbreak',
          scope: { type: 'all' },
          actions: { forcePasswordReset: true, revokeSessions: true },
          notify: { enabled: true },
        },
        'title',
      ],
    ];
    for (const [body, path] of cases) {
      const response = await client.post<{ error: string; details: { path: string }[] }>(
        '/v1/admin/incidents',
        body,
        admin,
      );
      expect(response.status).toBe(400);
      expect(response.body.error).toBe('invalid_request');
      expect(response.body.details.map((detail) => detail.path)).toContain(path);
    }
    expect(
      (await client.post('/v1/admin/incidents', {}, { token: 'not-the-admin-token-at-all' })).status,
    ).toBe(403);
    expect((await client.get('/v1/admin/incidents/inc_nope', admin)).status).toBe(404);
  });
});

describe('force-reset of one account', () => {
  it('flags a password account, revokes its tokens and sends the notice; refuses SSO and unknown accounts', async () => {
    const [account, sso] = await fixtures.seedAccounts({ password: 1, sso: 1 });
    const tokens = await logIn(client, { email: account!.email, password: PASSWORD });

    const response = await client.post(`/v1/admin/users/${account!.id}/force-reset`, {}, admin);

    expect(response.status).toBe(202);
    expect(await fixtures.sessionStatus(tokens.accessToken)).toBe(401);
    expect((await client.post('/v1/auth/login', { login: account!.email, password: PASSWORD })).status).toBe(
      403,
    );
    // The forced-reset notice (the refused login above also sends a reset link: look for the notice).
    const notice = await fixtures.waitForMailWhere(
      account!.email,
      (mail) => mail.subject === 'You need to reset your password',
    );
    expect(notice.body.text).toContain(NEVER_ASK_LINE);
    const refused = await client.post(`/v1/admin/users/${sso!.id}/force-reset`, { notify: false }, admin);
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ error: 'invalid_request' });
    expect((await client.post(`/v1/admin/users/${randomUUID()}/force-reset`, {}, admin)).status).toBe(404);
  });
});

describe('exactly one mail per account', () => {
  it('resumes after a dispatcher crash between queueing a page and saving its cursor, without a second mail', async () => {
    const accounts = await fixtures.seedAccounts({ password: 160, sso: 80 });
    const title = `Crash resume ${randomUUID()}`;
    const created = await fixtures.createIncident({
      title,
      scope: {
        type: 'users',
        userIds: [...accounts.map((a) => a.id), ...Array.from({ length: 10 }, () => randomUUID())],
      },
      actions: { forcePasswordReset: true, revokeSessions: true },
      // A little ahead, so that nothing dispatches it before this test does.
      notify: { enabled: true, sendAt: new Date(Date.now() + 1_500).toISOString() },
    });
    await sleep(1_600);
    let pagesQueued = 0;
    const crashing: NotificationQueue = {
      async enqueue(messages, options) {
        await deps.notifications.enqueue(messages, options);
        pagesQueued += 1;
        // The second page reached SQS; the process "dies" before saving the cursor.
        if (pagesQueued === 2) throw new Error('simulated crash');
      },
    };
    const run = () => ({
      owner: randomUUID(),
      stopAtMs: Date.now() + 30_000,
      deadlineMs: Date.now() + 40_000,
    });

    await expect(dispatchDueCampaigns({ ...deps, notifications: crashing }, run())).rejects.toThrow(
      'simulated crash',
    );

    const afterCrash = await fixtures.getIncident(created.id);
    expect(afterCrash.counts.targeted).toBe(100);
    expect(afterCrash.status).toBe('running');
    const done = await fixtures.dispatchUntil(created.id, isCompleted);
    // Page 2 was queued twice, but counted once and mailed once.
    expect(done.counts).toEqual({ targeted: 250, queued: 240, sent: 240, skipped: 10, failed: 0 });
    const mails = await fixtures.incidentMails(title);
    expect(mails.size).toBe(240);
    for (const account of accounts) expect(mails.get(account.email)).toHaveLength(1);
  });

  it('sends one mail when a message is delivered twice, through the queue or by two racing notifiers', async () => {
    const accounts = await fixtures.seedAccounts({ password: 8, sso: 4 });
    const title = `Redelivery ${randomUUID()}`;
    const { created, held } = await dispatchHeldBack(title, accounts);
    const [passwordBatch, ssoBatch] = held.messages as IncidentBatchMessage[];
    expect(passwordBatch!.recipients.map((r) => r.audience)).toEqual(Array(8).fill('password'));
    expect(ssoBatch!.recipients.map((r) => r.audience)).toEqual(Array(4).fill('sso'));

    // Racing notifiers on the same message: exactly one wins each recipient.
    const [first, second] = await Promise.all([
      deliverIncidentBatch(deps, passwordBatch!),
      deliverIncidentBatch(deps, passwordBatch!),
    ]);
    expect(first.sent + second.sent).toBe(8);
    expect(first.duplicates + second.duplicates).toBe(8);
    // The other message, twice on the real queue: the notifier sends it once.
    await deps.notifications.enqueue([ssoBatch!, ssoBatch!]);

    const done = await fixtures.dispatchUntil(created.id, isCompleted);
    expect(done.counts).toEqual({ targeted: 12, queued: 12, sent: 12, skipped: 0, failed: 0 });
    const mails = await fixtures.incidentMails(title);
    for (const account of accounts) expect(mails.get(account.email)).toHaveLength(1);
  });

  it('counts a crash between sending and settling as failed after the grace period, and never resends', async () => {
    const accounts = await fixtures.seedAccounts({ password: 3, sso: 0 });
    const title = `Unknown outcome ${randomUUID()}`;
    const { created, held } = await dispatchHeldBack(title, accounts);
    const batch = held.messages[0] as IncidentBatchMessage;
    const dying = Object.create(deps.incidentDeliveries, {
      settle: { value: async () => Promise.reject(new Error('simulated crash after SES')) },
    });

    await expect(deliverIncidentBatch({ ...deps, incidentDeliveries: dying }, batch)).rejects.toThrow(
      'simulated crash',
    );
    const redelivered = await deliverIncidentBatch(deps, batch);

    expect(redelivered).toMatchObject({ sent: 0, duplicates: 3 });
    // The grace period counts from the last sign of life (walk done or notifier activity). The dispatcher runs on
    // a fake clock at both edges of it: on the real one, a slow machine could pass the 3 s before the first check.
    const item = await deps.incidents.get(created.id);
    const { lastActivityAt } = await deps.incidents.settlement(created.id);
    const quietSince = Math.max(item?.rounds['0']?.walkDoneAt ?? 0, lastActivityAt);
    expect(quietSince).toBeGreaterThan(0);
    const graceEnds = quietSince + SETTLE_GRACE_SECONDS * 1000;
    expect(await dispatchAt(graceEnds - 1, created.id)).toMatchObject({ outcome: 'settling' });
    expect((await fixtures.getIncident(created.id)).status).toBe('running');
    expect(await dispatchAt(graceEnds, created.id)).toMatchObject({ outcome: 'done' });
    const done = await fixtures.getIncident(created.id);
    expect(done.status).toBe('completed');
    expect(done.counts).toEqual({ targeted: 3, queued: 3, sent: 0, skipped: 0, failed: 3 });
    const mails = await fixtures.incidentMails(title);
    for (const account of accounts) expect(mails.get(account.email)).toHaveLength(1);
  });
});

describe('cancel', () => {
  it('cancels a scheduled incident: 200, idempotent, nothing is ever sent; 404 for an unknown id', async () => {
    const accounts = await fixtures.seedAccounts({ password: 2, sso: 1 });
    const title = `Cancelled early ${randomUUID()}`;
    const created = await fixtures.createIncident({
      title,
      scope: { type: 'users', userIds: accounts.map((a) => a.id) },
      actions: { forcePasswordReset: false, revokeSessions: false },
      notify: { enabled: true, sendAt: new Date(Date.now() + 600).toISOString() },
    });

    const cancelled = await client.post<{ incident: IncidentBody }>(
      `/v1/admin/incidents/${created.id}/cancel`,
      {},
      admin,
    );
    const again = await client.post<{ incident: IncidentBody }>(
      `/v1/admin/incidents/${created.id}/cancel`,
      {},
      admin,
    );

    expect(cancelled.status).toBe(200);
    expect(cancelled.body.incident.status).toBe('cancelled');
    expect(again.status).toBe(200);
    expect(again.body.incident.status).toBe('cancelled');
    await sleep(700);
    await stack.runDispatcher();
    expect((await fixtures.getIncident(created.id)).counts.queued).toBe(0);
    expect((await client.post(`/v1/admin/incidents/inc_00000000000000000000/cancel`, {}, admin)).status).toBe(
      404,
    );
    expect((await fixtures.incidentMails(title)).size).toBe(0);
  });

  it('stops the walk within the run and the notifiers at once when cancelled mid-campaign', async () => {
    const accounts = await fixtures.seedAccounts({ password: 150, sso: 100 });
    const title = `Cancelled mid-way ${randomUUID()}`;
    const created = await notifyOnlyIncidentNowDue(title, accounts);
    const held = capturingQueue();
    const cancelling: NotificationQueue = {
      async enqueue(messages) {
        await held.enqueue(messages);
        // An operator cancels while the first page is being queued.
        if (held.messages.length === messages.length) {
          const response = await client.post(`/v1/admin/incidents/${created.id}/cancel`, {}, admin);
          expect(response.status).toBe(200);
        }
      },
    };

    const report = await dispatchDueCampaigns(
      { ...deps, notifications: cancelling },
      {
        owner: randomUUID(),
        stopAtMs: Date.now() + 30_000,
        deadlineMs: Date.now() + 40_000,
      },
    );
    const outcomes = await Promise.all(
      (held.messages as IncidentBatchMessage[]).map((message) => deliverIncidentBatch(deps, message)),
    );

    expect(report.incidents.find((incident) => incident.id === created.id)).toMatchObject({
      outcome: 'cancelled',
      pages: 1,
    });
    expect(outcomes.reduce((sum, outcome) => sum + outcome.sent, 0)).toBe(0);
    const incident = await fixtures.getIncident(created.id);
    expect(incident.status).toBe('cancelled');
    expect(incident.counts).toMatchObject({ targeted: 100, queued: 100, sent: 0, skipped: 100 });
    expect((await fixtures.incidentMails(title)).size).toBe(0);
  });
});

describe('reminders', () => {
  it('re-mails only password accounts that still have to reset, at most the configured number of times', async () => {
    const accounts = await fixtures.seedAccounts({ password: 5, sso: 2 });
    const title = `Reminded ${randomUUID()}`;
    const remindAfterHours = 1.5 / 3600;
    const created = await fixtures.createIncident({
      title,
      scope: { type: 'users', userIds: accounts.map((a) => a.id) },
      actions: { forcePasswordReset: true, revokeSessions: false },
      notify: { enabled: true, remindAfterHours },
    });
    const first = await fixtures.dispatchUntil(created.id, isCompleted);
    expect(first.counts).toEqual({ targeted: 7, queued: 7, sent: 7, skipped: 0, failed: 0 });
    expect(first.reminders).toEqual([expect.objectContaining({ round: 1, status: 'scheduled' })]);
    // One account resets its password before the reminder.
    const resetter = accounts[0]!;
    await deps.users.setPassword(resetter.id, { passwordHash, signOut: false, now: new Date() });

    const reminded = await fixtures.dispatchUntil(
      created.id,
      (i) => i.reminders[0]?.status === 'completed',
      15_000,
    );
    expect(reminded.reminders[0]!.counts).toEqual({ targeted: 4, queued: 4, sent: 4, skipped: 0, failed: 0 });
    const last = await fixtures.dispatchUntil(
      created.id,
      (i) => i.reminders[1]?.status === 'completed',
      15_000,
    );

    expect(last.reminders).toHaveLength(2);
    expect(last.counts).toEqual(first.counts);
    await sleep(1_700);
    await stack.runDispatcher();
    expect((await fixtures.getIncident(created.id)).reminders).toHaveLength(2);
    const mails = await fixtures.incidentMails(title);
    for (const account of accounts) {
      const received = mails.get(account.email) ?? [];
      const expected = account === resetter || account.authMethod === 'sso' ? 1 : 3;
      expect(received).toHaveLength(expected);
      expect(received.filter((mail) => mail.subject === 'Reminder: reset your password')).toHaveLength(
        expected - 1,
      );
    }
  });
});
