import type { OAuthClient } from '../domain/oauth.js';

/** The OAuth client registry. */
export interface OAuthClientsStore {
  create(client: OAuthClient): Promise<void>;
  get(clientId: string): Promise<OAuthClient | undefined>;
  list(): Promise<OAuthClient[]>;
  /** Returns whether there was a client to delete. */
  delete(clientId: string): Promise<boolean>;
  /** Replaces a confidential client's secret hash and bumps its credential version; undefined if no such client. */
  rotateSecret(clientId: string, secretHash: string): Promise<OAuthClient | undefined>;
}
