/**
 * Security metrics through the real handlers: with METRICS=emf the functions write CloudWatch embedded-metric
 * lines (Powertools Metrics) to stdout; the local stack runs the handlers in this process, so the test reads them
 * back from stdout, as CloudWatch Logs would, and adds up each metric.
 */
import { type Api, logIn, signUp, sleep } from '../support/fixtures.js';
import { api } from '../support/http.js';
import { startTestStack, type TestStack } from '../support/test-stack.js';

let stack: TestStack;
let client: Api;
const captured: string[] = [];
let restoreStdout: (() => void) | undefined;

beforeAll(async () => {
  stack = await startTestStack({
    env: {
      METRICS: 'emf',
      LOG_LEVEL: 'ERROR',
      SES_MAX_SEND_RATE: '1000',
      // Two wrong passwords per account and source, then 429.
      LOGIN_MAX_FAILURES_PER_ACCOUNT_SOURCE: '2',
      DISPATCHER_SAFETY_MARGIN_MS: '1000',
    },
  });
  client = api(stack.apiUrl);
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    captured.push(text);
    // The metric lines are read here; other output still reaches the console.
    return text.includes('"_aws"') ? true : (write as (...args: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stdout.write;
  restoreStdout = () => {
    process.stdout.write = write;
  };
}, 60_000);

afterAll(async () => {
  restoreStdout?.();
  await stack?.stop();
});

/** The sum of each AccountShield metric over the EMF lines written so far. */
function metricTotals(): Record<string, number> {
  const totals: Record<string, number> = {};
  for (const line of captured.join('').split('\n')) {
    if (!line.includes('"_aws"')) continue;
    const record = JSON.parse(line) as {
      _aws: { CloudWatchMetrics: { Namespace: string; Metrics: { Name: string }[] }[] };
      service?: string;
      [name: string]: unknown;
    };
    for (const directive of record._aws.CloudWatchMetrics) {
      if (directive.Namespace !== 'AccountShield' || record.service !== 'account-shield') continue;
      for (const { Name } of directive.Metrics) {
        const value = record[Name];
        const values = Array.isArray(value) ? (value as number[]) : [value as number];
        totals[Name] = (totals[Name] ?? 0) + values.reduce((sum, v) => sum + v, 0);
      }
    }
  }
  return totals;
}

async function until(check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline)
      throw new Error(`not reached; metrics so far: ${JSON.stringify(metricTotals())}`);
    await sleep(100);
  }
}

describe('GIVEN METRICS=emf WHEN users sign in, fail, get throttled and reuse a refresh token', () => {
  test('THEN LoginSucceeded, LoginFailed, Throttled and RefreshTokenReused are written, one per fact', async () => {
    const account = await signUp(client);
    const before = metricTotals();

    const first = await logIn(client, account);
    const wrong = [];
    for (let i = 0; i < 3; i += 1) {
      wrong.push(
        (await client.post('/v1/auth/login', { login: account.email, password: 'wrong-password-1' })).status,
      );
    }
    // Rotate twice, then present the first token again: reuse detection ends the session.
    const second = await client.post<{ refreshToken: string }>('/v1/auth/refresh', {
      refreshToken: first.refreshToken,
    });
    await client.post('/v1/auth/refresh', { refreshToken: second.body.refreshToken });
    const reused = await client.post('/v1/auth/refresh', { refreshToken: first.refreshToken });

    expect(wrong).toEqual([401, 401, 429]);
    expect(reused.status).toBe(401);
    const after = metricTotals();
    const delta = (name: string) => (after[name] ?? 0) - (before[name] ?? 0);
    expect({
      LoginSucceeded: delta('LoginSucceeded'),
      LoginFailed: delta('LoginFailed'),
      Throttled: delta('Throttled'),
      RefreshTokenReused: delta('RefreshTokenReused'),
    }).toEqual({ LoginSucceeded: 1, LoginFailed: 2, Throttled: 1, RefreshTokenReused: 1 });
  });
});

describe('GIVEN METRICS=emf WHEN an incident campaign mails its accounts', () => {
  test('THEN the dispatcher counts CampaignMailsQueued and the notifier CampaignMailsSent', async () => {
    const accounts = [await signUp(client), await signUp(client)];
    const before = metricTotals();
    const created = await client.post<{ incident: { id: string } }>(
      '/v1/admin/incidents',
      {
        title: 'Metrics drill',
        scope: { type: 'users', userIds: accounts.map((account) => account.id) },
        actions: { forcePasswordReset: false, revokeSessions: false },
        notify: { enabled: true, sendAt: new Date(Date.now() + 1_000).toISOString() },
      },
      { token: stack.adminToken },
    );
    expect(created.status).toBe(201);
    await sleep(1_100);

    const delta = (name: string) => (metricTotals()[name] ?? 0) - (before[name] ?? 0);
    // As the schedule would: run the dispatcher until it has walked the incident.
    const deadline = Date.now() + 20_000;
    while (delta('CampaignMailsQueued') < 2 && Date.now() < deadline) {
      await stack.runDispatcher();
      await sleep(150);
    }
    await until(() => delta('CampaignMailsSent') >= 2);
    expect({
      queued: delta('CampaignMailsQueued'),
      sent: delta('CampaignMailsSent'),
      failed: delta('CampaignMailsFailed'),
    }).toEqual({
      queued: 2,
      sent: 2,
      failed: 0,
    });
  }, 60_000);
});
