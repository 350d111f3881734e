/**
 * Deployment settings, read from CDK context (`-c key=value` or cdk.json) or, failing that, from an
 * `ACCOUNT_SHIELD_<KEY>` environment variable. Every problem is reported at once, naming the key and the variable.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';

export interface DeploymentConfig {
  /** Name of the CloudFormation stack. @default 'AccountShield' */
  readonly stackName: string;
  /** Domain the security emails are sent from; an SES domain identity. Required. */
  readonly domain: string;
  /** Sender address. @default `security@<domain>` */
  readonly mailFrom: string;
  /** Whether the stack creates the SES domain identity ('create') or it already exists in the account ('existing'). @default 'create' */
  readonly sesIdentity: 'create' | 'existing';
  /** Recipients verified in SES while the account is in the sandbox; the notifier may also send to them. @default none */
  readonly sesSandboxRecipients: readonly string[];
  /** Base URL of the web app that serves the reset page; reset links are built from it. Required, https. */
  readonly publicAppUrl: string;
  /** Origins allowed by CORS. @default the origin of publicAppUrl */
  readonly corsAllowedOrigins: readonly string[];
  /** The account's SES maximum send rate (emails per second); bounds the notifier's concurrency. @default 14 */
  readonly sesMaxSendRate: number;
  /** Address subscribed to the alarm topic. @default no subscription */
  readonly alarmEmail: string | undefined;
  /** What happens to data (tables, keys, secret) when the stack is deleted. @default RETAIN */
  readonly removalPolicy: RemovalPolicy;
  /** DynamoDB deletion protection. @default true, or false when removalPolicy is 'destroy' */
  readonly deletionProtection: boolean;
  /** `iss` of the access tokens. @default the origin of publicAppUrl */
  readonly jwtIssuer: string;
  /** `aud` of the access tokens. @default 'account-shield' */
  readonly jwtAudience: string;
  /** Retention of function and access logs. @default 90 days */
  readonly logRetention: RetentionDays;
  /** Steady-state request rate of the API stage (requests per second). @default 100 */
  readonly apiRateLimit: number;
  /** Burst of the API stage. @default 200 */
  readonly apiBurstLimit: number;
  /** Days between automatic signing key rotations. @default 30 */
  readonly signingKeyRotationDays: number;
  /** Check new passwords against Have I Been Pwned's range API ('hibp'; needs internet egress) or not. @default 'off' */
  readonly breachedPasswordCheck: 'off' | 'hibp';
  /**
   * ACM certificate (same region) for the host of publicAppUrl. When set, the stack gives the HTTP API that host
   * as a custom domain, so the hosted account pages (and the API) answer at publicAppUrl; point the host's DNS at
   * the `PagesDomainTarget` output. publicAppUrl must then have no path. @default none (serve publicAppUrl elsewhere)
   */
  readonly pagesCertificateArn: string | undefined;
  /**
   * OpenID Connect providers for SSO sign-in (a JSON array in cdk.json, `-c` or the environment). A provider without
   * `clientSecretArn` gets a Secrets Manager secret created by the stack, to be filled with the client secret.
   * @default none
   */
  readonly ssoProviders: readonly SsoProviderDeployment[];
  /** Origin of the API, from which SSO callback URLs (the redirect URIs to register at a provider) are built. @default the origin of publicAppUrl */
  readonly apiBaseUrl: string;
}

export interface SsoProviderDeployment {
  /** 1-32 of a-z, 0-9 and "-"; part of the callback URL `<apiBaseUrl>/v1/auth/sso/<id>/callback`. */
  readonly id: string;
  readonly displayName: string;
  /** https issuer URL, e.g. https://accounts.google.com */
  readonly issuer: string;
  readonly clientId: string;
  /** An existing secret holding the client secret as plain text. @default a secret the stack creates */
  readonly clientSecretArn?: string;
  /** Create an SSO account on the first sign-in of a verified email nobody uses. @default false */
  readonly jitCreate: boolean;
}

