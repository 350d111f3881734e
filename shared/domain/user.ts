export type AuthMethod = 'password' | 'sso';

/** The stored account. Only the stores read and write this shape; clients see PublicUser. */
export interface UserRecord {
  readonly userId: string;
  readonly email: string;
  readonly username?: string;
  /** The account's id in the system it was imported from; unique (guarded like email and username). */
  readonly externalId?: string;
  readonly authMethod: AuthMethod;
  /**
   * argon2id PHC string; absent for SSO accounts. Imported accounts may hold a foreign slow hash or a
   * wrapped digest (shared/crypto/imported-hashes.ts) until their first sign-in re-hashes it.
   */
  readonly passwordHash?: string;
  /** Epoch ms of the last password set; tenant-wide forced resets compare against it. */
  readonly passwordSetAt?: number;
  /** Bumped by revoke-all, resets with sign-out and incidents; tokens carry the value they were issued at. */
  readonly tokenVersion: number;
  /** Set by an admin or a scoped incident; cleared by a completed reset. */
  readonly mustResetPassword: boolean;
  /** TOTP is on: logins and resets need a code (or an unused recovery code). */
  readonly mfaEnabled?: boolean;
  /** Sealed (KMS / local AES-GCM) TOTP secret while enabled. */
  readonly totpSecret?: string;
  /** Sealed secret from setup, waiting for its first code in confirm. */
  readonly totpPendingSecret?: string;
  /** Highest TOTP time step already accepted: each step is usable once. */
  readonly totpLastStep?: number;
  /** SHA-256 hashes of the unused recovery codes. */
  readonly recoveryCodeHashes?: readonly string[];
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface PublicUser {
  readonly id: string;
  readonly email: string;
  readonly username: string | null;
  readonly authMethod: AuthMethod;
  readonly mfaEnabled: boolean;
  readonly createdAt: string;
}

export function toPublicUser(user: UserRecord): PublicUser {
  return {
    id: user.userId,
    email: user.email,
    username: user.username ?? null,
    authMethod: user.authMethod,
    mfaEnabled: user.mfaEnabled === true,
    createdAt: user.createdAt,
  };
}
