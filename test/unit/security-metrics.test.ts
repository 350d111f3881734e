import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { createPowertoolsSecurityMetrics } from '../../shared/aws/powertools-security-metrics.js';
import { InvalidCredentialsError, InvalidGrantError, TooManyRequestsError } from '../../shared/errors.js';
import { createHttpHandler, route } from '../../shared/http/http-api.js';
import { requestMetrics } from '../../shared/http/request-metrics.js';
import { createLogger, noteSecurityEvent } from '../../shared/logging.js';
import {
  SECURITY_METRICS_NAMESPACE,
  type SecurityMetricName,
  type SecurityMetrics,
  securityMetricNames,
} from '../../shared/ports/security-metrics.js';
import { countDispatchedMails, countIncidentBatch } from '../../shared/use-cases/campaign-metrics.js';
import type { Deps } from '../../shared/use-cases/deps.js';

/** Records what is counted, and what each flush carried. */
function recordingMetrics() {
  let current: SecurityMetricName[] = [];
  const flushes: SecurityMetricName[][] = [];
  const metrics: SecurityMetrics = {
    count(name, value = 1) {
      for (let i = 0; i < value; i += 1) current.push(name);
    },
    flush() {
      flushes.push(current);
      current = [];
    },
  };
  return { metrics, flushes };
}

