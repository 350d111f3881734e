/**
 * `npx tsx bench/signals.ts`: Shared Signals delivery latency on the local stack (DynamoDB Local stream ->
 * fan-out -> signals queue (fauxqs) -> push to a receiver on this machine). For each of N revoke-alls, the time
 * from the API's 204 to the receiver holding the session-revoked SET; p50 and p95. Then, in a child process with
 * the pollers off (`requests` mode), the AWS requests per delivered SET: the fan-out and the deliverer are invoked
 * by the bench itself and every SDK request they make is counted by operation, plus the queue receive/delete an
 * event source mapping makes (stream reads by Lambda are not billed requests and are not counted). Writes
 * bench/results/signals.json. Emulators and pollers are the floor here, not AWS (see README "Benchmarks").
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { subscribe as subscribeChannel } from 'node:diagnostics_channel';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import type { ClientRequest } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { decodeJwt } from 'jose';
import { createLambdaContext } from '../scripts/local/api-server.js';
import { startDynamoStreamPoller } from '../scripts/local/dynamodb-stream-poller.js';
import { startLocalStack } from '../scripts/local/local-stack.js';

const EVENTS = Number(process.env['SIGNALS_BENCH_EVENTS'] ?? 40);
const here = dirname(fileURLToPath(import.meta.url));

type LocalStack = Awaited<ReturnType<typeof startLocalStack>>;
type Call = (
  method: string,
  path: string,
  body?: unknown,
  token?: string,
) => Promise<{ status: number; body: Record<string, unknown> }>;

/** A receiver on this machine: the time each account's first SET arrived. */
async function startReceiver() {
  const arrivals = new Map<string, number>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const claims = decodeJwt(Buffer.concat(chunks).toString('utf8'));
      const sub = (claims['sub_id'] as { sub?: string } | undefined)?.sub;
      if (sub && !arrivals.has(sub)) arrivals.set(sub, performance.now());
      res.writeHead(202).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`;
  return { arrivals, url, close: () => server.close() };
}

function startBenchStack(options: { signals: boolean }): Promise<LocalStack> {
  return startLocalStack({
    prefix: `bench-signals-${randomBytes(3).toString('hex')}`,
    emulatorPorts: { dynamodbPort: 0, sqsPort: 0, sesPort: 0 },
    signingKeyFile: join(mkdtempSync(join(tmpdir(), 'signals-bench-')), 'signing-key.json'),
    dispatcher: false,
    ...(options.signals ? {} : { signals: false, notifier: false }),
    env: { LOG_LEVEL: 'ERROR' },
  });
}

function caller(stack: LocalStack): Call {
  return async (method, path, body, token) => {
    const response = await fetch(`${stack.apiUrl}${path}`, {
      method,
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  };
}

/** A confidential client with ssf.manage and one push stream to `receiverUrl`, as a receiver would set it up. */
async function subscribe(stack: LocalStack, call: Call, receiverUrl: string): Promise<void> {
  const registered = await call(
    'POST',
    '/v1/admin/clients',
    {
      name: 'Bench receiver',
      type: 'confidential',
      grantTypes: ['client_credentials'],
      scopes: ['ssf.manage'],
    },
    stack.adminToken,
  );
  const clientId = (registered.body['client'] as { clientId: string }).clientId;
  const tokenResponse = await fetch(`${stack.apiUrl}/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: clientId,
      client_secret: String(registered.body['clientSecret']),
    }).toString(),
  });
  const receiverToken = ((await tokenResponse.json()) as { access_token: string }).access_token;
  const created = await call(
    'POST',
    '/ssf/streams',
    { delivery: { method: 'urn:ietf:rfc:8935', endpoint_url: receiverUrl } },
    receiverToken,
  );
  if (created.status !== 201) throw new Error(`stream creation answered ${created.status}`);
}

/** A fresh account signs in and signs out of all devices; resolves with its id once the API answered 204. */
async function revokeAll(call: Call): Promise<string> {
  const email = `bench-${randomBytes(4).toString('hex')}@example.test`;
  const password = `bench-${randomBytes(8).toString('hex')}-pass`;
  const created = await call('POST', '/v1/accounts', {
    email,
    username: `b${randomBytes(5).toString('hex')}`,
    password,
  });
  const userId = (created.body['user'] as { id: string }).id;
  const login = await call('POST', '/v1/auth/login', { login: email, password });
  const revoked = await call('POST', '/v1/auth/revoke-all', undefined, String(login.body['accessToken']));
  if (revoked.status !== 204) throw new Error(`revoke-all answered ${revoked.status}`);
  return userId;
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function measureLatency() {
  const receiver = await startReceiver();
  const stack = await startBenchStack({ signals: true });
  try {
    const call = caller(stack);
    await subscribe(stack, call, receiver.url);
    const latencies: number[] = [];
    for (let i = 0; i < EVENTS; i++) {
      const userId = await revokeAll(call);
      const answeredAt = performance.now();
      await waitFor(() => receiver.arrivals.has(userId), 'A SET arrival');
      latencies.push(receiver.arrivals.get(userId)! - answeredAt);
    }
    latencies.sort((a, b) => a - b);
    const at = (q: number) =>
      Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!);
    return { p50: at(0.5), p95: at(0.95), max: Math.round(latencies.at(-1)!) };
  } finally {
    await stack.stop();
    receiver.close();
  }
}

/**
 * `requests` mode (a process of its own: the functions cache their configuration per process). The revocations
 * happen first, with no transmitter running; then the bench plays the event source mappings: the records stream
 * into the fan-out, the signals queue into the deliverer, counting every SDK request on the way by operation.
 */
