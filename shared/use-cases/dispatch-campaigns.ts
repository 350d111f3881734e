import { entryRef } from '../domain/audience-entry.js';
import {
  type Counts,
  type IncidentRecord,
  LeaseLostError,
  type NotifierTotals,
  roundCounts,
  type SegmentCursor,
} from '../domain/incident.js';
import {
  type IncidentBatchMessage,
  type IncidentRecipient,
  incidentRecipientSchema,
} from '../notifications/messages.js';
import type { AudienceMember, CampaignAudience } from '../ports/campaign-audience.js';
import type { IncidentAudienceStore } from '../ports/incident-audience-store.js';
import type { IncidentsStore } from '../ports/incidents-store.js';
import type { SecurityEventsStore } from '../ports/security-events-store.js';
import type { Deps } from './deps.js';
import { resolveEntries } from './incident-audience.js';
import { resolveScopedAccounts } from './scoped-audience.js';

/**
 * The campaign dispatcher (docs/adr/0004-incidents-and-campaigns.md): for every incident with work due, take
 * its lease, walk its scope page by page (queueing recipients 50 per SQS message, 10 messages per batch, and
 * saving the cursor with the page's counts after every page), watch the notifiers settle the round, then
 * complete it or schedule the next reminder. It stops starting pages at `stopAtMs`; the next run resumes.
 */

/** What the dispatcher uses, as ports: the real stores in Lambda, in-memory fakes in unit tests. */
export interface DispatchDeps extends Pick<Deps, 'config' | 'clock' | 'notifications'> {
  readonly incidents: Pick<
    IncidentsStore,
    | 'findDue'
    | 'takeLease'
    | 'releaseLease'
    | 'startRound'
    | 'savePage'
    | 'finishWalk'
    | 'finishRound'
    | 'settlement'
  >;
  readonly audience: Pick<CampaignAudience, 'scanPage' | 'getUsers' | 'resolveEmails'> &
    Partial<Pick<CampaignAudience, 'resolveExternalIds'>>;
  /** Needed only for listed audiences (`scope: list`); fakes of other scopes may leave them out. */
  readonly listedAudience?: Pick<IncidentAudienceStore, 'readPart' | 'claimAndApply' | 'getClaims'>;
  readonly events?: Pick<SecurityEventsStore, 'eventItem'>;
}

export interface DispatchRunOptions {
  /** Unique per run: whose lease it is. */
  readonly owner: string;
  /** Clock time (ms) after which no new page is started; the lease lasts until the run's hard deadline. */
  readonly stopAtMs: number;
  /** Clock time (ms) the run is killed at (the Lambda deadline): the lease expires then. */
  readonly deadlineMs: number;
}

export type IncidentRunOutcome =
  | 'busy'
  | 'lease_lost'
  | 'waiting'
  | 'out_of_time'
  | 'settling'
  | 'done'
  | 'cancelled'
  | 'scheduled_next_round';

export interface IncidentRunReport {
  readonly id: string;
  readonly round: number;
  readonly outcome: IncidentRunOutcome;
  readonly pages: number;
  readonly queued: number;
}

export interface DispatchReport {
  readonly incidents: readonly IncidentRunReport[];
}

/** The ids/emails of a scoped list are resolved this many at a time (BatchGetItem takes 100 keys). */
const LIST_PAGE_SIZE = 100;
/** Accounts of a listed page protected at once: each is one transaction; more would only queue at DynamoDB. */
const LISTED_EFFECT_CONCURRENCY = 16;
/** SES bulk sends take at most 50 destinations. */
const MAX_RECIPIENTS_PER_MESSAGE = 50;

