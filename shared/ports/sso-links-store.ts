import type { FederatedIdentity } from '../domain/sso.js';

export interface SsoLink {
  readonly providerId: string;
  readonly linkedAt: string;
}

export type LinkOutcome =
  | 'linked'
  /** This iss+sub is linked to an account already (maybe another one). */
  | 'identity_taken'
  /** The account already has a link to this provider. */
  | 'provider_taken'
  /** The account is gone, or (with requireSsoAccount) is not an SSO account any more. */
  | 'account_mismatch';

/**
 * Links between provider identities and accounts: an identity (iss+sub) is linked to one account, and an account has
 * at most one identity per provider.
 */
export interface SsoLinksStore {
  findUserId(identity: Pick<FederatedIdentity, 'issuer' | 'subject'>): Promise<string | undefined>;
  link(
    userId: string,
    providerId: string,
    identity: FederatedIdentity,
    now: Date,
    options: {
      requireSsoAccount: boolean;
    },
  ): Promise<LinkOutcome>;
  listForUser(userId: string): Promise<SsoLink[]>;
}
