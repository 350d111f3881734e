import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RemovalPolicy } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { DeploymentConfigError, envVarFor, loadDeploymentConfig } from '../../infra/config.js';
import { repoRoot } from '../../infra/paths.js';

const fromContext =
  (context: Record<string, unknown>) =>
  (key: string): unknown =>
    context[key];
const required = { domain: 'example.com', publicAppUrl: 'https://app.example.com/reset-base/' };

describe('GIVEN no configuration at all', () => {
  test('THEN loading fails naming domain and publicAppUrl with their context keys and variables', () => {
    expect(() => loadDeploymentConfig(fromContext({}), {})).toThrow(DeploymentConfigError);
    let message = '';
    try {
      loadDeploymentConfig(fromContext({}), {});
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('domain is required (context "domain" or env ACCOUNT_SHIELD_DOMAIN)');
    expect(message).toContain(
      'publicAppUrl is required (context "publicAppUrl" or env ACCOUNT_SHIELD_PUBLIC_APP_URL)',
    );
    expect(message).not.toContain('mailFrom');
  });
});

describe('GIVEN only the required settings', () => {
  test('THEN every other setting takes its documented default', () => {
    const config = loadDeploymentConfig(fromContext(required), {});
    expect(config).toEqual({
      stackName: 'AccountShield',
      domain: 'example.com',
      mailFrom: 'security@example.com',
      sesIdentity: 'create',
      sesSandboxRecipients: [],
      publicAppUrl: 'https://app.example.com/reset-base',
      corsAllowedOrigins: ['https://app.example.com'],
      sesMaxSendRate: 14,
      alarmEmail: undefined,
      removalPolicy: RemovalPolicy.RETAIN,
      deletionProtection: true,
      jwtIssuer: 'https://app.example.com',
      jwtAudience: 'account-shield',
      logRetention: RetentionDays.THREE_MONTHS,
      apiRateLimit: 100,
      apiBurstLimit: 200,
      signingKeyRotationDays: 30,
      breachedPasswordCheck: 'off',
      ssoProviders: [],
      apiBaseUrl: 'https://app.example.com',
    });
  });

  test('THEN the same settings are read from ACCOUNT_SHIELD_* variables when the context lacks them', () => {
    const env = {
      [envVarFor('domain')]: 'example.org',
      [envVarFor('publicAppUrl')]: 'https://app.example.org',
    };
    expect(envVarFor('sesMaxSendRate')).toBe('ACCOUNT_SHIELD_SES_MAX_SEND_RATE');
    expect(loadDeploymentConfig(fromContext({}), env)).toMatchObject({
      domain: 'example.org',
      mailFrom: 'security@example.org',
    });
  });
});

describe('GIVEN a throwaway environment', () => {
  test("THEN removalPolicy 'destroy' also turns deletion protection off unless it is set", () => {
    const config = loadDeploymentConfig(fromContext({ ...required, removalPolicy: 'destroy' }), {});
    expect(config).toMatchObject({ removalPolicy: RemovalPolicy.DESTROY, deletionProtection: false });
    const kept = loadDeploymentConfig(
      fromContext({ ...required, removalPolicy: 'destroy', deletionProtection: 'true' }),
      {},
    );
    expect(kept.deletionProtection).toBe(true);
  });
});

describe('GIVEN invalid settings', () => {
  test.each([
    [{ corsAllowedOrigins: '*' }, 'corsAllowedOrigins must list origins'],
    [{ corsAllowedOrigins: 'http://evil.example.com' }, 'corsAllowedOrigins must use https'],
    [{ mailFrom: 'security@other.example' }, 'must be an address at example.com'],
    [{ publicAppUrl: 'http://app.example.com' }, 'publicAppUrl must use https'],
    [{ sesMaxSendRate: 'fast' }, 'sesMaxSendRate must be a positive integer'],
    [{ removalPolicy: 'snapshot' }, 'removalPolicy must be one of retain | destroy'],
    [{ logRetentionDays: 45 }, 'logRetentionDays must be one of'],
    [{ alarmEmail: 'not-an-address' }, 'alarmEmail must be an email address'],
    [{ ssoProviders: '{not json' }, 'ssoProviders must be a JSON array'],
    [
      {
        ssoProviders: [
          { id: 'Google!', displayName: 'G', issuer: 'https://accounts.google.com', clientId: 'c' },
        ],
      },
      'ssoProviders[0].id must be',
    ],
    [
      { ssoProviders: [{ id: 'g', displayName: 'G', issuer: 'http://idp.example.com', clientId: 'c' }] },
      'ssoProviders[0].issuer must be an https URL',
    ],
    [
      {
        ssoProviders: [
          {
            id: 'g',
            displayName: 'G',
            issuer: 'https://idp.example.com',
            clientId: 'c',
            clientSecret: 'plain',
          },
        ],
      },
      'ssoProviders[0].clientSecret is not a provider setting',
    ],
    [
      {
        ssoProviders: [
          {
            id: 'g',
            displayName: 'G',
            issuer: 'https://idp.example.com',
            clientId: 'c',
            clientSecretArn: 'secret',
          },
        ],
      },
      'clientSecretArn must be the complete ARN',
    ],
    [{ apiBaseUrl: 'http://api.example.com' }, 'apiBaseUrl must use https'],
  ])('THEN %j is refused with a message saying why', (override, message) => {
    expect(() => loadDeploymentConfig(fromContext({ ...required, ...override }), {})).toThrow(message);
  });

  test('THEN cdk.json-style JSON values are accepted (lists and numbers)', () => {
    const config = loadDeploymentConfig(
      fromContext({
        ...required,
        corsAllowedOrigins: ['https://a.example.com', 'https://b.example.com'],
        sesMaxSendRate: 50,
      }),
      {},
    );
    expect(config.corsAllowedOrigins).toEqual(['https://a.example.com', 'https://b.example.com']);
    expect(config.sesMaxSendRate).toBe(50);
  });
});

describe('GIVEN SSO providers', () => {
  test('THEN a JSON string (from -c or the environment) is parsed, jitCreate defaulting to false', () => {
    const providers = [
      {
        id: 'google',
        displayName: 'Google',
        issuer: 'https://accounts.google.com',
        clientId: 'abc.apps.googleusercontent.com',
      },
    ];
    const config = loadDeploymentConfig(fromContext(required), {
      [envVarFor('ssoProviders')]: JSON.stringify(providers),
      [envVarFor('apiBaseUrl')]: 'https://api.example.com/',
    });
    expect(envVarFor('ssoProviders')).toBe('ACCOUNT_SHIELD_SSO_PROVIDERS');
    expect(config.ssoProviders).toEqual([{ ...providers[0], jitCreate: false }]);
    expect(config.apiBaseUrl).toBe('https://api.example.com');
  });
});

describe('GIVEN the CDK CLI and no context WHEN `cdk synth` runs offline', () => {
  test('THEN it fails before synthesizing, naming what is missing', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'account-shield-cli-'));
    const env = Object.fromEntries(
      Object.entries(process.env).filter(([key]) => !key.startsWith('ACCOUNT_SHIELD_')),
    );
    try {
      const result = spawnSync(
        join(repoRoot, 'node_modules', '.bin', 'cdk'),
        ['synth', '--no-notices', '--output', outdir],
        { cwd: repoRoot, encoding: 'utf8', env: { ...env, CDK_DISABLE_CLI_TELEMETRY: '1' }, timeout: 90_000 },
      );
      expect(result.status).not.toBe(0);
      expect(result.stderr).toContain('domain is required');
      expect(result.stderr).toContain('publicAppUrl is required');
      expect(result.stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  }, 120_000);
});