export async function dispatchDueCampaigns(
  deps: DispatchDeps,
  options: DispatchRunOptions,
): Promise<DispatchReport> {
  const reports: IncidentRunReport[] = [];
  const due = await deps.incidents.findDue(deps.clock.now().getTime());
  for (const id of due) {
    if (deps.clock.now().getTime() >= options.stopAtMs) break;
    const item = await deps.incidents.takeLease(
      id,
      options.owner,
      deps.clock.now().getTime(),
      options.deadlineMs,
    );
    if (!item) {
      reports.push({ id, round: -1, outcome: 'busy', pages: 0, queued: 0 });
      continue;
    }
    const progress = { pages: 0, queued: 0 };
    try {
      const { outcome, round } = await advance(deps, item, options, progress);
      reports.push({ id, round, outcome, ...progress });
    } catch (error) {
      if (!(error instanceof LeaseLostError)) throw error;
      reports.push({ id, round: item.round, outcome: 'lease_lost', ...progress });
    } finally {
      await deps.incidents.releaseLease(id, options.owner);
    }
  }
  return { incidents: reports };
}

/** Moves one leased incident through its phases as far as this run can take it. */
async function advance(
  deps: DispatchDeps,
  leased: IncidentRecord,
  options: DispatchRunOptions,
  progress: { pages: number; queued: number },
): Promise<{ outcome: IncidentRunOutcome; round: number }> {
  let item = leased;
  // Each step moves the phase forward, so a handful of steps is all one run can take.
  for (let step = 0; step < 6; step += 1) {
    if (item.status === 'cancelled' || item.remindersCancelled)
      return { outcome: 'cancelled', round: item.round };
    const nowMs = deps.clock.now().getTime();
    switch (item.phase) {
      case 'done':
        return { outcome: 'done', round: item.round };
      case 'waiting':
        if ((item.dueAt ?? Number.POSITIVE_INFINITY) > nowMs)
          return { outcome: 'waiting', round: item.round };
        item = await deps.incidents.startRound(item, options.owner, {
          segments: item.scope.type === 'all' ? deps.config.campaigns.scanSegments : 1,
          nowMs,
        });
        break;
      case 'walking': {
        const walked = await walk(deps, item, options, progress);
        if (walked.stop === 'cancelled') return { outcome: 'cancelled', round: item.round };
        if (walked.stop === 'time') return { outcome: 'out_of_time', round: item.round };
        item = await deps.incidents.finishWalk(
          item.id,
          options.owner,
          item.round,
          deps.clock.now().getTime(),
        );
        break;
      }
      case 'settling': {
        const settlement = await deps.incidents.settlement(item.id);
        const decision = decideSettlement({
          counts: roundCounts(item, settlement, item.round),
          notifier: settlement.byRound.get(item.round),
          walkDoneAt: item.rounds[String(item.round)]?.walkDoneAt ?? nowMs,
          lastActivityAt: settlement.lastActivityAt,
          nowMs,
          graceMs: deps.config.campaigns.settleGraceMs,
        });
        if (!decision.finish) return { outcome: 'settling', round: item.round };
        const remindAfterHours = item.notify.remindAfterHours;
        const nextRoundAt =
          item.round < item.maxReminders && remindAfterHours !== undefined
            ? nowMs + Math.round(remindAfterHours * 3_600_000)
            : undefined;
        item = await deps.incidents.finishRound(item, options.owner, {
          nowMs,
          unknown: decision.unknown,
          nextRoundAt,
        });
        if (nextRoundAt !== undefined && nextRoundAt > nowMs)
          return { outcome: 'scheduled_next_round', round: item.round };
        break;
      }
    }
  }
  return { outcome: item.phase === 'done' ? 'done' : 'settling', round: item.round };
}

/**
 * Is the round over? Yes when every targeted recipient is settled. Otherwise, when nothing is pending any
 * more (every unsettled recipient is claimed, none waits in the queue) and the notifiers have been silent for
 * the grace period, the claimed-but-unsettled ones belong to notifiers that died between SES and their settle:
 * their outcome is unknown, they are never resent, and they are counted as failed, so that the counts stay
 * exact (targeted = sent + skipped + failed).
 */
