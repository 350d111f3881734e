import { jest } from '@jest/globals';
import { classifyEntry, classifySendError } from '../../shared/aws/ses-bulk-mailer.js';
import { loadConfig } from '../../shared/config.js';
import type { IncidentBatchMessage, NotificationMessage } from '../../shared/notifications/messages.js';
import type { BulkMail, BulkMailResult } from '../../shared/ports/bulk-mailer.js';
import type { ClaimRejection, RecipientOutcome } from '../../shared/ports/incident-deliveries-store.js';
import {
  type BatchDeps,
  deliverIncidentBatch,
  retryAttempt,
  retryDelaySeconds,
  retryOrigin,
} from '../../shared/use-cases/deliver-incident-batch.js';
import { unitTestEnv } from '../support/unit-config.js';

const baseEnv = unitTestEnv;

const message = (count: number, audience: 'password' | 'sso' = 'password'): IncidentBatchMessage => ({
  version: 1,
  type: 'incident_batch',
  incidentId: `inc_${Date.now().toString(36).padStart(10, '0')}0000000${Math.floor(Math.random() * 10)}`,
  round: 0,
  origin: 'r0s0p0p0',
  recipients: Array.from({ length: count }, (_, i) => ({
    userId: `u${i}`,
    email: `u${i}@example.test`,
    audience,
  })),
});

type ClaimAnswer = { claimed: true; second: number } | { claimed: false; rejection: ClaimRejection };
const rejection = (overrides: Partial<ClaimRejection>): ClaimAnswer => ({
  claimed: false,
  rejection: { cancelled: false, rateFull: false, taken: [], contended: false, ...overrides },
});

/** Fakes for every port of the notifier's campaign path, recording what they were asked. */
function fakes(options: {
  claims: ClaimAnswer[];
  send?: (mail: BulkMail) => BulkMailResult[];
  maxSendRate?: number;
}) {
  const log: string[] = [];
  const claimedBatches: string[][] = [];
  const claimTimes: number[] = [];
  const settled: RecipientOutcome[][] = [];
  const sends: BulkMail[] = [];
  const enqueued: { messages: NotificationMessage[]; delaySeconds?: number }[] = [];
  const skipped: number[] = [];
  const deps: BatchDeps = {
    config: loadConfig({ ...baseEnv, SES_MAX_SEND_RATE: String(options.maxSendRate ?? 1000) }),
    clock: { now: () => new Date() },
    incidents: {
      async getContent(id) {
        return {
          id,
          title: 'Breach',
          createdAt: '2026-11-22T10:00:00.000Z',
          actions: { forcePasswordReset: true, revokeSessions: true },
        };
      },
    },
    incidentDeliveries: {
      async claim(input) {
        log.push('claim');
        claimedBatches.push([...input.userIds]);
        claimTimes.push(Date.now());
        return options.claims.shift() ?? { claimed: true, second: Math.floor(Date.now() / 1000) };
      },
      async settle(input) {
        log.push('settle');
        settled.push([...input.outcomes]);
      },
      async countSkipped(input) {
        log.push('skip');
        skipped.push(input.count);
      },
    },
    bulkMailer: {
      async sendBulk(mail) {
        log.push('send');
        sends.push(mail);
        return options.send
          ? options.send(mail)
          : mail.to.map((_, i) => ({ status: 'sent', messageId: `m${i}` }));
      },
    },
    notifications: {
      async enqueue(messages, enqueueOptions) {
        log.push('enqueue');
        enqueued.push({ messages: [...messages], delaySeconds: enqueueOptions?.delaySeconds });
      },
    },
  };
  return { deps, log, claimedBatches, claimTimes, settled, sends, enqueued, skipped };
}

