import { randomInt } from 'node:crypto';
import { COUNTER_SHARDS, type IncidentRecord } from '../domain/incident.js';
import { delayUntilNextSecond, msUntilSendSecond } from '../domain/send-slots.js';
import { type IncidentMailTemplate, incidentMail } from '../notifications/incident-mail.js';
import type { IncidentBatchMessage, IncidentRecipient } from '../notifications/messages.js';
import type { BulkMailResult } from '../ports/bulk-mailer.js';
import type { IncidentDeliveriesStore, RecipientOutcome } from '../ports/incident-deliveries-store.js';
import type { IncidentsStore } from '../ports/incidents-store.js';
import type { Deps } from './deps.js';

/**
 * The notifier's side of a campaign (docs/adr/0004-incidents-and-campaigns.md), per queue message of at most
 * 50 recipients: claim them all in one transaction (with the cancel check and the send-rate slot), send one
 * SES bulk call, then settle them all in one transaction with the counters. A recipient claimed once is never
 * sent again unless SES explicitly did not take it (throttled, paused), in which case the claim is released
 * and the recipient re-queued with a delay.
 */

export interface IncidentBatchOutcome {
  readonly incidentId: string;
  readonly round: number;
  readonly sent: number;
  readonly failed: number;
  /** Released and re-queued with a delay: SES throttled or paused sending. */
  readonly retried: number;
  /** Skipped because the incident was cancelled. */
  readonly skipped: number;
  /** Already claimed by another delivery of the same recipient (redelivery, re-queued page, racing notifier). */
  readonly duplicates: number;
  /** Put back on the queue unclaimed: the send budget stayed full for too long. */
  readonly deferred: number;
  /** The incident does not exist (any more): nothing to do. */
  readonly unknownIncident: boolean;
}

/** What the notifier uses for campaign batches, as ports: the real stores in Lambda, fakes in unit tests. */
export interface BatchDeps extends Pick<Deps, 'config' | 'clock' | 'bulkMailer' | 'notifications'> {
  readonly incidents: Pick<IncidentsStore, 'getContent'>;
  readonly incidentDeliveries: Pick<IncidentDeliveriesStore, 'claim' | 'settle' | 'countSkipped'>;
}

/** How long one batch waits for room in the send budget before handing the batch back to the queue. */
const MAX_RATE_WAIT_MS = 10_000;
/** Transient SES refusals are retried after 5 s, doubling up to 5 min (well under the settle grace period). */
const RETRY_BASE_DELAY_SECONDS = 5;
const RETRY_MAX_DELAY_SECONDS = 300;
const CONTENT_CACHE_LIMIT = 200;
const MAX_CONTENDED_ATTEMPTS = 20;

type IncidentContent = Pick<IncidentRecord, 'id' | 'title' | 'createdAt' | 'actions'>;

// Title, time and actions never change after creation: one read per incident per container, not per batch.
const contentCache = new Map<string, Promise<IncidentContent | undefined>>();

