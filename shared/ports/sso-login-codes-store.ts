export interface SsoLoginCodeRecord {
  readonly userId: string;
  readonly providerId: string;
  readonly deviceName: string | null;
  /** Epoch seconds. */
  readonly expiresAt: number;
}

/** One-time codes that turn a finished SSO callback into tokens, stored only as hashes. */
export interface SsoLoginCodesStore {
  create(codeHash: string, record: SsoLoginCodeRecord): Promise<void>;
  /** Single use under concurrency: one conditional delete that also refuses an expired code. */
  consume(codeHash: string, nowMs: number): Promise<SsoLoginCodeRecord | undefined>;
}