/** The configuration keys, in the order they are documented. */
export const configKeys = [
  'stackName',
  'domain',
  'mailFrom',
  'sesIdentity',
  'sesSandboxRecipients',
  'publicAppUrl',
  'corsAllowedOrigins',
  'sesMaxSendRate',
  'alarmEmail',
  'removalPolicy',
  'deletionProtection',
  'jwtIssuer',
  'jwtAudience',
  'logRetentionDays',
  'apiRateLimit',
  'apiBurstLimit',
  'signingKeyRotationDays',
  'breachedPasswordCheck',
  'ssoProviders',
  'apiBaseUrl',
  'pagesCertificateArn',
] as const;

export type ConfigKey = (typeof configKeys)[number];

export class DeploymentConfigError extends Error {
  override readonly name = 'DeploymentConfigError';
}

/** `publicAppUrl` -> `ACCOUNT_SHIELD_PUBLIC_APP_URL` */
export const envVarFor = (key: ConfigKey): string =>
  `ACCOUNT_SHIELD_${key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()}`;

/** A context value as it arrives: a string from `-c`, or any JSON type from cdk.json. */
export type ContextLookup = (key: string) => unknown;

const emailPattern = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const domainPattern = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

export function loadDeploymentConfig(context: ContextLookup, env: NodeJS.ProcessEnv): DeploymentConfig {
  const problems: string[] = [];
  const where = (key: ConfigKey) => `(context "${key}" or env ${envVarFor(key)})`;

  const raw = (key: ConfigKey): string | undefined => {
    const fromContext = context(key);
    const value = fromContext ?? env[envVarFor(key)];
    if (value === undefined || value === null) return undefined;
    const text = Array.isArray(value) ? value.join(',') : String(value);
    return text.trim() === '' ? undefined : text.trim();
  };
  const required = (key: ConfigKey, example: string): string => {
    const value = raw(key);
    if (value === undefined) problems.push(`${key} is required ${where(key)}, e.g. ${example}`);
    return value ?? '';
  };
  const list = (key: ConfigKey): string[] | undefined =>
    raw(key)
      ?.split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '');
  const positiveInt = (key: ConfigKey, fallback: number): number => {
    const value = raw(key);
    if (value === undefined) return fallback;
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed <= 0) {
      problems.push(`${key} must be a positive integer ${where(key)}, got "${value}"`);
      return fallback;
    }
    return parsed;
  };
  const oneOf = <T extends string>(key: ConfigKey, allowed: readonly T[], fallback: T): T => {
    const value = raw(key);
    if (value === undefined) return fallback;
    if (!(allowed as readonly string[]).includes(value)) {
      problems.push(`${key} must be one of ${allowed.join(' | ')} ${where(key)}, got "${value}"`);
      return fallback;
    }
    return value as T;
  };
  const bool = (key: ConfigKey, fallback: boolean): boolean => {
    const value = raw(key);
    if (value === undefined) return fallback;
    if (value !== 'true' && value !== 'false') {
      problems.push(`${key} must be true or false ${where(key)}, got "${value}"`);
      return fallback;
    }
    return value === 'true';
  };
  const origin = (key: ConfigKey, value: string): string | undefined => {
    try {
      const url = new URL(value);
      if (url.protocol !== 'https:' && url.hostname !== 'localhost') {
        problems.push(`${key} must use https ${where(key)}, got "${value}"`);
      }
      return url.origin;
    } catch {
      problems.push(`${key} must be an absolute URL ${where(key)}, got "${value}"`);
      return undefined;
    }
  };

  const stackName = raw('stackName') ?? 'AccountShield';
  if (!/^[A-Za-z][A-Za-z0-9-]{0,127}$/.test(stackName))
    problems.push(`stackName "${stackName}" is not a valid stack name`);

  const domain = required('domain', 'example.com').toLowerCase();
  if (domain !== '' && !domainPattern.test(domain))
    problems.push(`domain must be a DNS domain ${where('domain')}, got "${domain}"`);

  const mailFrom = (raw('mailFrom') ?? (domain === '' ? '' : `security@${domain}`)).toLowerCase();
  if (mailFrom !== '' && !emailPattern.test(mailFrom)) {
    problems.push(`mailFrom must be an email address ${where('mailFrom')}`);
  } else if (domain !== '' && !mailFrom.endsWith(`@${domain}`)) {
    problems.push(
      `mailFrom "${mailFrom}" must be an address at ${domain} (the SES identity the stack authorises)`,
    );
  }

  const sesSandboxRecipients = list('sesSandboxRecipients') ?? [];
  for (const recipient of sesSandboxRecipients) {
    if (!emailPattern.test(recipient))
      problems.push(`sesSandboxRecipients has an invalid address "${recipient}"`);
  }

  const publicAppUrlRaw = required('publicAppUrl', 'https://app.example.com');
  const publicAppOrigin = publicAppUrlRaw === '' ? undefined : origin('publicAppUrl', publicAppUrlRaw);
  const publicAppUrl = publicAppUrlRaw.replace(/\/+$/, '');

  const corsAllowedOrigins = (list('corsAllowedOrigins') ?? (publicAppOrigin ? [publicAppOrigin] : [])).map(
    (value) => {
      if (value === '*') {
        problems.push(
          'corsAllowedOrigins must list origins; "*" would let any site call the API with a user token',
        );
        return value;
      }
      return origin('corsAllowedOrigins', value) ?? value;
    },
  );

  const alarmEmail = raw('alarmEmail');
  if (alarmEmail !== undefined && !emailPattern.test(alarmEmail)) {
    problems.push(`alarmEmail must be an email address ${where('alarmEmail')}`);
  }

  const removal = oneOf('removalPolicy', ['retain', 'destroy'] as const, 'retain');
  const deletionProtection = bool('deletionProtection', removal === 'retain');

  const logRetentionDays = positiveInt('logRetentionDays', RetentionDays.THREE_MONTHS);
  const allowedRetentions = Object.values(RetentionDays).filter(
    (value): value is number => typeof value === 'number',
  );
  if (!allowedRetentions.includes(logRetentionDays)) {
    problems.push(
      `logRetentionDays must be one of CloudWatch's retention periods (${allowedRetentions.join(', ')})`,
    );
  }

  const apiRateLimit = positiveInt('apiRateLimit', 100);
  const apiBurstLimit = positiveInt('apiBurstLimit', 200);
  const signingKeyRotationDays = positiveInt('signingKeyRotationDays', 30);
  if (signingKeyRotationDays > 1000)
    problems.push('signingKeyRotationDays must be at most 1000 (Secrets Manager limit)');

  const ssoProviders = parseSsoProviders(context('ssoProviders') ?? env[envVarFor('ssoProviders')], problems);
  const apiBaseUrlRaw = raw('apiBaseUrl');
  const apiBaseUrl =
    apiBaseUrlRaw === undefined ? (publicAppOrigin ?? '') : (origin('apiBaseUrl', apiBaseUrlRaw) ?? '');
  const pagesCertificateArn = raw('pagesCertificateArn');
  if (pagesCertificateArn !== undefined) {
    if (!/^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[A-Za-z0-9-]+$/.test(pagesCertificateArn))
      problems.push(`pagesCertificateArn must be an ACM certificate ARN ${where('pagesCertificateArn')}`);
    if (publicAppOrigin && publicAppUrl !== publicAppOrigin)
      problems.push(
        'publicAppUrl must have no path when pagesCertificateArn is set: the hosted pages are served at its root',
      );
  }

  const config: DeploymentConfig = {
    stackName,
    domain,
    mailFrom,
    sesIdentity: oneOf('sesIdentity', ['create', 'existing'] as const, 'create'),
    sesSandboxRecipients,
    publicAppUrl,
    corsAllowedOrigins,
    sesMaxSendRate: positiveInt('sesMaxSendRate', 14),
    alarmEmail,
    removalPolicy: removal === 'retain' ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    deletionProtection,
    jwtIssuer: raw('jwtIssuer') ?? publicAppOrigin ?? '',
    jwtAudience: raw('jwtAudience') ?? 'account-shield',
    logRetention: logRetentionDays as RetentionDays,
    apiRateLimit,
    apiBurstLimit,
    signingKeyRotationDays,
    breachedPasswordCheck: oneOf('breachedPasswordCheck', ['off', 'hibp'] as const, 'off'),
    ssoProviders,
    apiBaseUrl,
    pagesCertificateArn,
  };

  if (problems.length > 0) {
    throw new DeploymentConfigError(
      `account-shield cannot synthesize; fix the deployment configuration:\n  - ${problems.join('\n  - ')}\n` +
        'See infra/README.md ("Context keys") for every setting and its default.',
    );
  }
  return config;
}

