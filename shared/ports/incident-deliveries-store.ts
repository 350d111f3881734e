export type IncidentDeliveryStatus = 'sending' | 'retryable' | 'sent' | 'failed';

/** Why a claim transaction was cancelled, read from CancellationReasons by item index. */
export interface ClaimRejection {
  /** The incident (or its reminders) was cancelled: nothing of this batch may be sent. */
  readonly cancelled: boolean;
  /** This second's send budget is taken: wait for the next one. */
  readonly rateFull: boolean;
  /** Recipients (indexes into the batch) that someone else already claimed: drop them, never count them again. */
  readonly taken: readonly number[];
  /** Another transaction held one of the items, or DynamoDB throttled it: try again shortly. */
  readonly contended: boolean;
}

export interface RecipientOutcome {
  readonly userId: string;
  readonly status: Exclude<IncidentDeliveryStatus, 'sending'>;
  readonly messageId?: string;
  readonly reason?: string;
}

/** Per-recipient delivery claims of campaign mail and the notifier counters on the incident's shards. */
export interface IncidentDeliveriesStore {
  claimKey(
    incidentId: string,
    round: number,
    userId: string,
  ): {
    pk: string;
    sk: string;
  };
  /**
   * One transaction: the incident is not cancelled (its shard's flag), this second has room for every
   * recipient, and each recipient is claimed (new, or released as retryable). All or nothing, so a batch
   * never takes rate slots for mail it will not send, and a cancelled incident claims nobody.
   */
  claim(input: {
    incidentId: string;
    round: number;
    shard: number;
    userIds: readonly string[];
    now: Date;
  }): Promise<
    | {
        claimed: true;
        second: number;
      }
    | {
        claimed: false;
        rejection: ClaimRejection;
      }
  >;
  /**
   * One transaction: every claimed recipient gets its final (or retryable) status, and the shard's counters
   * move by the same amounts, so counts and claims never disagree. No conditions: only the claimer writes
   * a claim in `sending`.
   */
  settle(input: {
    incidentId: string;
    round: number;
    shard: number;
    outcomes: readonly RecipientOutcome[];
    now: Date;
  }): Promise<void>;
  /** Recipients of a cancelled incident that were never claimed: counted as skipped. */
  countSkipped(input: {
    incidentId: string;
    round: number;
    shard: number;
    count: number;
    now: Date;
  }): Promise<void>;
}
