import type {
  IncidentRecord,
  IncidentStatus,
  NewIncident,
  SegmentCursor,
  SettlementView,
} from '../domain/incident.js';

/** One page of a campaign walk, as `savePage` records it. */
export interface WalkPage {
  readonly round: number;
  readonly segment: number;
  readonly previousPage: number;
  readonly cursor: SegmentCursor;
  readonly targeted: number;
  readonly queued: number;
  readonly skipped: number;
  /** Accounts of a listed audience whose actions this page applied. */
  readonly effects?: number;
}

/** Incidents and the state of their notification campaigns (docs/adr/0004-incidents-and-campaigns.md). */
export interface IncidentsStore {
  shardKey(
    id: string,
    shard: number,
  ): {
    pk: string;
    sk: string;
  };
  create(incident: NewIncident): Promise<void>;
  get(id: string): Promise<IncidentRecord | undefined>;
  /** What a notifier needs to write the mail; immutable after creation, so callers may cache it. */
  getContent(id: string): Promise<Pick<IncidentRecord, 'id' | 'title' | 'createdAt' | 'actions'> | undefined>;
  /** One page, newest first, after the incident `afterId` (exclusive); `lastId` names the next page's start. */
  listNewestFirst(
    limit: number,
    afterId?: string,
  ): Promise<{
    items: IncidentRecord[];
    lastId: string | undefined;
  }>;
  /** Total of a listed audience so far, read strongly (the answer to an audience chunk). */
  audienceTotal(id: string): Promise<
    | {
        status: IncidentStatus;
        total: number;
      }
    | undefined
  >;
  /**
   * Ends the upload of a listed audience: the incident becomes due at once (effects, then mail). Returns
   * undefined when it is not collecting (closed twice, cancelled): the caller reports the current state.
   */
  closeAudience(id: string, nowMs: number): Promise<IncidentRecord | undefined>;
  /** All notifier counters of an incident: one Query over its few shard items. */
  settlement(id: string): Promise<SettlementView>;
  /**
   * Ids with dispatcher work due, oldest due first, through the sparse due index: the reads grow with the
   * incidents that have work, never with the incidents ever declared. The index is eventually consistent;
   * an incident that became due a moment ago is found by the next run, and `takeLease` re-checks `dueAt` on
   * the item itself, so a stale index entry never starts work that is not due.
   */
  findDue(nowMs: number): Promise<string[]>;
  /**
   * One conditional update makes this dispatcher the only one working on the incident until `untilMs` (or
   * until it releases it): two dispatchers never walk the same incident. Returns the whole item, or
   * undefined when it is not due any more or another dispatcher holds a live lease.
   */
  takeLease(id: string, owner: string, nowMs: number, untilMs: number): Promise<IncidentRecord | undefined>;
  releaseLease(id: string, owner: string): Promise<void>;
  /**
   * Starts the walk of `round` (0: the notification, n: the n-th reminder) from fresh cursors. Round 0 also
   * turns a scheduled incident into a running one.
   */
  startRound(
    item: IncidentRecord,
    owner: string,
    input: {
      segments: number;
      nowMs: number;
    },
  ): Promise<IncidentRecord>;
  /**
   * Saves one page of the walk: the segment's new cursor and what the page added to the counters, in one
   * update guarded by the lease. Idempotent on `page`, so an SDK retry of a save that did land is recognised
   * instead of counting the page twice. Returns the item as it is now (the caller stops on a cancel).
   */
  savePage(id: string, owner: string, input: WalkPage): Promise<IncidentRecord>;
  finishWalk(id: string, owner: string, round: number, nowMs: number): Promise<IncidentRecord>;
  /**
   * Closes a settled round. `unknown` recipients (claimed, never settled: a notifier died between SES and its
   * settle) are counted as failed so that targeted = sent + skipped + failed holds exactly. Then either the
   * next reminder is scheduled or the campaign is done.
   */
  finishRound(
    item: IncidentRecord,
    owner: string,
    input: {
      nowMs: number;
      unknown: number;
      nextRoundAt: number | undefined;
    },
  ): Promise<IncidentRecord>;
  /**
   * Cancel: a scheduled or running incident becomes cancelled; a completed one keeps its status and loses its
   * pending reminders. Either way the shards get the flag that every notifier claim checks, in the same
   * transaction, so no mail of this incident is sent after this returns. Idempotent.
   */
  cancel(id: string, now: Date): Promise<IncidentRecord | undefined>;
}