/** `ssoProviders`: an array (cdk.json) or its JSON text (`-c ssoProviders='[...]'` or the environment). */
function parseSsoProviders(value: unknown, problems: string[]): SsoProviderDeployment[] {
  if (value === undefined || value === null || value === '') return [];
  let list: unknown = value;
  if (typeof value === 'string') {
    try {
      list = JSON.parse(value);
    } catch {
      problems.push('ssoProviders must be a JSON array of providers');
      return [];
    }
  }
  if (!Array.isArray(list)) {
    problems.push('ssoProviders must be a JSON array of providers');
    return [];
  }
  const providers: SsoProviderDeployment[] = [];
  const text = (item: Record<string, unknown>, key: string): string | undefined =>
    typeof item[key] === 'string' && (item[key] as string).trim() !== ''
      ? (item[key] as string).trim()
      : undefined;
  list.forEach((entry: unknown, index) => {
    const at = `ssoProviders[${index}]`;
    if (typeof entry !== 'object' || entry === null) {
      problems.push(`${at} must be an object`);
      return;
    }
    const item = entry as Record<string, unknown>;
    const allowed = ['id', 'displayName', 'issuer', 'clientId', 'clientSecretArn', 'jitCreate'];
    for (const key of Object.keys(item)) {
      // A client secret in cdk.json would end up in the template and in git.
      if (!allowed.includes(key))
        problems.push(`${at}.${key} is not a provider setting (${allowed.join(', ')})`);
    }
    const id = text(item, 'id') ?? '';
    if (!/^[a-z0-9-]{1,32}$/.test(id)) problems.push(`${at}.id must be 1-32 of a-z, 0-9 and "-"`);
    const displayName = text(item, 'displayName') ?? '';
    if (displayName === '' || displayName.length > 64)
      problems.push(`${at}.displayName is required (at most 64)`);
    const issuer = text(item, 'issuer') ?? '';
    try {
      if (new URL(issuer).protocol !== 'https:') problems.push(`${at}.issuer must be an https URL`);
    } catch {
      problems.push(`${at}.issuer must be an https URL, e.g. https://accounts.google.com`);
    }
    const clientId = text(item, 'clientId') ?? '';
    if (clientId === '') problems.push(`${at}.clientId is required`);
    const clientSecretArn = text(item, 'clientSecretArn');
    if (
      clientSecretArn !== undefined &&
      !/^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+-[A-Za-z0-9]{6}$/.test(clientSecretArn)
    ) {
      problems.push(`${at}.clientSecretArn must be the complete ARN of a Secrets Manager secret`);
    }
    if (item['jitCreate'] !== undefined && typeof item['jitCreate'] !== 'boolean') {
      problems.push(`${at}.jitCreate must be true or false`);
    }
    if (providers.some((p) => p.id === id)) problems.push(`${at}.id "${id}" is used twice`);
    providers.push({
      id,
      displayName,
      issuer,
      clientId,
      ...(clientSecretArn ? { clientSecretArn } : {}),
      jitCreate: item['jitCreate'] === true,
    });
  });
  return providers;
}
