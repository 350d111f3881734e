import { loadConfig } from '../../shared/config.js';
import { decideLink, decideSignIn, type FederatedIdentity, safeReturnTo } from '../../shared/domain/sso.js';
import { unitTestEnv } from '../support/unit-config.js';

const identity = (overrides: Partial<FederatedIdentity> = {}): FederatedIdentity => ({
  issuer: 'https://idp.example',
  subject: 'sub-1',
  email: 'ada@example.com',
  emailVerified: true,
  ...overrides,
});

describe('decideSignIn (the linking rules)', () => {
  it('signs in the linked account whatever the email says now', () => {
    expect(
      decideSignIn(identity({ email: 'other@example.com' }), {
        linkedUserId: 'u1',
        accountWithEmail: { userId: 'u2', authMethod: 'sso' },
        jitCreate: false,
      }),
    ).toEqual({ kind: 'sign_in', userId: 'u1' });
  });

  it('links a verified email to an existing SSO account on first sign-in', () => {
    expect(
      decideSignIn(identity(), {
        linkedUserId: undefined,
        accountWithEmail: { userId: 'u2', authMethod: 'sso' },
        jitCreate: false,
      }),
    ).toEqual({ kind: 'link_and_sign_in', userId: 'u2' });
  });

  it('never takes over a password account by its email, even with just-in-time creation on', () => {
    expect(
      decideSignIn(identity(), {
        linkedUserId: undefined,
        accountWithEmail: { userId: 'u3', authMethod: 'password' },
        jitCreate: true,
      }),
    ).toEqual({ kind: 'refuse', reason: 'not_linked' });
  });

  it('never links or creates with an unverified or missing email', () => {
    for (const unverified of [identity({ emailVerified: false }), identity({ email: undefined })]) {
      expect(
        decideSignIn(unverified, {
          linkedUserId: undefined,
          accountWithEmail: { userId: 'u2', authMethod: 'sso' },
          jitCreate: true,
        }),
      ).toEqual({ kind: 'refuse', reason: 'not_linked' });
      expect(
        decideSignIn(unverified, { linkedUserId: undefined, accountWithEmail: undefined, jitCreate: true }),
      ).toEqual({ kind: 'refuse', reason: 'not_linked' });
    }
  });

  it('creates an account only when the provider allows just-in-time creation', () => {
    expect(
      decideSignIn(identity(), { linkedUserId: undefined, accountWithEmail: undefined, jitCreate: true }),
    ).toEqual({
      kind: 'create',
      email: 'ada@example.com',
    });
    expect(
      decideSignIn(identity(), { linkedUserId: undefined, accountWithEmail: undefined, jitCreate: false }),
    ).toEqual({ kind: 'refuse', reason: 'not_linked' });
  });
});

describe('decideLink (from /security while signed in)', () => {
  it('links a free identity, accepts a repeat, and refuses one owned by another account', () => {
    expect(decideLink(undefined, 'u1')).toBe('link');
    expect(decideLink('u1', 'u1')).toBe('already_done');
    expect(decideLink('u2', 'u1')).toBe('refuse');
  });
});

describe('safeReturnTo', () => {
  it.each([
    [undefined, '/security'],
    ['', '/security'],
    ['/security/report', '/security/report'],
    ['/device?user_code=ABCD-EFGH', '/device?user_code=ABCD-EFGH'],
    ['//evil.example/x', '/security'],
    ['/\\evil.example', '/security'],
    ['https://evil.example/', '/security'],
    ['/ok\nLocation: x', '/security'],
    [`/${'a'.repeat(600)}`, '/security'],
  ])('%j -> %j', (input, expected) => {
    expect(safeReturnTo(input)).toBe(expected);
  });
});

describe('SSO_PROVIDERS configuration', () => {
  const provider = {
    id: 'google',
    displayName: 'Google',
    issuer: 'https://accounts.google.com',
    clientId: 'client',
    clientSecretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:google-AbCdEf',
  };

  it('parses providers, defaulting jitCreate to false and the callback origin to PUBLIC_APP_URL', () => {
    const config = loadConfig({ ...unitTestEnv, SSO_PROVIDERS: JSON.stringify([provider]) });
    expect(config.sso.providers).toEqual([{ ...provider, jitCreate: false, scopes: 'openid email profile' }]);
    expect(config.sso.apiBaseUrl).toBe(config.publicAppUrl);
  });

  it.each([
    ['not json', 'SSO_PROVIDERS'],
    [
      JSON.stringify([{ ...provider, clientSecretArn: undefined }]),
      'Exactly one of clientSecret or clientSecretArn',
    ],
    [JSON.stringify([{ ...provider, issuer: 'http://idp.example.com' }]), 'https'],
    [JSON.stringify([provider, provider]), 'unique'],
    [JSON.stringify([{ ...provider, id: 'Google' }]), 'SSO_PROVIDERS.0.id'],
  ])('refuses %s naming the problem', (value, message) => {
    expect(() => loadConfig({ ...unitTestEnv, SSO_PROVIDERS: value })).toThrow(message);
  });

  it('allows plain http only for a loopback issuer (the local IdP)', () => {
    const local = {
      ...provider,
      issuer: 'http://127.0.0.1:8006',
      clientSecretArn: undefined,
      clientSecret: 's',
    };
    expect(loadConfig({ ...unitTestEnv, SSO_PROVIDERS: JSON.stringify([local]) }).sso.providers).toHaveLength(
      1,
    );
  });
});