describe('deliverIncidentBatch', () => {
  it('claims, sends one bulk call and settles every recipient in one go', async () => {
    const f = fakes({ claims: [] });

    const outcome = await deliverIncidentBatch(f.deps, message(50));

    expect(f.log).toEqual(['claim', 'send', 'settle']);
    expect(f.sends[0]!.to).toHaveLength(50);
    expect(f.sends[0]!.template.subject).toBe('Security incident: reset your password');
    expect(outcome).toMatchObject({ sent: 50, failed: 0, duplicates: 0 });
  });

  it('drops the recipients another delivery already claimed and retries with the rest, counting them nowhere', async () => {
    const f = fakes({ claims: [rejection({ taken: [1, 3] })] });

    const outcome = await deliverIncidentBatch(f.deps, message(5));

    expect(f.claimedBatches).toEqual([
      ['u0', 'u1', 'u2', 'u3', 'u4'],
      ['u0', 'u2', 'u4'],
    ]);
    expect(f.sends[0]!.to).toEqual(['u0@example.test', 'u2@example.test', 'u4@example.test']);
    expect(f.settled[0]!.map((o) => o.userId)).toEqual(['u0', 'u2', 'u4']);
    expect(outcome).toMatchObject({ sent: 3, duplicates: 2 });
  });

  it('sends nothing for a cancelled incident and counts the unclaimed recipients as skipped', async () => {
    const f = fakes({ claims: [rejection({ cancelled: true, taken: [0] })] });

    const outcome = await deliverIncidentBatch(f.deps, message(4));

    expect(f.sends).toHaveLength(0);
    expect(f.skipped).toEqual([3]);
    expect(outcome).toMatchObject({ sent: 0, skipped: 3, duplicates: 1 });
  });

  it('waits for the next second when the send budget is full, then sends', async () => {
    // A fake clock (Date and timers): on the real one a loaded machine can oversleep into the second after.
    const start = Date.parse('2026-11-22T10:00:00.700Z');
    jest.useFakeTimers({ now: start });
    try {
      const f = fakes({ claims: [rejection({ rateFull: true })] });

      const delivered = deliverIncidentBatch(f.deps, message(2));
      await jest.advanceTimersByTimeAsync(2_000);
      const outcome = await delivered;

      expect(f.claimedBatches).toHaveLength(2);
      expect(f.claimTimes[0]).toBe(start);
      // At the start of the next second, plus at most the 50 ms of jitter that keeps notifiers from stampeding.
      const nextSecond = Date.parse('2026-11-22T10:00:01.000Z');
      expect(f.claimTimes[1]).toBeGreaterThanOrEqual(nextSecond);
      expect(f.claimTimes[1]).toBeLessThan(nextSecond + 50);
      expect(outcome.sent).toBe(2);
    } finally {
      jest.useRealTimers();
    }
  });

  it('re-queues throttled recipients with a delay before releasing them, and fails rejected or unknown ones for good', async () => {
    const statuses: BulkMailResult[] = [
      { status: 'sent', messageId: 'a' },
      { status: 'retry', reason: 'ACCOUNT_THROTTLED' },
      { status: 'failed', reason: 'MESSAGE_REJECTED' },
      { status: 'unknown', reason: 'TimeoutError' },
    ];
    const f = fakes({ claims: [], send: () => statuses });

    const outcome = await deliverIncidentBatch(f.deps, message(4));

    expect(f.log).toEqual(['claim', 'send', 'enqueue', 'settle']);
    const [retry] = f.enqueued;
    expect((retry!.messages[0] as IncidentBatchMessage).recipients.map((r) => r.userId)).toEqual(['u1']);
    expect((retry!.messages[0] as IncidentBatchMessage).origin).toBe('r0s0p0p0|retry1');
    expect(retry!.delaySeconds).toBeGreaterThanOrEqual(5);
    expect(f.settled[0]!.map((o) => [o.userId, o.status])).toEqual([
      ['u0', 'sent'],
      ['u1', 'retryable'],
      ['u2', 'failed'],
      ['u3', 'failed'],
    ]);
    expect(outcome).toMatchObject({ sent: 1, retried: 1, failed: 2 });
  });

  it('splits a batch so that one claim never takes more send slots than one second holds', async () => {
    const f = fakes({ claims: [], maxSendRate: 14 });

    await deliverIncidentBatch(f.deps, message(30, 'sso'));

    expect(f.claimedBatches.map((batch) => batch.length)).toEqual([14, 14, 2]);
    expect(f.sends[0]!.template.subject).toBe('Security notice: sign out of all devices');
  });

  it('ignores a recipient listed twice in one message', async () => {
    const f = fakes({ claims: [] });
    const doubled = message(2);

    const outcome = await deliverIncidentBatch(f.deps, {
      ...doubled,
      recipients: [...doubled.recipients, doubled.recipients[0]!],
    });

    expect(f.claimedBatches).toEqual([['u0', 'u1']]);
    expect(outcome).toMatchObject({ sent: 2, duplicates: 1 });
  });
});

describe('retry bookkeeping', () => {
  it('counts attempts in the origin and backs off up to five minutes', () => {
    expect(retryAttempt('r0s1p2p0')).toBe(0);
    expect(retryAttempt(retryOrigin('r0s1p2p0', 3))).toBe(3);
    expect(retryOrigin(retryOrigin('x', 1), 2)).toBe('x|retry2');
    expect(retryOrigin('y'.repeat(300), 1)).toHaveLength(256);
    expect(retryDelaySeconds(1)).toBeGreaterThanOrEqual(5);
    expect(retryDelaySeconds(1)).toBeLessThanOrEqual(10);
    expect(retryDelaySeconds(20)).toBe(300);
  });
});

describe('SES bulk result classification', () => {
  it('maps per-entry statuses to sent, failed for good, retry later or unknown', () => {
    expect(classifyEntry({ Status: 'SUCCESS', MessageId: 'x' })).toEqual({ status: 'sent', messageId: 'x' });
    expect(classifyEntry({ Status: 'ACCOUNT_THROTTLED' })).toMatchObject({ status: 'retry' });
    expect(classifyEntry({ Status: 'TRANSIENT_FAILURE' })).toMatchObject({ status: 'retry' });
    expect(classifyEntry({ Status: 'ACCOUNT_SENDING_PAUSED' })).toMatchObject({ status: 'retry' });
    expect(classifyEntry({ Status: 'MESSAGE_REJECTED' })).toMatchObject({ status: 'failed' });
    expect(classifyEntry({ Status: 'INVALID_PARAMETER' })).toMatchObject({ status: 'failed' });
    expect(classifyEntry(undefined)).toMatchObject({ status: 'unknown' });
  });

  it('retries whole-call throttles and 5xx, fails rejections, and never resends after a timeout', () => {
    expect(classifySendError({ name: 'TooManyRequestsException' })).toBe('retry');
    expect(classifySendError({ name: 'InternalFailure', $metadata: { httpStatusCode: 500 } })).toBe('retry');
    expect(classifySendError({ name: 'Error', code: 'ECONNREFUSED' })).toBe('retry');
    expect(classifySendError({ name: 'MessageRejected' })).toBe('failed');
    expect(classifySendError({ name: 'TimeoutError' })).toBe('unknown');
    expect(classifySendError({ name: 'Error', code: 'ECONNRESET' })).toBe('unknown');
  });
});
