import { endpointUrlProblem, forbiddenAddressReason } from '../../shared/domain/receiver-address.js';
import {
  CREDENTIAL_CHANGE,
  CREDENTIAL_CHANGE_REQUIRED,
  eventsDelivered,
  SESSION_REVOKED,
  signalsFor,
  TENANT_EVENTS_ID,
} from '../../shared/domain/security-signals.js';
import { retryDelaySeconds } from '../../shared/use-cases/deliver-signals.js';

const aws = { allowLoopback: false };
const local = { allowLoopback: true };

describe('receiver addresses (SSRF guard)', () => {
  it.each([
    '169.254.169.254',
    '169.254.170.2',
    'fd00:ec2::254',
    'fe80::1',
    '10.1.2.3',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.1.1',
    '100.64.0.1',
    '127.0.0.1',
    '::1',
    '::ffff:169.254.169.254',
    '::ffff:10.0.0.1',
    'fc00::1',
    '0.0.0.0',
    '224.0.0.1',
    '64:ff9b::a9fe:a9fe',
  ])('refuses %s on AWS settings', (address) => {
    expect(forbiddenAddressReason(address, aws)).toBeDefined();
  });

  it.each(['93.184.216.34', '2606:4700::1111', '172.32.0.1', '8.8.8.8'])('allows public %s', (address) => {
    expect(forbiddenAddressReason(address, aws)).toBeUndefined();
  });

  it('allows loopback only with the local flag, and never the metadata address', () => {
    expect(forbiddenAddressReason('127.0.0.1', local)).toBeUndefined();
    expect(forbiddenAddressReason('169.254.169.254', local)).toBeDefined();
    expect(forbiddenAddressReason('10.0.0.1', local)).toBeDefined();
  });

  it('accepts https URLs and loopback http only when allowed', () => {
    expect(endpointUrlProblem('https://receiver.example.com/events', aws)).toBeUndefined();
    expect(endpointUrlProblem('http://receiver.example.com/events', aws)).toBe('must use https');
    expect(endpointUrlProblem('http://127.0.0.1:9/events', aws)).toBe('must use https');
    expect(endpointUrlProblem('http://127.0.0.1:9/events', local)).toBeUndefined();
    expect(endpointUrlProblem('http://169.254.169.254/latest/meta-data', local)).toBe('must use https');
    expect(endpointUrlProblem('https://169.254.169.254/', local)).toMatch(/metadata/);
    expect(endpointUrlProblem('https://[::ffff:a9fe:a9fe]/', aws)).toBeDefined();
    expect(endpointUrlProblem('https://user:pw@receiver.example.com/', aws)).toBeDefined();
    expect(endpointUrlProblem('ftp://receiver.example.com/', aws)).toBeDefined();
    expect(endpointUrlProblem('not a url', aws)).toBeDefined();
  });
});

describe('security events to signals', () => {
  const base = { userId: 'u1', at: '2026-12-01T00:00:00.000Z', detail: {} };

  it('maps each contract event to its CAEP / RISC event with a reason_admin', () => {
    const cases: [string, Record<string, unknown>, string[]][] = [
      ['signed_out_all_devices', {}, [SESSION_REVOKED]],
      ['logout', {}, [SESSION_REVOKED]],
      ['refresh_token_reused', {}, [SESSION_REVOKED]],
      ['password_reset_completed', { signedOutAllDevices: false }, [CREDENTIAL_CHANGE]],
      ['password_reset_completed', { signedOutAllDevices: true }, [CREDENTIAL_CHANGE, SESSION_REVOKED]],
      ['mfa_enabled', {}, [CREDENTIAL_CHANGE]],
      ['mfa_disabled', {}, [CREDENTIAL_CHANGE]],
      ['password_reset_forced', { revokedSessions: false }, [CREDENTIAL_CHANGE_REQUIRED]],
      [
        'incident_action',
        { forcedPasswordReset: true, revokedSessions: true },
        [CREDENTIAL_CHANGE_REQUIRED, SESSION_REVOKED],
      ],
      ['login_succeeded', {}, []],
    ];
    for (const [type, detail, expected] of cases) {
      const signals = signalsFor({ ...base, type, detail });
      expect([type, signals.map((s) => s.eventType)]).toEqual([type, expected]);
      for (const signal of signals)
        expect(signal.payload['reason_admin']).toEqual({ en: expect.stringMatching(/\S/) });
    }
  });

  it('marks events of the tenant pseudo-user as tenant-wide', () => {
    const [signal] = signalsFor({
      ...base,
      userId: TENANT_EVENTS_ID,
      type: 'incident_action',
      detail: { revokedSessions: true },
    });
    expect(signal?.tenantWide).toBe(true);
  });

  it('delivers the intersection of requested and supported events', () => {
    expect(eventsDelivered([SESSION_REVOKED, 'urn:example:other'])).toEqual([SESSION_REVOKED]);
    expect(eventsDelivered([])).toEqual([]);
    expect(eventsDelivered(undefined)).toHaveLength(3);
  });

  it('backs off exponentially up to the maximum', () => {
    expect([1, 2, 3, 4, 10].map((n) => retryDelaySeconds(n, 5, 60))).toEqual([5, 10, 20, 40, 60]);
  });
});
