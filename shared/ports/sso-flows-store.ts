export interface SsoFlowRecord {
  readonly providerId: string;
  /** PKCE verifier: useless without the authorization code, which only the browser and provider see. */
  readonly codeVerifier: string;
  readonly nonce: string;
  /** SHA-256 of the random value in the browser's HttpOnly cookie: binds the flow to the browser that started it. */
  readonly bindingHash: string;
  readonly returnTo: string;
  readonly deviceName: string | null;
  /** Set when a signed-in owner links the provider from /security. */
  readonly linkUserId: string | null;
  /** Epoch seconds. */
  readonly expiresAt: number;
}

export type ConsumedFlow =
  | { readonly kind: 'ok'; readonly flow: SsoFlowRecord }
  | { readonly kind: 'expired' }
  /** Unknown or used state, or a browser without the matching cookie. */
  | { readonly kind: 'invalid' };

/** Pending SSO sign-ins, keyed by the SHA-256 of `state`. */
export interface SsoFlowsStore {
  create(stateHash: string, flow: SsoFlowRecord): Promise<void>;
  /**
   * Deletes the flow only when the browser's cookie matches and it has not expired: one conditional delete,
   * so a state (and the code that came with it) is usable once, by the browser that started it.
   */
  consume(stateHash: string, bindingHash: string, nowMs: number): Promise<ConsumedFlow>;
}
