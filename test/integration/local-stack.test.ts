import { type ClientRequest, request as httpRequest, type RequestOptions } from 'node:http';
import { createServer, type Server } from 'node:net';
import {
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  ListTablesCommand,
} from '@aws-sdk/client-dynamodb';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import {
  GetQueueAttributesCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { type ApiServer, type HttpHandler, startApiServer } from '../../scripts/local/api-server.js';
import { type Emulators, startEmulators } from '../../scripts/local/emulators.js';
import { startLambdaService } from '../../scripts/local/lambda-service.js';
import { createQueues, createTables } from '../../scripts/local/provision.js';
import { startScheduler } from '../../scripts/local/scheduler.js';
import { startSqsPoller } from '../../scripts/local/sqs-poller.js';
import { routes } from '../../shared/http/routes.js';
import { api } from '../support/http.js';
import { startTestStack, type TestStack } from '../support/test-stack.js';

const endpoints = {
  dynamodb: process.env.ACCOUNT_SHIELD_TEST_DYNAMODB_ENDPOINT ?? '',
  sqs: process.env.ACCOUNT_SHIELD_TEST_SQS_ENDPOINT ?? '',
  ses: process.env.ACCOUNT_SHIELD_TEST_SES_ENDPOINT ?? '',
};
const clientConfig = {
  region: 'us-east-1',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  requestHandler: { requestTimeout: 5_000, connectionTimeout: 2_000 },
};
const uniquePrefix = (label: string): string =>
  `${label}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
const until = async (condition: () => boolean, timeoutMs: number): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
};

const rawRequest = (baseUrl: string, options: RequestOptions & { body?: string }): Promise<number> =>
  new Promise((resolve, reject) => {
    const { hostname, port } = new URL(baseUrl);
    // Node sends a DELETE body without framing unless told its length.
    const headers = { ...options.headers, 'content-length': Buffer.byteLength(options.body ?? '') };
    const req = httpRequest({ ...options, headers, host: hostname, port }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(options.body);
  });

/**
 * POST /v1/accounts with these headers, the body written by `send` (which need not finish it): the status, as soon
 * as the answer's head arrives; the request is then dropped.
 */
const postAccountsStatus = (
  baseUrl: string,
  headers: Record<string, string>,
  send: (req: ClientRequest) => void,
): Promise<number> =>
  new Promise((resolve, reject) => {
    const { port } = new URL(baseUrl);
    const req = httpRequest(
      { host: '127.0.0.1', port, method: 'POST', path: '/v1/accounts', headers },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
        req.destroy();
      },
    );
    req.on('error', reject);
    send(req);
  });

// A second JVM takes seconds to boot, so the one the stop() test needs boots while the tests before it run.
let ownEmulators: Promise<Emulators>;
beforeAll(() => {
  ownEmulators = startEmulators({ dynamodbPort: 0, sqsPort: 0, sesPort: 0 });
  ownEmulators.catch(() => undefined);
});
afterAll(async () => {
  await (await ownEmulators.catch(() => undefined))?.stop();
});

describe('local API gateway', () => {
  const events: APIGatewayProxyEventV2[] = [];
  const errors: unknown[] = [];
  let server: ApiServer;

  beforeAll(async () => {
    const echo: HttpHandler = async (event) => {
      events.push(event);
      if (event.rawPath === '/v1/me') throw new Error('secret internal detail');
      return {
        statusCode: 201,
        headers: { 'content-type': 'application/octet-stream', 'x-echo': 'yes' },
        cookies: ['a=1; HttpOnly', 'b=2'],
        body: Buffer.from([0xde, 0xad, 0xbe, 0xef]).toString('base64'),
        isBase64Encoded: true,
      };
    };
    server = await startApiServer({
      port: 0,
      routes,
      loadHandler: async () => echo,
      logError: (_message, error) => errors.push(error),
    });
  });
  afterAll(() => server.close());
  beforeEach(() => {
    events.length = 0;
    errors.length = 0;
  });

  test('builds a payload 2.0 event from the request', async () => {
    const before = Date.now();
    // node:http rather than fetch, which would merge the repeated header before sending it.
    await rawRequest(server.url, {
      method: 'DELETE',
      path: '/v1/auth/sessions/s%201?b=2&a=1&a=3',
      headers: {
        'X-Custom': ['one', 'two'],
        Cookie: 'c1=v1; c2=v2',
        'User-Agent': 'jest-agent',
        'Content-Type': 'application/json',
      },
      body: JSON.stringify({ reason: 'lost phone' }),
    });

    expect(events).toHaveLength(1);
    const event = events[0]!;
    expect(event).toMatchObject({
      version: '2.0',
      routeKey: 'DELETE /v1/auth/sessions/{id}',
      rawPath: '/v1/auth/sessions/s%201',
      rawQueryString: 'b=2&a=1&a=3',
      cookies: ['c1=v1', 'c2=v2'],
      queryStringParameters: { a: '1,3', b: '2' },
      pathParameters: { id: 's 1' },
      body: '{"reason":"lost phone"}',
      isBase64Encoded: false,
      requestContext: {
        accountId: expect.stringMatching(/^\d{12}$/),
        apiId: expect.any(String),
        domainName: new URL(server.url).host,
        http: {
          method: 'DELETE',
          path: '/v1/auth/sessions/s%201',
          protocol: 'HTTP/1.1',
          sourceIp: '127.0.0.1',
          userAgent: 'jest-agent',
        },
        routeKey: 'DELETE /v1/auth/sessions/{id}',
        stage: '$default',
        requestId: expect.stringMatching(/\S+/),
        time: expect.stringMatching(/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/),
      },
    });
    expect(event.headers['x-custom']).toBe('one,two');
    expect(event.headers['content-type']).toBe('application/json');
    expect(event.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(event.headers).not.toHaveProperty('cookie');
    expect(Object.keys(event.headers).every((name) => name === name.toLowerCase())).toBe(true);
    expect(event.requestContext.timeEpoch).toBeGreaterThanOrEqual(before);
  });

  test('leaves out optional fields a bodiless request without query or cookies does not have', async () => {
    await (await fetch(`${server.url}/v1/auth/sessions`)).arrayBuffer();

    const event = events[0]!;
    expect(event.rawQueryString).toBe('');
    for (const field of ['body', 'cookies', 'queryStringParameters', 'pathParameters'] as const) {
      expect(event).not.toHaveProperty(field);
    }
  });

  test('passes a body that is not UTF-8 as base64', async () => {
    const bytes = Buffer.from([0xff, 0xfe, 0x00, 0x80]);
    await (await fetch(`${server.url}/v1/accounts`, { method: 'POST', body: bytes })).arrayBuffer();

    expect(events[0]).toMatchObject({ isBase64Encoded: true, body: bytes.toString('base64') });
  });

  test('writes the status, headers, cookies and decoded body of the result', async () => {
    const response = await fetch(`${server.url}/v1/accounts`, { method: 'POST', body: '{}' });

    expect(response.status).toBe(201);
    expect(response.headers.get('x-echo')).toBe('yes');
    expect(response.headers.getSetCookie()).toEqual(['a=1; HttpOnly', 'b=2']);
    expect(Buffer.from(await response.arrayBuffer())).toEqual(Buffer.from([0xde, 0xad, 0xbe, 0xef]));
  });

  const securityHeaders = {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'strict-transport-security': expect.stringContaining('max-age='),
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
  };

  test('answers an unknown route with a 404 JSON error and the security headers', async () => {
    const response = await api(server.url).get('/v1/nothing-here');

    expect(response.status).toBe(404);
    expect(response.body).toEqual({ error: 'not_found', message: 'No route for GET /v1/nothing-here' });
    expect(Object.fromEntries(response.headers)).toMatchObject(securityHeaders);
    expect(events).toHaveLength(0);
  });

  test('answers a known path with the wrong method with 405 and an allow header', async () => {
    const response = await api(server.url).request('PUT', '/v1/me', { a: 1 });

    expect(response.status).toBe(405);
    expect(response.body).toMatchObject({ error: 'method_not_allowed' });
    expect(response.headers.get('allow')).toBe('GET');
    expect(Object.fromEntries(response.headers)).toMatchObject(securityHeaders);
  });

  test('turns a thrown handler into a generic 500 and logs the error instead', async () => {
    const response = await api(server.url).get('/v1/me');

    expect(response.status).toBe(500);
    expect(response.body).toEqual({ error: 'internal_error', message: 'Internal server error' });
    expect(response.text).not.toContain('secret');
    expect(Object.fromEntries(response.headers)).toMatchObject(securityHeaders);
    expect(String(errors[0])).toContain('secret internal detail');
  });

  test('refuses a body above 10 MB with 413 before reading it', async () => {
    const status = await postAccountsStatus(
      server.url,
      { 'content-type': 'application/json', 'content-length': String(11 * 1024 * 1024) },
      // Only a sliver of the announced body is ever sent: the answer must not wait for the rest.
      (req) => req.write('{"padding":"'),
    );

    expect(status).toBe(413);
    expect(events).toHaveLength(0);
  });

  test('refuses a chunked body once it passes 10 MB', async () => {
    const status = await postAccountsStatus(server.url, { 'transfer-encoding': 'chunked' }, (req) => {
      const megabyte = Buffer.alloc(1024 * 1024, 0x61);
      for (let sent = 0; sent < 11; sent += 1) req.write(megabyte);
      req.end();
    });

    expect(status).toBe(413);
    expect(events).toHaveLength(0);
  });
});

describe('SQS poller', () => {
  const sqs = new SQSClient({ ...clientConfig, endpoint: endpoints.sqs });
  afterAll(() => sqs.destroy());

  const queueDepth = async (queueUrl: string): Promise<number> => {
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    return (
      Number(Attributes?.ApproximateNumberOfMessages) +
      Number(Attributes?.ApproximateNumberOfMessagesNotVisible)
    );
  };

  test('deletes the records it handled and lets the ones in batchItemFailures come back', async () => {
    const { queueUrl } = await createQueues(sqs, uniquePrefix('poller'), { visibilityTimeoutSeconds: 1 });
    const seen: { body: string; receiveCount: string }[] = [];
    const batches: SQSEvent[] = [];
    const poller = await startSqsPoller({
      sqs,
      queueUrl,
      waitTimeSeconds: 1,
      handler: async (event): Promise<SQSBatchResponse> => {
        batches.push(event);
        const failures = [];
        for (const record of event.Records) {
          seen.push({ body: record.body, receiveCount: record.attributes.ApproximateReceiveCount });
          if (record.body === 'fails once' && record.attributes.ApproximateReceiveCount === '1') {
            failures.push({ itemIdentifier: record.messageId });
          }
        }
        return { batchItemFailures: failures };
      },
    });
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: ['first', 'fails once', 'last'].map((body, index) => ({
          Id: String(index),
          MessageBody: body,
          MessageAttributes: { kind: { DataType: 'String', StringValue: 'test' } },
        })),
      }),
    );

    await until(
      () => seen.some((entry) => entry.body === 'fails once' && entry.receiveCount === '2'),
      10_000,
    );
    await poller.stop();

    expect(seen.filter((entry) => entry.body === 'first')).toHaveLength(1);
    expect(seen.filter((entry) => entry.body === 'last')).toHaveLength(1);
    expect(await queueDepth(queueUrl)).toBe(0);
    expect(batches[0]!.Records[0]).toMatchObject({
      eventSource: 'aws:sqs',
      eventSourceARN: expect.stringMatching(/^arn:aws:sqs:us-east-1:\d+:poller-/),
      awsRegion: 'us-east-1',
      messageAttributes: { kind: { dataType: 'String', stringValue: 'test' } },
      attributes: { ApproximateReceiveCount: '1', SentTimestamp: expect.stringMatching(/^\d+$/) },
    });
  });

  test('deletes nothing when the handler throws', async () => {
    const { queueUrl } = await createQueues(sqs, uniquePrefix('throws'), { visibilityTimeoutSeconds: 1 });
    const receiveCounts: string[] = [];
    const poller = await startSqsPoller({
      sqs,
      queueUrl,
      waitTimeSeconds: 1,
      logError: () => undefined,
      handler: async (event) => {
        receiveCounts.push(...event.Records.map((record) => record.attributes.ApproximateReceiveCount));
        if (receiveCounts.length === 1) throw new Error('notifier crashed');
        return { batchItemFailures: [] };
      },
    });
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'retry me' }));

    await until(() => receiveCounts.length >= 2, 10_000);
    await poller.stop();

    expect(receiveCounts.slice(0, 2)).toEqual(['1', '2']);
    expect(await queueDepth(queueUrl)).toBe(0);
  });
});

describe('scheduler', () => {
  test('never overlaps runs, runs on demand and waits for the run in progress on stop', async () => {
    let running = 0;
    let maxRunning = 0;
    let runs = 0;
    const scheduler = startScheduler({
      intervalMs: 10,
      invoke: async (event) => {
        expect(event).toMatchObject({ source: 'aws.events', 'detail-type': 'Scheduled Event' });
        running += 1;
        maxRunning = Math.max(maxRunning, running);
        await new Promise((resolve) => setTimeout(resolve, 30));
        running -= 1;
        runs += 1;
        return runs;
      },
    });

    const manual = await Promise.all([scheduler.runNow(), scheduler.runNow()]);
    await until(() => runs >= 4, 2_000);
    await scheduler.stop();

    expect(maxRunning).toBe(1);
    expect(running).toBe(0);
    expect(manual[0]).not.toEqual(manual[1]);
    await expect(scheduler.runNow()).rejects.toThrow('stopped');
  });
});

describe('Lambda service stand-in', () => {
  test('answers an asynchronous Invoke from the real SDK with 202 and runs the function with its payload', async () => {
    const payloads: unknown[] = [];
    const failures: string[] = [];
    const service = await startLambdaService({
      functions: {
        'stack-dispatcher': async (payload) => {
          payloads.push(payload);
        },
        'stack-broken': async () => {
          throw new Error('run failed');
        },
      },
      logError: (message) => failures.push(message),
    });
    const lambda = new LambdaClient({ ...clientConfig, endpoint: service.url, maxAttempts: 1 });
    try {
      const accepted = await lambda.send(
        new InvokeCommand({
          FunctionName: 'stack-dispatcher',
          InvocationType: 'Event',
          Payload: new TextEncoder().encode(JSON.stringify({ reason: 'incident-created' })),
        }),
      );
      expect(accepted.StatusCode).toBe(202);
      await until(() => payloads.length === 1, 2_000);
      expect(payloads).toEqual([{ reason: 'incident-created' }]);

      // A failed run is the function's business, not the caller's (as with Lambda's asynchronous invokes).
      const broken = await lambda.send(
        new InvokeCommand({ FunctionName: 'stack-broken', InvocationType: 'Event' }),
      );
      expect(broken.StatusCode).toBe(202);
      await until(() => failures.length === 1, 2_000);
      expect(failures[0]).toContain('stack-broken');

      await expect(
        lambda.send(new InvokeCommand({ FunctionName: 'other', InvocationType: 'Event' })),
      ).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
      await expect(
        lambda.send(
          new InvokeCommand({ FunctionName: 'stack-dispatcher', InvocationType: 'RequestResponse' }),
        ),
      ).rejects.toMatchObject({ name: 'InvalidParameterValueException' });
      expect(payloads).toHaveLength(1);
    } finally {
      lambda.destroy();
      await service.close();
    }
  });
});

describe('provisioning', () => {
  const dynamodb = new DynamoDBClient({ ...clientConfig, endpoint: endpoints.dynamodb });
  const sqs = new SQSClient({ ...clientConfig, endpoint: endpoints.sqs });
  afterAll(() => {
    dynamodb.destroy();
    sqs.destroy();
  });

  test('creates every table with TTL, and a second run changes nothing', async () => {
    const prefix = uniquePrefix('prov');

    const first = await createTables(dynamodb, prefix);
    const second = await createTables(dynamodb, prefix);

    expect(second).toEqual(first);
    expect(first.env).toEqual({
      USERS_TABLE: `${prefix}-users`,
      IDENTIFIERS_TABLE: `${prefix}-identifiers`,
      SESSIONS_TABLE: `${prefix}-sessions`,
      RECORDS_TABLE: `${prefix}-records`,
    });
    const { TableNames = [] } = await dynamodb.send(new ListTablesCommand({}));
    expect(TableNames.filter((name) => name.startsWith(`${prefix}-`))).toHaveLength(4);
    const sessions = await dynamodb.send(new DescribeTableCommand({ TableName: first.names.sessions }));
    expect(sessions.Table?.KeySchema).toEqual([
      { AttributeName: 'userId', KeyType: 'HASH' },
      { AttributeName: 'sessionId', KeyType: 'RANGE' },
    ]);
    expect(sessions.Table?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');
    const ttl = await dynamodb.send(new DescribeTimeToLiveCommand({ TableName: first.names.records }));
    expect(ttl.TimeToLiveDescription).toMatchObject({
      TimeToLiveStatus: 'ENABLED',
      AttributeName: 'expiresAt',
    });
  });

  test('creates the notifications queue with its dead-letter queue, and a second run returns the same queues', async () => {
    const prefix = uniquePrefix('prov');

    const first = await createQueues(sqs, prefix);
    const second = await createQueues(sqs, prefix);

    expect(second).toEqual(first);
    const dlqArn = (
      await sqs.send(new GetQueueAttributesCommand({ QueueUrl: first.dlqUrl, AttributeNames: ['QueueArn'] }))
    ).Attributes?.QueueArn;
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: first.queueUrl, AttributeNames: ['All'] }),
    );
    expect(Attributes?.VisibilityTimeout).toBe('30');
    expect(JSON.parse(Attributes?.RedrivePolicy ?? '{}')).toEqual({
      deadLetterTargetArn: dlqArn,
      maxReceiveCount: 5,
    });
  });
});

describe('emulators', () => {
  let busy: Server;
  let busyPort: number;
  beforeAll(async () => {
    busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, resolve));
    busyPort = (busy.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((resolve) => busy.close(() => resolve())));

  test.each([
    ['dynamodbPort', 'LOCAL_DYNAMODB_PORT'],
    ['sqsPort', 'LOCAL_SQS_PORT'],
    ['sesPort', 'LOCAL_SES_PORT'],
  ] as const)('names the port and the variable in one line when %s is taken', async (option, variable) => {
    const ports = { dynamodbPort: 0, sqsPort: 0, sesPort: 0, [option]: busyPort };

    const failure = startEmulators(ports);

    await expect(failure).rejects.toThrow(
      new Error(`port ${busyPort} is in use; set ${variable} to another port`),
    );
  });

  test('stop() leaves no DynamoDB Local process behind', async () => {
    const emulators = await ownEmulators;
    const pid = emulators.dynamodbPid;
    expect(() => process.kill(pid, 0)).not.toThrow();

    await emulators.stop();

    expect(() => process.kill(pid, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
  });
});

describe('test stack', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(() => stack.stop());

  test('serves the real handlers behind the local gateway', async () => {
    const client = api(stack.apiUrl);

    const jwks = await client.get<{ keys: unknown[] }>('/.well-known/jwks.json');
    const unknown = await client.get('/v1/unknown');

    expect(jwks.status).toBe(200);
    expect(jwks.body.keys.length).toBeGreaterThan(0);
    expect(unknown.status).toBe(404);
  });

  test('reads back mail sent through the SES emulator, filtered by recipient', async () => {
    const ses = new SESv2Client({ ...clientConfig, endpoint: stack.endpoints.ses });
    const recipient = `${uniquePrefix('mail')}@example.test`;
    try {
      await ses.send(
        new SendEmailCommand({
          FromEmailAddress: 'security@account-shield.local',
          Destination: { ToAddresses: [recipient] },
          Content: { Simple: { Subject: { Data: 'Hello' }, Body: { Text: { Data: 'token=abc' } } } },
        }),
      );
    } finally {
      ses.destroy();
    }

    const [mail] = await stack.ses.waitForMail(recipient);

    expect(mail).toMatchObject({
      subject: 'Hello',
      body: { text: 'token=abc' },
      destination: { to: [recipient] },
    });
    expect(await stack.ses.listMail(`other-${recipient}`)).toEqual([]);
  });
});

describe('test stack with a dispatcher schedule', () => {
  let stack: TestStack;
  beforeAll(async () => {
    // A schedule that never comes round during the test: only the admin function's trigger can start a run.
    stack = await startTestStack({ dispatcherIntervalMs: 600_000 });
  });
  afterAll(() => stack.stop());

  test("starts a dispatcher run at once for an immediate incident, through the admin function's Lambda invoke", async () => {
    const client = api(stack.apiUrl);
    const email = `${uniquePrefix('immediate')}@example.test`;
    const signup = await client.post('/v1/accounts', {
      email,
      username: uniquePrefix('u').replace(/-/g, '_'),
      password: 'violet-harbour-lantern-42',
    });
    expect(signup.status).toBe(201);
    const title = `Immediate ${uniquePrefix('incident')}`;

    const created = await client.post(
      '/v1/admin/incidents',
      {
        title,
        scope: { type: 'emails', emails: [email] },
        actions: { forcePasswordReset: false, revokeSessions: false },
        notify: { enabled: true },
      },
      { token: stack.adminToken },
    );
    expect(created.status).toBe(201);

    const incidentMails = async () =>
      (await stack.ses.listMail(email)).filter((mail) => mail.body.text?.includes(title));
    const deadline = Date.now() + 20_000;
    while ((await incidentMails()).length === 0) {
      expect(Date.now()).toBeLessThan(deadline);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(await incidentMails()).toHaveLength(1);
  }, 40_000);
});