export function decideSettlement(input: {
  counts: Counts;
  notifier: NotifierTotals | undefined;
  walkDoneAt: number;
  lastActivityAt: number;
  nowMs: number;
  graceMs: number;
}): { finish: true; unknown: number } | { finish: false } {
  const { counts } = input;
  const settled = counts.sent + counts.skipped + counts.failed;
  const unsettled = counts.targeted - settled;
  if (unsettled <= 0) return { finish: true, unknown: 0 };
  const notifier = input.notifier ?? { sent: 0, failed: 0, skipped: 0, claimed: 0, released: 0 };
  const inFlight = notifier.claimed - notifier.released - notifier.sent - notifier.failed;
  const pending = unsettled - inFlight;
  const quietSince = Math.max(input.walkDoneAt, input.lastActivityAt);
  if (pending <= 0 && input.nowMs - quietSince >= input.graceMs) return { finish: true, unknown: unsettled };
  return { finish: false };
}

type StopReason = 'time' | 'cancelled' | undefined;

/** Walks every unfinished segment concurrently; stops them all on a cancel, a lost lease or the time limit. */
async function walk(
  deps: DispatchDeps,
  item: IncidentRecord,
  options: DispatchRunOptions,
  progress: { pages: number; queued: number },
): Promise<{ stop: StopReason }> {
  const state: { stop: StopReason; failed: boolean } = { stop: undefined, failed: false };
  const segments = Array.from({ length: item.segments }, (_, segment) => segment).filter(
    (segment) => !item.cursors[String(segment)]?.done,
  );
  const walkSegment = async (segment: number) => {
    let cursor: SegmentCursor = item.cursors[String(segment)] ?? { done: false, page: 0 };
    while (!cursor.done && state.stop === undefined && !state.failed) {
      if (deps.clock.now().getTime() >= options.stopAtMs) {
        state.stop = 'time';
        break;
      }
      const page = await readPage(deps, item, segment, cursor);
      const messages = packRecipients(page.recipients, {
        incidentId: item.id,
        round: item.round,
        packSize: Math.min(MAX_RECIPIENTS_PER_MESSAGE, deps.config.sesMaxSendRate),
        origin: `r${item.round}s${segment}p${cursor.page}`,
      });
      // Queue first, then save the cursor: a crash in between re-queues this page on the next run, which
      // the notifiers' per-recipient claims turn into no second mail; the reverse order would lose the page.
      await deps.notifications.enqueue(messages);
      const saved = await deps.incidents.savePage(item.id, options.owner, {
        round: item.round,
        segment,
        previousPage: cursor.page,
        cursor: page.next,
        targeted: page.targeted,
        queued: page.recipients.length,
        skipped: page.skipped,
        effects: page.effects,
      });
      cursor = page.next;
      progress.pages += 1;
      progress.queued += page.recipients.length;
      if (saved.status === 'cancelled' || saved.remindersCancelled) state.stop = 'cancelled';
    }
  };
  const results = await Promise.allSettled(
    segments.map((segment) =>
      walkSegment(segment).catch((error: unknown) => {
        // The other segments stop after their current page rather than walk on without a lease.
        state.failed = true;
        throw error;
      }),
    ),
  );
  const failure = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failure) throw failure.reason;
  return { stop: state.stop };
}

interface Page {
  readonly recipients: IncidentRecipient[];
  readonly targeted: number;
  readonly skipped: number;
  readonly next: SegmentCursor;
  /** Listed audiences: accounts whose actions this page applied (or found applied by this same entry). */
  readonly effects?: number;
}

