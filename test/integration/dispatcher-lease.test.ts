/**
 * The dispatcher's incident lease on the real store (DynamoDB Local): the conditional update in
 * `IncidentsStore.takeLease` is what keeps two dispatchers off one incident, so only a test against DynamoDB
 * can show it. The clock is a fake one handed to the dispatcher: lease deadlines are checked to the millisecond
 * without waiting for them.
 */
import { randomUUID } from 'node:crypto';
import { createDeps } from '../../shared/app.js';
import { loadConfig } from '../../shared/config.js';
import type { NotificationQueue } from '../../shared/ports/notification-queue.js';
import type { Deps } from '../../shared/use-cases/deps.js';
import {
  type DispatchDeps,
  dispatchDueCampaigns,
  type IncidentRunReport,
} from '../../shared/use-cases/dispatch-campaigns.js';
import { type Api, signUp, uniqueName } from '../support/fixtures.js';
import { api } from '../support/http.js';
import { startTestStack, type TestStack } from '../support/test-stack.js';

let stack: TestStack;
let client: Api;
let deps: Deps;

beforeAll(async () => {
  // No notifier and no scheduled dispatcher: the only dispatchers are the ones each test runs.
  stack = await startTestStack({ notifier: false });
  client = api(stack.apiUrl);
  deps = createDeps(loadConfig(process.env));
});
afterAll(async () => {
  await stack?.stop();
});

/** Queues nothing: the lease, not the mail, is under test. */
const heldQueue: NotificationQueue = { async enqueue() {} };

/** A notify-only incident for one new account, due at `sendAtMs` (in the future, so no real run starts it). */
async function incidentDueAt(sendAtMs: number): Promise<string> {
  const account = await signUp(client);
  const response = await client.post<{ incident: { id: string } }>(
    '/v1/admin/incidents',
    {
      title: uniqueName('Lease'),
      scope: { type: 'users', userIds: [account.id] },
      actions: { forcePasswordReset: false, revokeSessions: false },
      notify: { enabled: true, sendAt: new Date(sendAtMs).toISOString() },
    },
    { token: stack.adminToken },
  );
  expect(response.status).toBe(201);
  return response.body.incident.id;
}

/** One dispatcher run at the fake time `nowMs`, with its own owner, reporting only on incident `id`. */
async function runAt(
  nowMs: number,
  id: string,
  incidents: DispatchDeps['incidents'] = deps.incidents,
): Promise<IncidentRunReport | undefined> {
  const report = await dispatchDueCampaigns(
    { ...deps, incidents, notifications: heldQueue, clock: { now: () => new Date(nowMs) } },
    { owner: randomUUID(), stopAtMs: nowMs + 30_000, deadlineMs: nowMs + 40_000 },
  );
  return report.incidents.find((run) => run.id === id);
}

/**
 * The real store, except that `takeLease` on incident `id` waits until `parties` callers have reached it:
 * the conditional updates then really race at DynamoDB, however the two runs were scheduled.
 */
function meetingAtTakeLease(id: string, parties: number): DispatchDeps['incidents'] {
  let arrived = 0;
  let everyoneThere!: () => void;
  const met = new Promise<void>((resolve) => {
    everyoneThere = resolve;
  });
  const store = deps.incidents;
  return {
    findDue: (nowMs) => store.findDue(nowMs),
    async takeLease(incidentId, owner, nowMs, untilMs) {
      if (incidentId === id) {
        arrived += 1;
        if (arrived === parties) everyoneThere();
        await met;
      }
      return store.takeLease(incidentId, owner, nowMs, untilMs);
    },
    releaseLease: (incidentId, owner) => store.releaseLease(incidentId, owner),
    startRound: (item, owner, input) => store.startRound(item, owner, input),
    savePage: (...args) => store.savePage(...args),
    finishWalk: (...args) => store.finishWalk(...args),
    finishRound: (...args) => store.finishRound(...args),
    settlement: (...args) => store.settlement(...args),
  };
}

describe('dispatcher lease on DynamoDB', () => {
  it('lets exactly one of two dispatchers racing for an incident take it; the other reports busy', async () => {
    // Prepare
    const sendAtMs = Date.now() + 60_000;
    const id = await incidentDueAt(sendAtMs);
    const incidents = meetingAtTakeLease(id, 2);

    // Act
    const runs = await Promise.all([runAt(sendAtMs + 1, id, incidents), runAt(sendAtMs + 1, id, incidents)]);

    // Assess
    const outcomes = runs.map((run) => run?.outcome);
    expect(outcomes.filter((outcome) => outcome === 'busy')).toHaveLength(1);
    const winner = runs.find((run) => run?.outcome !== 'busy');
    expect(winner).toMatchObject({ id, round: 0, pages: 1, queued: 1 });
  });

  it('takes over a lease that was never released only after its deadline has passed', async () => {
    // Prepare: a run took the lease until `deadline` and died without releasing it.
    const sendAtMs = Date.now() + 60_000;
    const id = await incidentDueAt(sendAtMs);
    const takenAt = sendAtMs + 1;
    const deadline = takenAt + 15 * 60_000;
    expect(await deps.incidents.takeLease(id, 'crashed-run', takenAt, deadline)).toBeDefined();

    // Act + Assess: busy up to and at the deadline, taken over the millisecond after.
    expect(await runAt(takenAt + 1, id)).toMatchObject({ id, outcome: 'busy' });
    expect(await runAt(deadline - 1, id)).toMatchObject({ id, outcome: 'busy' });
    expect(await runAt(deadline, id)).toMatchObject({ id, outcome: 'busy' });
    const takenOver = await runAt(deadline + 1, id);
    expect(takenOver?.outcome).not.toBe('busy');
    expect(takenOver).toMatchObject({ id, round: 0, pages: 1, queued: 1 });
  });
});
