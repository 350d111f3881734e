/**
 * What every benchmark stands on: the emulators on free ports, fresh tables and queues, and the real
 * composition root (shared/app.ts) whose AWS clients count and time every request they send.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { type Emulators, startEmulators } from '../../scripts/local/emulators.js';
import { createQueues, createTables } from '../../scripts/local/provision.js';
import { createBulkSesClient, createDeps } from '../../shared/app.js';
import { type AwsClients, createAwsClients } from '../../shared/aws/clients.js';
import { type Config, loadConfig } from '../../shared/config.js';
import type { Deps } from '../../shared/use-cases/deps.js';
import { type RequestRecorder, recordRequests } from '../../test/support/request-recorder.js';

export interface RequestMeter {
  /** Requests sent per service since the last reset. */
  readonly counts: Record<string, number>;
  /** Wall time spent inside those requests, per service, in ms. */
  readonly millis: Record<string, number>;
  /** Wall time during which at least one request (any service) was in flight: overlapping calls count once. */
  readonly busyMillis: number;
  reset(): void;
  total(service?: string): number;
}

export interface BenchStack {
  readonly emulators: Emulators;
  readonly config: Config;
  readonly clients: AwsClients;
  readonly deps: Deps;
  readonly meter: RequestMeter;
  /** Every DynamoDB command with its start and end (sequential round trips, not only totals). */
  readonly dynamodbRequests: RequestRecorder;
  readonly queueUrl: string;
  stop(): Promise<void>;
}

interface MeterState {
  counts: Record<string, number>;
  millis: Record<string, number>;
  busyMillis: number;
  inFlight: number;
  busySince: number;
}

/**
 * Wraps the client's `send`, so a request's time is what its caller waits for: the SDK's own per-call work
 * (building the middleware stack, signing, (un)marshalling) plus the round trip. Counted once per call,
 * whatever the SDK's retries.
 */
function meterClient(
  client: { send: (...args: never[]) => Promise<unknown> },
  service: string,
  meter: MeterState,
) {
  const send = client.send.bind(client) as (...args: unknown[]) => Promise<unknown>;
  (client as { send: (...args: unknown[]) => Promise<unknown> }).send = async (...args: unknown[]) => {
    const started = performance.now();
    if (meter.inFlight === 0) meter.busySince = started;
    meter.inFlight += 1;
    try {
      return await send(...args);
    } finally {
      const ended = performance.now();
      meter.inFlight -= 1;
      if (meter.inFlight === 0) meter.busyMillis += ended - meter.busySince;
      meter.counts[service] = (meter.counts[service] ?? 0) + 1;
      meter.millis[service] = (meter.millis[service] ?? 0) + (ended - started);
    }
  };
}

/**
 * DynamoDB Local is a JVM on the same two cores: its JIT and GC right after each request steal CPU from
 * whatever runs next (an argon2 verify, say), which would be charged to our code. Where `taskset` exists, the
 * JVM gets one core and this process the other, as a Lambda and DynamoDB would never share a CPU.
 */
function separateFromEmulator(jvmPid: number): void {
  try {
    execFileSync('taskset', ['-a', '-cp', '1', String(jvmPid)], { stdio: 'ignore' });
    execFileSync('taskset', ['-a', '-cp', '0', String(process.pid)], { stdio: 'ignore' });
  } catch {
    // No taskset, or a single core: measure as is.
  }
}

export async function startBenchStack(env: Record<string, string> = {}): Promise<BenchStack> {
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] = 'true';
  const emulators = await startEmulators({ dynamodbPort: 0, sqsPort: 0, sesPort: 0 });
  separateFromEmulator(emulators.dynamodbPid);
  const credentials = { accessKeyId: 'bench', secretAccessKey: 'bench' };
  const region = 'us-east-1';
  const prefix = `bench-${Date.now().toString(36)}`;
  const admin = {
    dynamodb: new DynamoDBClient({ endpoint: emulators.endpoints.dynamodb, region, credentials }),
    sqs: new SQSClient({ endpoint: emulators.endpoints.sqs, region, credentials }),
  };
  const tables = await createTables(admin.dynamodb, prefix);
  const queues = await createQueues(admin.sqs, prefix);
  const keyDir = mkdtempSync(join(tmpdir(), 'account-shield-bench-'));
  Object.assign(process.env, {
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
    AWS_REGION: region,
  });
  const config = loadConfig({
    ...process.env,
    ...tables.env,
    NOTIFICATIONS_QUEUE_URL: queues.queueUrl,
    DYNAMODB_ENDPOINT: emulators.endpoints.dynamodb,
    SQS_ENDPOINT: emulators.endpoints.sqs,
    SES_ENDPOINT: emulators.endpoints.ses,
    PUBLIC_APP_URL: 'https://app.account-shield.bench',
    JWT_ISSUER: 'https://auth.account-shield.bench',
    JWT_AUDIENCE: 'account-shield-bench',
    SIGNING_KEY_FILE: join(keyDir, 'signing-key.json'),
    SES_MAX_SEND_RATE: '100000',
    ...env,
  });
  const clients = createAwsClients(config);
  const meter = {
    counts: {} as Record<string, number>,
    millis: {} as Record<string, number>,
    busyMillis: 0,
    inFlight: 0,
    busySince: 0,
    reset() {
      this.busyMillis = 0;
      for (const key of Object.keys(this.counts)) delete this.counts[key];
      for (const key of Object.keys(this.millis)) delete this.millis[key];
    },
    total(service?: string) {
      return service ? (this.counts[service] ?? 0) : Object.values(this.counts).reduce((a, b) => a + b, 0);
    },
  };
  meterClient(clients.dynamodb, 'dynamodb', meter);
  meterClient(clients.sqs, 'sqs', meter);
  // The client the mailers send through (the notifier's SES client is its own: one attempt per call).
  const ses = createBulkSesClient(config);
  meterClient(ses, 'ses', meter);
  const dynamodbRequests = recordRequests(clients.dynamodbClient);
  const deps = createDeps(config, clients, undefined, ses);
  return {
    emulators,
    config,
    clients,
    deps,
    meter,
    dynamodbRequests,
    queueUrl: queues.queueUrl,
    async stop() {
      admin.dynamodb.destroy();
      admin.sqs.destroy();
      await emulators.stop();
    },
  };
}

/** Median of a sample, in the sample's unit. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export const round = (value: number, digits = 3) => Number(value.toFixed(digits));
