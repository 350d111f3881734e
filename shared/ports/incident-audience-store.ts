export interface AudiencePart {
  readonly sk: string;
  readonly entries: readonly string[];
}

export type ClaimOutcome = 'claimed' | 'already_ours' | 'duplicate' | 'gone';

export interface AccountEffects {
  readonly forcePasswordReset: boolean;
  readonly revokeSessions: boolean;
}

/** An account named by an entry of a listed audience, with what protecting it means. */
export interface AccountClaim {
  readonly incidentId: string;
  readonly userId: string;
  readonly ref: string;
  readonly effects: AccountEffects | undefined;
  readonly event: Record<string, unknown> | undefined;
  readonly now: Date;
}

/**
 * The listed audience of an incident (`scope: {type: "list"}`): its received chunks, and the claim of each account by
 * the first entry that named it (docs/adr/0004-incidents-and-campaigns.md).
 */
export interface IncidentAudienceStore {
  /**
   * Stores one chunk. Returns the incident's total after it; `replayed` when this chunk key was stored
   * before (nothing is added twice). Throws NotFoundError for an unknown incident and InvalidRequestError
   * when it no longer collects.
   */
  addChunk(input: {
    incidentId: string;
    chunkKey: string;
    entries: readonly string[];
    nowMs: number;
    readTotal: () => Promise<
      | {
          status: string;
          total: number;
        }
      | undefined
    >;
  }): Promise<{
    received: number;
    total: number;
    replayed: boolean;
  }>;
  /** The next part after `lastKey` (arrival order); `lastKey` undefined in the result means none follows. */
  readPart(
    incidentId: string,
    lastKey: Readonly<Record<string, unknown>> | undefined,
  ): Promise<{
    part: AudiencePart | undefined;
    lastKey: Record<string, unknown> | undefined;
  }>;
  /**
   * Claims `userId` for the entry `ref` and applies the effects with it, in one transaction (one DynamoDB
   * request per account). `already_ours`: this entry claimed it before (a resumed page), effects applied
   * then; `duplicate`: an earlier entry did; `gone`: the account was deleted since it was resolved.
   */
  claimAndApply(input: AccountClaim): Promise<ClaimOutcome>;
  /** userId -> the entry that claimed it, for the accounts claimed so far. */
  getClaims(incidentId: string, userIds: readonly string[]): Promise<Map<string, string>>;
  /** Any items of the records table by key (used for the report's delivery outcomes). */
  batchGet(
    keys: readonly Record<string, string>[],
    attributes: readonly string[],
  ): Promise<Record<string, unknown>[]>;
}