async function readPage(
  deps: DispatchDeps,
  item: IncidentRecord,
  segment: number,
  cursor: SegmentCursor,
): Promise<Page> {
  if (item.scope.type === 'all') {
    const { members, lastKey } = await deps.audience.scanPage({
      segment,
      totalSegments: item.segments,
      startKey: cursor.lastKey,
      limit: deps.config.campaigns.pageSize,
    });
    const eligible = members.filter((member) => isEligible(member, item));
    const { recipients, invalid } = toRecipients(eligible);
    const next: SegmentCursor = lastKey
      ? { done: false, page: cursor.page + 1, lastKey }
      : { done: true, page: cursor.page + 1 };
    return { recipients, targeted: eligible.length, skipped: invalid, next };
  }
  if (item.scope.type === 'list') return readListedPage(deps, item, cursor);
  const list = item.scope.type === 'users' ? item.scope.userIds : item.scope.emails;
  const offset = cursor.offset ?? 0;
  const entries = list.slice(offset, offset + LIST_PAGE_SIZE);
  const slice =
    item.scope.type === 'users'
      ? { type: 'users' as const, userIds: entries }
      : { type: 'emails' as const, emails: entries };
  const accounts = entries.length === 0 ? [] : await resolveScopedAccounts(deps, slice);
  const eligible = accounts.filter((account) => isEligible(account, item));
  const { recipients, invalid } = toRecipients(eligible);
  const nextOffset = offset + entries.length;
  const next: SegmentCursor =
    nextOffset >= list.length
      ? { done: true, page: cursor.page + 1, offset: nextOffset }
      : { done: false, page: cursor.page + 1, offset: nextOffset };
  // The notification counts every listed entry (unknown ones as skipped); a reminder only those it re-mails.
  if (item.round === 0)
    return { recipients, targeted: entries.length, skipped: entries.length - recipients.length, next };
  return { recipients, targeted: recipients.length + invalid, skipped: invalid, next };
}

/** Runs `task` for every index below `count`, at most `limit` at once. */
async function forEachIndex(count: number, limit: number, task: (index: number) => Promise<void>) {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const index = next;
      next += 1;
      await task(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, worker));
}

/**
 * One page of a listed audience: one stored part (<= 500 entries), resolved in batches. In the notification
 * round every known account is claimed by its first entry together with its actions, in one transaction
 * per account, before any of the page's mail is queued: effects before mail, exactly once per account, and
 * a page redone after a crash finds its own claims (`already_ours`) instead of applying or counting twice.
 * Counts: every entry is targeted; unknown entries and duplicates are skipped.
 */
async function readListedPage(
  deps: DispatchDeps,
  item: IncidentRecord,
  cursor: SegmentCursor,
): Promise<Page> {
  const listed = deps.listedAudience;
  const resolveExternalIds = deps.audience.resolveExternalIds?.bind(deps.audience);
  if (!listed || !deps.events || !resolveExternalIds)
    throw new Error('The dispatcher needs the listed-audience ports for a scope "list" incident.');
  const read = await listed.readPart(item.id, cursor.lastKey);
  const next: SegmentCursor = read.lastKey
    ? { done: false, page: cursor.page + 1, lastKey: read.lastKey }
    : { done: true, page: cursor.page + 1 };
  if (!read.part) return { recipients: [], targeted: 0, skipped: 0, effects: 0, next };
  const { part } = read;
  const members = await resolveEntries(
    {
      audience: {
        getUsers: (ids) => deps.audience.getUsers(ids),
        resolveEmails: (emails) => deps.audience.resolveEmails(emails),
        resolveExternalIds,
      },
    },
    part.entries,
  );
  const firsts: AudienceMember[] = [];
  let effects = 0;
  if (item.round === 0) {
    const { forcePasswordReset, revokeSessions } = item.actions;
    const now = deps.clock.now();
    const events = deps.events;
    await forEachIndex(part.entries.length, LISTED_EFFECT_CONCURRENCY, async (index) => {
      const member = members[index];
      if (!member) return;
      // SSO accounts have no password with us: they get the revocation only.
      const accountEffects = {
        forcePasswordReset: forcePasswordReset && member.authMethod === 'password',
        revokeSessions,
      };
      const acts = accountEffects.forcePasswordReset || accountEffects.revokeSessions;
      const outcome = await listed.claimAndApply({
        incidentId: item.id,
        userId: member.userId,
        ref: entryRef(part.sk, index),
        effects: accountEffects,
        event: acts
          ? events.eventItem(member.userId, {
              type: 'incident_action',
              at: now.toISOString(),
              ip: null,
              userAgent: null,
              detail: {
                incidentId: item.id,
                forcedPasswordReset: accountEffects.forcePasswordReset,
                revokedSessions: revokeSessions,
              },
            })
          : undefined,
        now,
      });
      if (outcome === 'claimed' || outcome === 'already_ours') {
        firsts.push(member);
        if (acts) effects += 1;
      }
    });
  } else {
    // A reminder re-mails each account once, through the entry that claimed it in the notification round.
    const claims = await listed.getClaims(
      item.id,
      members.flatMap((member) => (member ? [member.userId] : [])),
    );
    members.forEach((member, index) => {
      if (member && claims.get(member.userId) === entryRef(part.sk, index)) firsts.push(member);
    });
  }
  const eligible = firsts.filter((member) => isEligible(member, item));
  const { recipients, invalid } = toRecipients(eligible);
  if (item.round === 0)
    return {
      recipients,
      targeted: part.entries.length,
      skipped: part.entries.length - recipients.length,
      effects,
      next,
    };
  return { recipients, targeted: recipients.length + invalid, skipped: invalid, effects: 0, next };
}