function incidentContent(deps: BatchDeps, incidentId: string): Promise<IncidentContent | undefined> {
  let content = contentCache.get(incidentId);
  if (!content) {
    if (contentCache.size >= CONTENT_CACHE_LIMIT) contentCache.clear();
    content = deps.incidents.getContent(incidentId).then(
      (found) => {
        // Only what exists is worth remembering.
        if (!found) contentCache.delete(incidentId);
        return found;
      },
      (error: unknown) => {
        contentCache.delete(incidentId);
        throw error;
      },
    );
    contentCache.set(incidentId, content);
  }
  return content;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `…|retry<n>`: how many times SES already turned these recipients away, for the backoff. */
export function retryAttempt(origin: string): number {
  const match = /\|retry(\d+)$/.exec(origin);
  return match ? Number(match[1]) : 0;
}

export function retryOrigin(origin: string, attempt: number): string {
  const base = origin.replace(/\|retry\d+$/, '');
  const suffix = `|retry${attempt}`;
  return `${base.slice(0, 256 - suffix.length)}${suffix}`;
}

export function retryDelaySeconds(attempt: number): number {
  const delay = Math.min(RETRY_MAX_DELAY_SECONDS, RETRY_BASE_DELAY_SECONDS * 2 ** Math.max(0, attempt - 1));
  // Jitter, so recipients throttled together do not come back together.
  return Math.min(RETRY_MAX_DELAY_SECONDS, delay + randomInt(0, RETRY_BASE_DELAY_SECONDS + 1));
}

interface Tally {
  sent: number;
  failed: number;
  retried: number;
  skipped: number;
  duplicates: number;
  deferred: number;
}

export async function deliverIncidentBatch(
  deps: BatchDeps,
  message: IncidentBatchMessage,
): Promise<IncidentBatchOutcome> {
  const tally: Tally = { sent: 0, failed: 0, retried: 0, skipped: 0, duplicates: 0, deferred: 0 };
  const base = { incidentId: message.incidentId, round: message.round };
  const content = await incidentContent(deps, message.incidentId);
  if (!content) return { ...base, ...tally, unknownIncident: true };
  // One claim per recipient and transaction: a recipient listed twice would make DynamoDB refuse the batch.
  const unique = [...new Map(message.recipients.map((recipient) => [recipient.userId, recipient])).values()];
  tally.duplicates += message.recipients.length - unique.length;
  // A batch never takes more send slots than one second holds, whatever the configured rate.
  const chunkSize = Math.max(1, Math.min(50, deps.config.sesMaxSendRate));
  for (let start = 0; start < unique.length; start += chunkSize) {
    const deferred = await deliverChunk(
      deps,
      message,
      content,
      unique.slice(start, start + chunkSize),
      tally,
    );
    if (deferred.length > 0) {
      // The send budget stayed full: hand back everything not claimed yet, rather than hold the Lambda (and
      // the batch's visibility timeout) any longer. Unclaimed, so nothing is lost or counted twice.
      const rest = [...deferred, ...unique.slice(start + chunkSize)];
      await deps.notifications.enqueue([{ ...message, recipients: rest }], {
        delaySeconds: 1 + randomInt(0, 5),
      });
      tally.deferred += rest.length;
      break;
    }
  }
  return { ...base, ...tally, unknownIncident: false };
}

async function deliverChunk(
  deps: BatchDeps,
  message: IncidentBatchMessage,
  content: IncidentContent,
  chunk: readonly IncidentRecipient[],
  tally: Tally,
): Promise<IncidentRecipient[]> {
  const shard = randomInt(0, COUNTER_SHARDS);
  const { incidentId, round } = message;
  let pending = [...chunk];
  const giveUpAt = Date.now() + MAX_RATE_WAIT_MS;
  for (let attempt = 0; ; attempt += 1) {
    if (pending.length === 0) return [];
    const now = deps.clock.now();
    const result = await deps.incidentDeliveries.claim({
      incidentId,
      round,
      shard,
      userIds: pending.map((recipient) => recipient.userId),
      now,
    });
    if (result.claimed) {
      // The mail leaves in the second whose slots it holds (domain/send-slots.ts).
      await sleep(msUntilSendSecond(result.second, deps.clock.now().getTime()));
      break;
    }
    const { rejection } = result;
    // Someone else owns these recipients (another copy of this batch, or a racing notifier): they count
    // them, we drop them, whatever else went wrong with this attempt.
    const taken = new Set(rejection.taken);
    tally.duplicates += taken.size;
    pending = pending.filter((_, index) => !taken.has(index));
    if (rejection.cancelled) {
      await deps.incidentDeliveries.countSkipped({ incidentId, round, shard, count: pending.length, now });
      tally.skipped += pending.length;
      return [];
    }
    if (rejection.rateFull) {
      if (Date.now() >= giveUpAt) return pending;
      await sleep(delayUntilNextSecond(now.getTime()));
    } else if (rejection.contended) {
      // Persistent contention is an outage in all but name: let SQS redeliver the batch later.
      if (attempt >= MAX_CONTENDED_ATTEMPTS) throw new Error(`claims for ${incidentId} kept conflicting`);
      await sleep(Math.min(1_000, 20 * 2 ** Math.min(attempt, 5)) + randomInt(0, 50));
    }
  }

  const results = await sendByAudience(deps, content, round, pending);
  const outcomes: RecipientOutcome[] = [];
  const retry: IncidentRecipient[] = [];
  pending.forEach((recipient, index) => {
    const result = results[index] ?? { status: 'unknown', reason: 'no_result' };
    if (result.status === 'sent') {
      outcomes.push({ userId: recipient.userId, status: 'sent', messageId: result.messageId });
    } else if (result.status === 'retry') {
      retry.push(recipient);
      outcomes.push({ userId: recipient.userId, status: 'retryable', reason: result.reason });
    } else {
      // 'unknown' (SES may have sent it) is final too: a second mail is worse than a missing count.
      outcomes.push({ userId: recipient.userId, status: 'failed', reason: result.reason });
    }
  });
  if (retry.length > 0) {
    // Re-queue before releasing: if we die in between, the copy finds the claims still 'sending' and drops
    // them (counted failed after the grace period) instead of the recipients being lost while 'retryable'.
    const attempt = retryAttempt(message.origin) + 1;
    await deps.notifications.enqueue(
      [{ ...message, origin: retryOrigin(message.origin, attempt), recipients: retry }],
      {
        delaySeconds: retryDelaySeconds(attempt),
      },
    );
  }
  await deps.incidentDeliveries.settle({ incidentId, round, shard, outcomes, now: deps.clock.now() });
  for (const outcome of outcomes) {
    if (outcome.status === 'sent') tally.sent += 1;
    else if (outcome.status === 'failed') tally.failed += 1;
    else tally.retried += 1;
  }
  return [];
}

/** One SES bulk call per audience present (the dispatcher packs one audience per message, so usually one). */
async function sendByAudience(
  deps: BatchDeps,
  content: IncidentContent,
  round: number,
  recipients: readonly IncidentRecipient[],
): Promise<BulkMailResult[]> {
  const results: BulkMailResult[] = new Array(recipients.length);
  for (const audience of ['password', 'sso'] as const) {
    const indexes = recipients.flatMap((recipient, index) =>
      recipient.audience === audience ? [index] : [],
    );
    if (indexes.length === 0) continue;
    const mail: IncidentMailTemplate = incidentMail(
      {
        title: content.title,
        declaredAt: content.createdAt,
        actions: content.actions,
        audience,
        reminder: round > 0,
      },
      { appUrl: deps.config.publicAppUrl },
    );
    const sent = await deps.bulkMailer.sendBulk({
      ...mail,
      to: indexes.map((index) => recipients[index]!.email),
    });
    indexes.forEach((recipientIndex, i) => {
      results[recipientIndex] = sent[i] ?? { status: 'unknown', reason: 'no_result' };
    });
  }
  return results;
}
