import { randomBytes } from 'node:crypto';

/** An incident, its notification campaign's rounds and the counter maths; stored by shared/stores/incidents-store.ts. */
/** collecting: a listed audience is being uploaded; nothing happens to any account until it is closed. */
export const INCIDENT_STATUSES = ['collecting', 'scheduled', 'running', 'completed', 'cancelled'] as const;
export type IncidentStatus = (typeof INCIDENT_STATUSES)[number];

export type IncidentScope =
  | { readonly type: 'all' }
  | { readonly type: 'users'; readonly userIds: readonly string[] }
  | { readonly type: 'emails'; readonly emails: readonly string[] }
  /** Entries uploaded in chunks through the audience API (incident-audience-store.ts). */
  | { readonly type: 'list' };

export interface IncidentActions {
  readonly forcePasswordReset: boolean;
  readonly revokeSessions: boolean;
}

export interface IncidentNotify {
  readonly enabled: boolean;
  readonly sendAt?: string;
  readonly remindAfterHours?: number;
}

/**
 * waiting: the round's time has not come (or the dispatcher has not started it yet);
 * walking: segments are being walked and recipients queued;
 * settling: every recipient is queued, waiting for the notifiers to settle them;
 * done: nothing left to do (no reminder due).
 */
export type CampaignPhase = 'waiting' | 'walking' | 'settling' | 'done';

/** Where one segment of the walk stands: `page` counts saved pages, which makes a save idempotent. */
export interface SegmentCursor {
  readonly done: boolean;
  readonly page: number;
  /** Scan position (LastEvaluatedKey) of a `scope: all` walk. */
  readonly lastKey?: Readonly<Record<string, unknown>>;
  /** Position in the id/email list of a scoped walk. */
  readonly offset?: number;
}

export interface RoundTimes {
  readonly startedAt?: number;
  readonly walkDoneAt?: number;
  readonly completedAt?: number;
}

export interface IncidentRecord {
  readonly id: string;
  readonly title: string;
  readonly status: IncidentStatus;
  readonly createdAt: string;
  readonly createdAtMs: number;
  /** null when the incident sends no notification. */
  readonly sendAt: string | null;
  readonly scope: IncidentScope;
  readonly actions: IncidentActions;
  readonly notify: IncidentNotify;
  /** Reminder rounds planned at creation (0 without reminders); config changes never alter a running incident. */
  readonly maxReminders: number;
  readonly round: number;
  readonly phase: CampaignPhase;
  /** Epoch ms from which the dispatcher has work on this incident; absent when it has none. */
  readonly dueAt?: number;
  readonly segments: number;
  readonly cursors: Readonly<Record<string, SegmentCursor>>;
  readonly rounds: Readonly<Record<string, RoundTimes>>;
  readonly completedAt?: string;
  readonly cancelledAt?: string;
  readonly remindersCancelled?: boolean;
  readonly leaseOwner?: string;
  readonly leaseUntil?: number;
  /** Listed audience: entries received (duplicates included) and chunks stored. */
  readonly audienceTotal?: number;
  readonly audienceChunks?: number;
  /** Dispatcher-side counters, per round: `c<round>_targeted`, `_queued`, `_skipped`, `_failed`. */
  readonly [counter: `c${number}_${string}`]: number | undefined;
}

export type NewIncident = Omit<
  IncidentRecord,
  | 'leaseOwner'
  | 'leaseUntil'
  | 'completedAt'
  | 'cancelledAt'
  | 'remindersCancelled'
  | 'audienceTotal'
  | 'audienceChunks'
>;

export interface Counts {
  readonly targeted: number;
  readonly queued: number;
  readonly sent: number;
  readonly skipped: number;
  readonly failed: number;
}

/** What the notifiers reported for one round, summed over the shards. */
export interface NotifierTotals {
  readonly sent: number;
  readonly failed: number;
  readonly skipped: number;
  readonly claimed: number;
  readonly released: number;
}

export interface SettlementView {
  readonly byRound: ReadonlyMap<number, NotifierTotals>;
  /** Latest claim or settle of any notifier (epoch ms), 0 when none yet. */
  readonly lastActivityAt: number;
}

export const COUNTER_SHARDS = 8;

const ID_PATTERN = /^inc_[0-9a-z]{10}[0-9a-f]{8}$/;

/**
 * `inc_` + the creation time in base36 ms, zero-padded so ids sort like their times (a Query with
 * ScanIndexForward=false lists newest first), + 32 random bits so two incidents in one ms never collide.
 */
export function newIncidentId(nowMs: number): string {
  return `inc_${nowMs.toString(36).padStart(10, '0')}${randomBytes(4).toString('hex')}`;
}

export const isIncidentId = (value: string): boolean => ID_PATTERN.test(value);

export const counterName = (round: number, field: string): `c${number}_${string}` => `c${round}_${field}`;

function dispatcherCounts(item: IncidentRecord, round: number) {
  const get = (field: string) => item[counterName(round, field)] ?? 0;
  return { targeted: get('targeted'), queued: get('queued'), skipped: get('skipped'), failed: get('failed') };
}

const EMPTY_TOTALS: NotifierTotals = { sent: 0, failed: 0, skipped: 0, claimed: 0, released: 0 };

/** Dispatcher and notifier counters together: what the admin API shows for a round. */
export function roundCounts(item: IncidentRecord, settlement: SettlementView, round: number): Counts {
  const mine = dispatcherCounts(item, round);
  const theirs = settlement.byRound.get(round) ?? EMPTY_TOTALS;
  return {
    targeted: mine.targeted,
    queued: mine.queued,
    sent: theirs.sent,
    skipped: mine.skipped + theirs.skipped,
    failed: mine.failed + theirs.failed,
  };
}

/** The dispatcher's lease on an incident ended (taken over after its deadline, or the incident changed): stop walking it. */
export class LeaseLostError extends Error {
  override readonly name = 'LeaseLostError';
}
