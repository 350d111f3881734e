/**
 * One authorization code flow (RFC 6749 4.1 + PKCE) from /oauth2/authorize to the token exchange. Its life:
 * `pending` (validated request, waiting for the user) -> `completed` (the user signed in; a code was issued)
 * -> `redeemed` (the code was exchanged; the session it started is recorded, so a replayed code can end it).
 * The request id and the code are never stored, only their hashes.
 */
export interface AuthorizationRequestRecord {
  readonly requestHash: string;
  readonly clientId: string;
  readonly redirectUri: string;
  readonly scope: string;
  readonly state?: string;
  readonly nonce?: string;
  readonly codeChallenge: string;
  readonly status: 'pending' | 'completed' | 'redeemed';
  readonly userId?: string;
  /** The hosted-page session that approved it: the code dies with it. */
  readonly approvingSessionId?: string;
  readonly codeHash?: string;
  /** Epoch ms: codes live 60 s. */
  readonly codeExpiresAtMs?: number;
  /** When the user approved (signed in): the ID token's `auth_time`. */
  readonly completedAtMs?: number;
  /** The session the code started, ended if the code is presented again (RFC 6749 4.1.2). */
  readonly sessionId?: string;
  /** Epoch seconds: the pending request's life; TTL only cleans up. */
  readonly expiresAt: number;
}

/** The user approved a pending request (signed in) and was issued a code. */
export interface RequestCompletion {
  readonly requestHash: string;
  readonly userId: string;
  readonly approvingSessionId: string;
  readonly codeHash: string;
  readonly codeExpiresAtMs: number;
  readonly completedAtMs: number;
  readonly nowSeconds: number;
}

/** Authorization code flows (RFC 6749 4.1 + PKCE) from /oauth2/authorize to the token exchange. */
export interface AuthorizationRequestsStore {
  create(record: AuthorizationRequestRecord): Promise<void>;
  get(requestHash: string): Promise<AuthorizationRequestRecord | undefined>;
  /** pending -> completed, once, before the request expires. False when someone else completed it first. */
  complete(input: RequestCompletion): Promise<boolean>;
  /** completed -> redeemed with this code, once, within the code's life. False when it was not redeemable. */
  redeem(input: { requestHash: string; codeHash: string; nowMs: number }): Promise<boolean>;
  recordSession(requestHash: string, sessionId: string): Promise<void>;
}
