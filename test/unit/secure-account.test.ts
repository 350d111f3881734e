import type { SecurityEvent } from '../../shared/domain/security-event.js';
import type { UserRecord } from '../../shared/domain/user.js';
import { NotFoundError } from '../../shared/errors.js';
import { createLogOperatorAlerts, type OperatorAlert } from '../../shared/ports/operator-alerts.js';
import { type SecureAccountDeps, secureAccount } from '../../shared/use-cases/secure-account.js';

const NOW = new Date('2026-12-03T09:00:00.000Z');
const origin = { ip: '203.0.113.7', userAgent: 'Test browser' };
const principal = { userId: 'u1', sessionId: 's1', tokenVersion: 0, issuedAt: 0, expiresAt: 0 };

function user(overrides: Partial<UserRecord> = {}): UserRecord {
  return {
    userId: 'u1',
    email: 'owner@example.test',
    authMethod: 'password',
    tokenVersion: 0,
    mustResetPassword: false,
    createdAt: NOW.toISOString(),
    updatedAt: NOW.toISOString(),
    ...overrides,
  };
}

/** In-memory ports: what secureAccount did is read back from `calls`. */
function fakes(initial: UserRecord | undefined) {
  let stored = initial;
  const calls = {
    mustReset: [] as boolean[],
    bumped: 0,
    forgotten: [] as string[],
    events: [] as SecurityEvent[],
    queued: [] as { type: string; notice?: string; reason?: string }[],
    alerts: [] as OperatorAlert[],
  };
  const deps = {
    clock: { now: () => NOW },
    users: {
      get: async () => stored,
      setMustResetPassword: async (_id: string, input: { revokeSessions: boolean }) => {
        if (!stored) throw new NotFoundError();
        calls.mustReset.push(input.revokeSessions);
        stored = { ...stored, mustResetPassword: true, tokenVersion: stored.tokenVersion + 1 };
        return stored;
      },
      bumpTokenVersionReturningUser: async () => {
        if (!stored) throw new NotFoundError();
        calls.bumped += 1;
        stored = { ...stored, tokenVersion: stored.tokenVersion + 1 };
        return stored;
      },
    },
    revocation: { forget: (userId: string) => calls.forgotten.push(userId) },
    events: { record: async (_userId: string, event: SecurityEvent) => void calls.events.push(event) },
    notifications: {
      enqueue: async (messages: { type: string; notice?: string; reason?: string }[]) => {
        calls.queued.push(...messages);
      },
    },
    operatorAlerts: { raise: (alert: OperatorAlert) => calls.alerts.push(alert) },
  } as unknown as SecureAccountDeps;
  return { deps, calls, current: () => stored };
}

describe('secureAccount ("Secure my account")', () => {
  it('signs a password account out everywhere, forces a reset and mails a reset link, in one update', async () => {
    const { deps, calls, current } = fakes(user());
    await expect(secureAccount(deps, principal, origin)).resolves.toEqual({
      signedOutAllDevices: true,
      passwordResetRequired: true,
    });
    expect(calls.mustReset).toEqual([true]);
    expect(calls.bumped).toBe(0);
    expect(current()).toMatchObject({ mustResetPassword: true, tokenVersion: 1 });
    expect(calls.forgotten).toEqual(['u1']);
    expect(calls.queued).toEqual([
      expect.objectContaining({ type: 'password_reset_request', reason: 'forced' }),
    ]);
    expect(calls.events).toEqual([
      expect.objectContaining({
        type: 'account_secured',
        ip: origin.ip,
        detail: { signedOutAllDevices: true, passwordResetRequired: true },
      }),
    ]);
    expect(calls.alerts).toEqual([
      { kind: 'user_reported_compromise', userId: 'u1', authMethod: 'password', at: NOW.toISOString() },
    ]);
  });

  it('signs an SSO account out everywhere without a password reset, and sends the sign-out notice', async () => {
    const { deps, calls, current } = fakes(user({ authMethod: 'sso' }));
    await expect(secureAccount(deps, principal, origin)).resolves.toEqual({
      signedOutAllDevices: true,
      passwordResetRequired: false,
    });
    expect(calls.bumped).toBe(1);
    expect(calls.mustReset).toEqual([]);
    expect(current()).toMatchObject({ mustResetPassword: false, tokenVersion: 1 });
    expect(calls.queued).toEqual([
      expect.objectContaining({ type: 'security_notice', notice: 'signed_out_all_devices' }),
    ]);
    expect(calls.alerts).toHaveLength(1);
  });

  it('answers 404 for an account that no longer exists, and alerts nobody', async () => {
    const { deps, calls } = fakes(undefined);
    await expect(secureAccount(deps, principal, origin)).rejects.toBeInstanceOf(NotFoundError);
    expect(calls.alerts).toEqual([]);
  });
});

describe('createLogOperatorAlerts', () => {
  it('writes one embedded-metric line with ids only, which CloudWatch turns into the alarm metric', () => {
    const lines: string[] = [];
    createLogOperatorAlerts((line) => lines.push(line)).raise({
      kind: 'user_reported_compromise',
      userId: 'u1',
      authMethod: 'password',
      at: NOW.toISOString(),
    });
    expect(lines).toHaveLength(1);
    const record = JSON.parse(lines[0]!);
    expect(record).toMatchObject({
      UserReportedCompromise: 1,
      userId: 'u1',
      _aws: {
        Timestamp: NOW.getTime(),
        CloudWatchMetrics: [
          {
            Namespace: 'AccountShield',
            Dimensions: [[]],
            Metrics: [{ Name: 'UserReportedCompromise', Unit: 'Count' }],
          },
        ],
      },
    });
  });
});