/** EMF lines Powertools writes to stdout while `work` runs. */
function captureEmf(work: () => void): Record<string, unknown>[] {
  const lines: string[] = [];
  const original = process.stdout.write;
  process.stdout.write = ((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  }) as typeof process.stdout.write;
  try {
    work();
  } finally {
    process.stdout.write = original;
  }
  return lines
    .flatMap((chunk) => chunk.split('\n'))
    .filter((line) => line.includes('"_aws"'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('Powertools security metrics', () => {
  it('writes one embedded-metric line per flush, in the AccountShield namespace with the service dimension', () => {
    const metrics = createPowertoolsSecurityMetrics();

    const lines = captureEmf(() => {
      metrics.count(securityMetricNames.loginFailed);
      metrics.count(securityMetricNames.loginFailed);
      metrics.count(securityMetricNames.campaignMailsSent, 40);
      metrics.flush();
    });

    expect(lines).toHaveLength(1);
    const line = lines[0]!;
    expect(line).toMatchObject({
      service: 'account-shield',
      LoginFailed: [1, 1],
      CampaignMailsSent: 40,
      _aws: {
        CloudWatchMetrics: [
          {
            Namespace: SECURITY_METRICS_NAMESPACE,
            Dimensions: [['service']],
            Metrics: expect.arrayContaining([
              { Name: 'LoginFailed', Unit: 'Count' },
              { Name: 'CampaignMailsSent', Unit: 'Count' },
            ]),
          },
        ],
      },
    });
  });

  it('writes nothing for an invocation that counted nothing (or only zeros)', () => {
    const metrics = createPowertoolsSecurityMetrics();

    const lines = captureEmf(() => {
      metrics.count(securityMetricNames.campaignMailsFailed, 0);
      metrics.flush();
      metrics.flush();
    });

    expect(lines).toEqual([]);
  });
});

describe('requestMetrics', () => {
  it.each([
    [{ action: 'login', outcome: 'ok', status: 200 }, ['LoginSucceeded']],
    [{ action: 'login', outcome: 'failed', status: 401 }, ['LoginFailed']],
    [{ action: 'login', outcome: 'invalid_otp', status: 401 }, ['LoginFailed']],
    [{ action: 'login', outcome: 'mfa_required', status: 401 }, []],
    [{ action: 'login', outcome: 'throttled', status: 429 }, ['Throttled']],
    [{ action: 'refresh', outcome: 'ok', status: 200 }, []],
    [{ action: undefined, outcome: undefined, status: 429 }, ['Throttled']],
  ] as const)('counts %j as %j', (input, expected) => {
    expect(requestMetrics({ ...input, events: [] })).toEqual(expected);
  });
});

const context = {
  awsRequestId: 'req-1',
  functionName: 'login',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:login',
  memoryLimitInMB: '1024',
  getRemainingTimeInMillis: () => 10_000,
} as unknown as Context;

function request(routeKey: string): APIGatewayProxyEventV2 {
  const [method, path] = routeKey.split(' ') as [string, string];
  return {
    version: '2.0',
    routeKey,
    rawPath: path,
    rawQueryString: '',
    headers: {},
    isBase64Encoded: false,
    requestContext: {
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '203.0.113.5', userAgent: 'test' },
    },
  } as unknown as APIGatewayProxyEventV2;
}

describe('GIVEN the HTTP adapter WHEN a request ends THEN it counts and flushes its metrics', () => {
  const logger = createLogger('SILENT');
  const { metrics, flushes } = recordingMetrics();
  const deps = { metrics, config: {} } as unknown as Deps;
  const outcomes: Record<string, () => Promise<never>> = {};
  // Part of two route groups: the metrics do not depend on which routes a group serves.
  const partialGroup = (group: 'login' | 'password', handlers: Record<string, unknown>) =>
    createHttpHandler(
      ...([group, handlers, async () => deps, logger] as unknown as Parameters<typeof createHttpHandler>),
    );
  const loginGroup = partialGroup('login', {
    'POST /v1/auth/login': route({ handle: () => outcomes['login']!() }),
    'POST /v1/auth/refresh': route({ handle: () => outcomes['refresh']!() }),
  });
  const passwordGroup = partialGroup('password', {
    'POST /v1/auth/password/forgot': route({ handle: () => outcomes['forgot']!() }),
  });
  const handler = (event: APIGatewayProxyEventV2, lambdaContext: Context) =>
    (event.routeKey === 'POST /v1/auth/password/forgot' ? passwordGroup : loginGroup)(event, lambdaContext);

  beforeEach(() => {
    flushes.length = 0;
  });

  test('a successful login counts LoginSucceeded', async () => {
    const ok = route({ handle: async () => ({ status: 200, body: { user: { id: 'u-1' } } }) });
    const withOk = partialGroup('login', { 'POST /v1/auth/login': ok });

    const response = await withOk(request('POST /v1/auth/login'), context);

    expect(response.statusCode).toBe(200);
    expect(flushes).toEqual([['LoginSucceeded']]);
  });

  test('a wrong password counts LoginFailed', async () => {
    outcomes['login'] = async () => {
      throw new InvalidCredentialsError();
    };

    await handler(request('POST /v1/auth/login'), context);

    expect(flushes).toEqual([['LoginFailed']]);
  });

  test('a throttled login counts Throttled, not LoginFailed', async () => {
    outcomes['login'] = async () => {
      throw new TooManyRequestsError(30);
    };

    await handler(request('POST /v1/auth/login'), context);

    expect(flushes).toEqual([['Throttled']]);
  });

  test('a 429 on a route without an auth action still counts Throttled', async () => {
    outcomes['forgot'] = async () => {
      throw new TooManyRequestsError(60);
    };

    await handler(request('POST /v1/auth/password/forgot'), context);

    expect(flushes).toEqual([['Throttled']]);
  });

  test('a refresh-token reuse counts RefreshTokenReused', async () => {
    outcomes['refresh'] = async () => {
      noteSecurityEvent({ type: 'refresh_token_reused', userId: 'u-1', sessionId: 's-1' });
      throw new InvalidGrantError();
    };

    const response = await handler(request('POST /v1/auth/refresh'), context);

    expect(response.statusCode).toBe(401);
    expect(flushes).toEqual([['RefreshTokenReused']]);
  });
});

describe('campaign progress metrics', () => {
  it('counts what the dispatcher queued over all incidents of a run', () => {
    const { metrics, flushes } = recordingMetrics();

    countDispatchedMails(metrics, {
      incidents: [
        { id: 'a', round: 0, outcome: 'out_of_time', pages: 2, queued: 3 },
        { id: 'b', round: 1, outcome: 'done', pages: 1, queued: 2 },
      ],
    });
    metrics.flush();

    expect(flushes).toEqual([Array(5).fill('CampaignMailsQueued')]);
  });

  it('counts the sent and the failed recipients of a notifier batch, not the retried or duplicate ones', () => {
    const { metrics, flushes } = recordingMetrics();

    countIncidentBatch(metrics, {
      incidentId: 'a',
      round: 0,
      sent: 2,
      failed: 1,
      retried: 4,
      skipped: 0,
      duplicates: 3,
      deferred: 0,
      unknownIncident: false,
    });
    metrics.flush();

    expect(flushes).toEqual([['CampaignMailsSent', 'CampaignMailsSent', 'CampaignMailsFailed']]);
  });
});
