import type { AuthMethod } from '../domain/user.js';

/** What a campaign knows of an account: never hashes or secrets. */
export interface AudienceMember {
  readonly userId: string;
  readonly email: string;
  readonly authMethod: AuthMethod;
  readonly passwordSetAt?: number;
  readonly mustResetPassword?: boolean;
  readonly createdAt: string;
}

/** Read-only view of the accounts for campaign walks: every account, or the accounts of a scoped list. */
export interface CampaignAudience {
  /** One page of one Scan segment; `lastKey` undefined means the segment is finished. */
  scanPage(input: {
    segment: number;
    totalSegments: number;
    startKey: Readonly<Record<string, unknown>> | undefined;
    limit: number;
  }): Promise<{
    members: AudienceMember[];
    lastKey: Record<string, unknown> | undefined;
  }>;
  /** Accounts by id; unknown ids are simply absent from the map. */
  getUsers(userIds: readonly string[]): Promise<Map<string, AudienceMember>>;
  /** Normalised email -> userId through the uniqueness guards; unknown emails are absent. */
  resolveEmails(emails: readonly string[]): Promise<Map<string, string>>;
  /**
   * External id (from a user import) -> userId through the identifiers table's `externalId#<externalId>` guards;
   * unknown ids are absent.
   */
  resolveExternalIds(externalIds: readonly string[]): Promise<Map<string, string>>;
}