/**
 * Who gets the mail of this round. The notification: every account that existed when the incident was
 * declared (password and SSO alike, each with its own content). A reminder: password accounts that still
 * have to reset, i.e. whose password predates a tenant-wide incident, or that still carry the flag of a
 * scoped one.
 */
export function isEligible(
  member: AudienceMember,
  incident: Pick<IncidentRecord, 'round' | 'scope' | 'createdAt' | 'createdAtMs'>,
) {
  // Accounts created after the incident were not affected (an account without a creation time was).
  if (
    incident.scope.type === 'all' &&
    member.createdAt !== undefined &&
    member.createdAt >= incident.createdAt
  ) {
    return false;
  }
  if (incident.round === 0) return true;
  if (member.authMethod !== 'password') return false;
  if (incident.scope.type === 'all') return (member.passwordSetAt ?? 0) < incident.createdAtMs;
  return member.mustResetPassword === true;
}

/** Accounts whose stored address the message schema would refuse are skipped, not sent to the DLQ. */
function toRecipients(members: readonly AudienceMember[]): {
  recipients: IncidentRecipient[];
  invalid: number;
} {
  const recipients: IncidentRecipient[] = [];
  let invalid = 0;
  for (const member of members) {
    const parsed = incidentRecipientSchema.safeParse({
      userId: member.userId,
      email: member.email,
      audience: member.authMethod === 'sso' ? 'sso' : 'password',
    });
    if (parsed.success) recipients.push(parsed.data);
    else invalid += 1;
  }
  return { recipients, invalid };
}

/**
 * Packs recipients into queue messages of at most `packSize`, one audience per message, so the notifier
 * sends each message as one SES bulk call with one template.
 */
export function packRecipients(
  recipients: readonly IncidentRecipient[],
  input: { incidentId: string; round: number; packSize: number; origin: string },
): IncidentBatchMessage[] {
  const size = Math.max(1, Math.min(MAX_RECIPIENTS_PER_MESSAGE, input.packSize));
  const messages: IncidentBatchMessage[] = [];
  for (const audience of ['password', 'sso'] as const) {
    const group = recipients.filter((recipient) => recipient.audience === audience);
    for (let start = 0; start < group.length; start += size) {
      messages.push({
        version: 1,
        type: 'incident_batch',
        incidentId: input.incidentId,
        round: input.round,
        origin: `${input.origin}${audience === 'password' ? 'p' : 's'}${start / size}`.slice(0, 256),
        recipients: group.slice(start, start + size),
      });
    }
  }
  return messages;
}