async function countRequests() {
  const receiver = await startReceiver();
  const stack = await startBenchStack({ signals: false });
  const counts: Record<string, number> = {};
  let counting = false;
  subscribeToRequests((operation) => {
    if (counting) counts[operation] = (counts[operation] ?? 0) + 1;
  });
  const counted = async <T>(work: () => Promise<T>): Promise<T> => {
    counting = true;
    try {
      return await work();
    } finally {
      counting = false;
    }
  };
  try {
    const call = caller(stack);
    await subscribe(stack, call, receiver.url);
    const userIds: string[] = [];
    for (let i = 0; i < EVENTS; i++) userIds.push(await revokeAll(call));

    const { handler: fanOut } = await import('../functions/signals-fanout.js');
    const { handler: deliver } = await import('../functions/signals-delivery.js');
    const poller = await startDynamoStreamPoller({
      dynamodb: new DynamoDBClient({ endpoint: stack.endpoints.dynamodb, region: 'us-east-1' }),
      endpoint: stack.endpoints.dynamodb,
      tableName: stack.tables.records,
      pkPrefix: 'events#',
      handler: (event) => counted(() => fanOut(event, createLambdaContext('signals-fanout', 60_000))),
    });
    const sqs = new SQSClient({ endpoint: stack.endpoints.sqs, region: 'us-east-1' });
    const queueArn = `arn:aws:sqs:us-east-1:000000000000:${stack.signalsQueueUrl.split('/').pop()}`;
    try {
      const deadline = performance.now() + 60_000;
      while (!userIds.every((id) => receiver.arrivals.has(id)) && performance.now() < deadline) {
        const received = await counted(() =>
          sqs.send(
            new ReceiveMessageCommand({
              QueueUrl: stack.signalsQueueUrl,
              MaxNumberOfMessages: 10,
              WaitTimeSeconds: 1,
              MessageSystemAttributeNames: ['ApproximateReceiveCount'],
            }),
          ),
        );
        const messages = received.Messages ?? [];
        if (messages.length === 0) continue;
        const records = messages.map(
          (message) =>
            ({
              messageId: message.MessageId ?? '',
              receiptHandle: message.ReceiptHandle ?? '',
              body: message.Body ?? '',
              attributes: { ApproximateReceiveCount: message.Attributes?.ApproximateReceiveCount ?? '1' },
              messageAttributes: {},
              md5OfBody: message.MD5OfBody ?? '',
              eventSource: 'aws:sqs',
              eventSourceARN: queueArn,
              awsRegion: 'us-east-1',
            }) as unknown as SQSRecord,
        );
        const result = await counted(() =>
          deliver({ Records: records }, createLambdaContext('signals-delivery', 30_000)),
        );
        const failed = new Set(result.batchItemFailures.map((failure) => failure.itemIdentifier));
        const done = records.filter((record) => !failed.has(record.messageId));
        if (done.length > 0)
          await counted(() =>
            sqs.send(
              new DeleteMessageBatchCommand({
                QueueUrl: stack.signalsQueueUrl,
                Entries: done.map((record, i) => ({ Id: String(i), ReceiptHandle: record.receiptHandle })),
              }),
            ),
          );
      }
    } finally {
      await poller.stop();
      sqs.destroy();
    }
    const delivered = userIds.filter((id) => receiver.arrivals.has(id)).length;
    if (delivered !== userIds.length) throw new Error(`${delivered} of ${userIds.length} SETs arrived`);
    const total = Object.values(counts).reduce((sum, n) => sum + n, 0);
    return {
      sets: delivered,
      requests: total,
      perSet: Number((total / delivered).toFixed(2)),
      byOperation: counts,
    };
  } finally {
    await stack.stop();
    receiver.close();
  }
}

/** Every AWS SDK request of this process (node:http), by its `x-amz-target` operation. */
function subscribeToRequests(onRequest: (operation: string) => void): void {
  subscribeChannel('http.client.request.start', (message) => {
    const request = (message as { request: ClientRequest }).request;
    const target = request.getHeader('x-amz-target');
    if (typeof target === 'string') onRequest(target);
  });
}

async function main() {
  if (process.argv[2] === 'requests') {
    console.log(JSON.stringify(await countRequests()));
    return;
  }
  const deliveryLatencyMs = await measureLatency();
  const child = spawnSync(
    process.execPath,
    [...process.execArgv, fileURLToPath(import.meta.url), 'requests'],
    {
      encoding: 'utf8',
      env: process.env,
      maxBuffer: 16 * 1024 * 1024,
    },
  );
  const lastLine = child.stdout.trim().split('\n').at(-1) ?? '';
  if (child.status !== 0 || !lastLine.startsWith('{'))
    throw new Error(`requests mode failed (${child.status}): ${child.stderr.slice(-2000)}`);
  const awsRequests = JSON.parse(lastLine) as Record<string, unknown>;
  const results = {
    measuredAt: new Date().toISOString(),
    events: EVENTS,
    deliveryLatencyMs,
    awsRequestsPerSet: awsRequests,
    note:
      'Latency: from the revoke-all 204 to the SET at the receiver, on DynamoDB Local + fauxqs with 100 ms stream ' +
      'polling. Requests: every SDK request of the fan-out and the deliverer, plus the queue receive/delete of an ' +
      'event source mapping, per SET delivered to one push stream (stream reads by Lambda are not counted).',
  };
  mkdirSync(join(here, 'results'), { recursive: true });
  writeFileSync(join(here, 'results', 'signals.json'), `${JSON.stringify(results, null, 2)}\n`);
  console.log(JSON.stringify(results, null, 2));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
