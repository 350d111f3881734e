/**
 * Issue 4 benchmark (`tsx bench/campaign.ts`; not a test): breach incidents on the local emulators.
 *
 * 1. Forced reset + revocation for `scope: all`: incident creation time with 1,000 vs 100,000 accounts.
 *    It is one write per cut-off whatever the number of accounts, so the ratio should be ~1 (target <= 1.2).
 * 2. A notification campaign to 10,000+ accounts through the real dispatcher and notifier code: AWS requests
 *    per recipient (SES counted apart), and recipients/s as a ratio to the emulators' own floor for the work
 *    each recipient needs (two DynamoDB item writes, one 50th of a bulk SES call), measured in the same run.
 * 3. A projection to 30 million accounts at a few SES sending rates, next to the per-user-API alternative.
 *
 * Figures go to bench/results/campaign.json.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { BatchWriteCommand, DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { createQueues, createTables } from '../scripts/local/provision.js';
import { createBulkSesClient, createDeps } from '../shared/app.js';
import { createAwsClients } from '../shared/aws/clients.js';
import { sendBulkEmailCommand } from '../shared/aws/ses-bulk-mailer.js';
import type { Config } from '../shared/config.js';
import { roundCounts } from '../shared/domain/incident.js';
import type { UserRecord } from '../shared/domain/user.js';
import { createIncidentBody } from '../shared/http/incident-schemas.js';
import { incidentMail } from '../shared/notifications/incident-mail.js';
import { notificationMessageSchema } from '../shared/notifications/messages.js';
import { systemClock } from '../shared/ports/clock.js';
import {
  deliverIncidentBatch,
  type IncidentBatchOutcome,
} from '../shared/use-cases/deliver-incident-batch.js';
import type { Deps } from '../shared/use-cases/deps.js';
import { dispatchDueCampaigns } from '../shared/use-cases/dispatch-campaigns.js';
import { createIncident } from '../shared/use-cases/incidents.js';
import { type BenchStack, median, round, startBenchStack } from './support/bench-stack.js';

const here = dirname(fileURLToPath(import.meta.url));

const SMALL_TENANT = 1_000;
const LARGE_TENANT = 100_000;
const CREATIONS_PER_SIZE = 15;
const CAMPAIGN_ACCOUNTS = 10_000;
/** Parallel notifier invocations, each handling one SQS batch of up to 10 messages at once. */
const NOTIFIERS = 3;
const PROJECTED_ACCOUNTS = 30_000_000;
const PROJECTED_SES_RATES = [14, 1_000, 10_000];
/**
 * The per-user-API alternative: Amazon Cognito user pools, default request-rate quotas per account and
 * Region (https://docs.aws.amazon.com/cognito/latest/developerguide/quotas.html, "API operation categories
 * and request rate quotas"; check the current values in the Service Quotas console). AdminUserGlobalSignOut is
 * in the UserUpdate category (25 RPS, not adjustable) and AdminResetUserPassword in UserAccountRecovery (30 RPS).
 * Even then, Cognito access tokens already issued stay valid until they expire.
 */
const COGNITO = {
  globalSignOut: { operation: 'AdminUserGlobalSignOut', category: 'UserUpdate', rps: 25 },
  resetPassword: { operation: 'AdminResetUserPassword', category: 'UserAccountRecovery', rps: 30 },
};

const quietLogger = { warn: () => undefined };

/** Counts every request of a client (one per attempt: the middleware sits inside the SDK's retry loop). */
function countRequests(
  client: { middlewareStack: { add: (...args: never[]) => void } },
  counter: { n: number },
) {
  const middleware = (next: (args: unknown) => Promise<unknown>) => async (args: unknown) => {
    counter.n += 1;
    return next(args);
  };
  (client.middlewareStack.add as (m: unknown, o: { step: string; name: string }) => void)(middleware, {
    step: 'deserialize',
    name: `campaign-bench-${randomUUID()}`,
  });
}

function userRecord(index: number, tag: string, passwordHash: string, createdAt: string): UserRecord {
  // A realistic mix: most accounts have a password, about a third sign in with SSO.
  const sso = index % 3 === 2;
  return {
    userId: randomUUID(),
    email: `bench-${tag}-${index}@example.test`,
    authMethod: sso ? 'sso' : 'password',
    ...(sso ? {} : { passwordHash, passwordSetAt: Date.parse(createdAt) }),
    tokenVersion: 0,
    mustResetPassword: false,
    createdAt,
    updatedAt: createdAt,
  };
}

/** Bulk-loads accounts into a users table (25 per BatchWriteItem); only `scope: all` needs them. */
async function seedUsers(db: DynamoDBDocumentClient, table: string, count: number, passwordHash: string) {
  const tag = randomBytes(3).toString('hex');
  const createdAt = new Date(Date.now() - 60_000).toISOString();
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const start = next;
      next = Math.min(count, next + 25);
      let pending: Record<string, unknown>[] = Array.from({ length: next - start }, (_, i) => ({
        PutRequest: { Item: userRecord(start + i, tag, passwordHash, createdAt) },
      }));
      while (pending.length > 0) {
        const result = await db.send(new BatchWriteCommand({ RequestItems: { [table]: pending as never } }));
        pending = (result.UnprocessedItems?.[table] ?? []) as Record<string, unknown>[];
      }
    }
  };
  await Promise.all(Array.from({ length: 12 }, worker));
}

const incidentRequest = (title: string, notify: boolean) =>
  createIncidentBody.parse({
    title,
    scope: { type: 'all' },
    actions: { forcePasswordReset: true, revokeSessions: true },
    notify: { enabled: notify },
  });

async function timeCreation(deps: Deps, label: string): Promise<number> {
  const started = performance.now();
  await createIncident(deps, incidentRequest(`O(1) check ${label}`, false), quietLogger);
  return performance.now() - started;
}

async function effectsBenchmark(stack: BenchStack, passwordHash: string) {
  const dynamodb = new DynamoDBClient({
    endpoint: stack.emulators.endpoints.dynamodb,
    region: stack.config.region,
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
  });
  const db = DynamoDBDocumentClient.from(dynamodb);
  const tenants: { accounts: number; seedSeconds: number; deps: Deps; samples: number[] }[] = [];
  for (const size of [SMALL_TENANT, LARGE_TENANT]) {
    const tables = await createTables(dynamodb, `bench-o1-${size}-${Date.now().toString(36)}`);
    const seedStarted = performance.now();
    await seedUsers(db, tables.names.users, size, passwordHash);
    const seedSeconds = (performance.now() - seedStarted) / 1000;
    const config: Config = { ...stack.config, tables: tables.names };
    tenants.push({ accounts: size, seedSeconds, deps: createDeps(config, stack.clients), samples: [] });
  }
  // Warm up both, then alternate, so that neither size benefits from running second (JIT, connections).
  for (const tenant of tenants)
    for (let i = 0; i < 3; i += 1) await timeCreation(tenant.deps, `warm-up ${i}`);
  for (let i = 0; i < CREATIONS_PER_SIZE; i += 1) {
    for (const tenant of tenants) tenant.samples.push(await timeCreation(tenant.deps, String(i)));
  }
  dynamodb.destroy();
  const [small, large] = tenants.map((tenant) => ({
    accounts: tenant.accounts,
    seedSeconds: round(tenant.seedSeconds, 1),
    createMillisMedian: round(median(tenant.samples), 2),
    createMillisMax: round(Math.max(...tenant.samples), 2),
  })) as [
    { accounts: number; seedSeconds: number; createMillisMedian: number; createMillisMax: number },
    { accounts: number; seedSeconds: number; createMillisMedian: number; createMillisMax: number },
  ];
  return {
    small,
    large,
    ratioLargeToSmall: round(large.createMillisMedian / small.createMillisMedian, 3),
    target: '<= 1.2',
  };
}

/** What the emulators themselves can do for the work one recipient needs, at the notifiers' concurrency. */
async function emulatorFloor(stack: BenchStack, config: Config) {
  const calls = 40;
  const concurrency = NOTIFIERS * 10;
  // DynamoDB: transactions of 50 conditional puts, the shape of a claim transaction.
  const db = stack.clients.dynamodb;
  const table = config.tables.records;
  let started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = 0; i < Math.ceil(calls / concurrency) + 1; i += 1) {
        await db.send(
          new TransactWriteCommand({
            TransactItems: Array.from({ length: 50 }, () => ({
              Put: {
                TableName: table,
                Item: { pk: `floor#${randomUUID()}`, sk: 'mail', status: 'sending' },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            })),
          }),
        );
      }
    }),
  );
  const transactions = concurrency * (Math.ceil(calls / concurrency) + 1);
  const itemWritesPerSecond = (transactions * 50) / ((performance.now() - started) / 1000);
  // SES: bulk sends of 50 destinations with an inline template, as the notifier sends them.
  const ses = createBulkSesClient(config);
  const mail = incidentMail(
    {
      title: 'floor',
      declaredAt: new Date().toISOString(),
      actions: { forcePasswordReset: true, revokeSessions: true },
      audience: 'password',
      reminder: false,
    },
    { appUrl: config.publicAppUrl },
  );
  started = performance.now();
  let bulkCalls = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = 0; i < 2; i += 1) {
        bulkCalls += 1;
        const to = Array.from({ length: 50 }, (_, j) => `floor-${bulkCalls}-${j}@example.test`);
        await ses.send(sendBulkEmailCommand({ ...mail, to }, { from: config.mailFrom }));
      }
    }),
  );
  const sesRecipientsPerSecond = (bulkCalls * 50) / ((performance.now() - started) / 1000);
  ses.destroy();
  // Each recipient costs two item writes (claim, settle) and a 50th of a bulk call.
  const recipientsPerSecond = Math.min(itemWritesPerSecond / 2, sesRecipientsPerSecond);
  return {
    dynamodbItemWritesPerSecond: round(itemWritesPerSecond, 0),
    sesBulkRecipientsPerSecond: round(sesRecipientsPerSecond, 0),
    recipientsPerSecond: round(recipientsPerSecond, 0),
  };
}

async function campaignBenchmark(stack: BenchStack, passwordHash: string) {
  const dynamodbAdmin = new DynamoDBClient({
    endpoint: stack.emulators.endpoints.dynamodb,
    region: stack.config.region,
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
  });
  const sqsPoller = new SQSClient({
    endpoint: stack.emulators.endpoints.sqs,
    region: stack.config.region,
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
  });
  const prefix = `bench-campaign-${Date.now().toString(36)}`;
  const tables = await createTables(dynamodbAdmin, prefix);
  const queues = await createQueues(sqsPoller, prefix);
  await seedUsers(
    DynamoDBDocumentClient.from(dynamodbAdmin),
    tables.names.users,
    CAMPAIGN_ACCOUNTS,
    passwordHash,
  );
  const config: Config = { ...stack.config, tables: tables.names, notificationsQueueUrl: queues.queueUrl };
  const bulkSes = createBulkSesClient(config);
  const counters = { dynamodb: { n: 0 }, sqs: { n: 0 }, ses: { n: 0 }, polling: { n: 0 } };
  // Fresh clients, so that only this campaign's requests are counted.
  const clients = createAwsClients(config);
  countRequests(clients.dynamodb as never, counters.dynamodb);
  countRequests(clients.sqs as never, counters.sqs);
  countRequests(bulkSes as never, counters.ses);
  countRequests(sqsPoller as never, counters.polling);
  const deps = createDeps(config, clients, systemClock, bulkSes);
  const floor = await emulatorFloor(stack, config);
  for (const counter of Object.values(counters)) counter.n = 0;

  const incident = await createIncident(
    deps,
    incidentRequest(`Campaign bench ${randomUUID()}`, true),
    quietLogger,
  );
  const started = performance.now();
  let walkSeconds = 0;
  const dispatcher = (async () => {
    for (;;) {
      const report = await dispatchDueCampaigns(deps, {
        owner: randomUUID(),
        stopAtMs: Date.now() + 50_000,
        deadlineMs: Date.now() + 60_000,
      });
      const mine = report.incidents.find((entry) => entry.id === incident.id);
      if (mine?.outcome !== 'out_of_time') break;
    }
    walkSeconds = (performance.now() - started) / 1000;
  })();
  const outcomes: IncidentBatchOutcome[] = [];
  let settled = 0;
  let idlePolls = 0;
  const notifier = async () => {
    while (settled < CAMPAIGN_ACCOUNTS && idlePolls < 50) {
      const received = await sqsPoller.send(
        new ReceiveMessageCommand({ QueueUrl: queues.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
      );
      const messages = received.Messages ?? [];
      if (messages.length === 0) {
        idlePolls += 1;
        continue;
      }
      idlePolls = 0;
      // As the Powertools BatchProcessor does: the records of one batch in parallel.
      const results = await Promise.all(
        messages.map(async (message) => {
          const parsed = notificationMessageSchema.parse(JSON.parse(message.Body ?? ''));
          if (parsed.type !== 'incident_batch') throw new Error(`unexpected ${parsed.type}`);
          return deliverIncidentBatch(deps, parsed);
        }),
      );
      for (const result of results) {
        outcomes.push(result);
        settled += result.sent + result.failed + result.skipped;
      }
      await sqsPoller.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queues.queueUrl,
          Entries: messages.map((message, i) => ({ Id: String(i), ReceiptHandle: message.ReceiptHandle! })),
        }),
      );
    }
  };
  await Promise.all([dispatcher, ...Array.from({ length: NOTIFIERS }, notifier)]);
  const seconds = (performance.now() - started) / 1000;
  const requests = {
    dynamodb: counters.dynamodb.n,
    sqs: counters.sqs.n,
    ses: counters.ses.n,
    polling: counters.polling.n,
  };
  // One more dispatcher run closes the round; its requests are not part of the per-recipient figures.
  await dispatchDueCampaigns(deps, {
    owner: randomUUID(),
    stopAtMs: Date.now() + 10_000,
    deadlineMs: Date.now() + 20_000,
  });
  const item = await deps.incidents.get(incident.id);
  const counts = item ? roundCounts(item, await deps.incidents.settlement(incident.id), 0) : undefined;
  const recipients = counts?.targeted ?? 0;
  const recipientsPerSecond = recipients / seconds;
  dynamodbAdmin.destroy();
  sqsPoller.destroy();
  bulkSes.destroy();
  return {
    accounts: CAMPAIGN_ACCOUNTS,
    status: item?.status,
    counts,
    duplicatesDropped: outcomes.reduce((sum, outcome) => sum + outcome.duplicates, 0),
    seconds: round(seconds, 2),
    walkSeconds: round(walkSeconds, 2),
    requests,
    dynamodbPerRecipient: round(requests.dynamodb / recipients, 4),
    sqsSendsPerRecipient: round(requests.sqs / recipients, 4),
    awsRequestsPerRecipientExcludingSes: round((requests.dynamodb + requests.sqs) / recipients, 4),
    target: '<= 0.05',
    sesCallsPerRecipient: round(requests.ses / recipients, 4),
    sqsPollingPerRecipient: round(requests.polling / recipients, 4),
    recipientsPerSecond: round(recipientsPerSecond, 0),
    emulatorFloor: floor,
    ratioToEmulatorFloor: round(recipientsPerSecond / floor.recipientsPerSecond, 3),
    notifierConcurrency: `${NOTIFIERS} pollers x 10 messages`,
    sesMaxSendRate: config.sesMaxSendRate,
  };
}

function projection(
  creationMillis: number,
  campaign: { awsRequestsPerRecipientExcludingSes: number; sesCallsPerRecipient: number },
) {
  const days = (seconds: number) => round(seconds / 86_400, 2);
  const hours = (seconds: number) => round(seconds / 3_600, 1);
  const accounts = PROJECTED_ACCOUNTS;
  return {
    accounts,
    effects: {
      ours: `about ${round(creationMillis, 0)} ms: two conditional writes, whatever the number of accounts; visible to every check within 1 s`,
      cognito: {
        globalSignOut: {
          ...COGNITO.globalSignOut,
          days: days(accounts / COGNITO.globalSignOut.rps),
        },
        resetPassword: {
          ...COGNITO.resetPassword,
          days: days(accounts / COGNITO.resetPassword.rps),
        },
        note: 'two categories, so both can run side by side: about 14 days, and access tokens issued before stay valid until they expire',
      },
    },
    campaign: PROJECTED_SES_RATES.map((rate) => ({
      sesEmailsPerSecond: rate,
      hours: hours(accounts / rate),
      days: days(accounts / rate),
      awsRequestsExcludingSes: Math.round(accounts * campaign.awsRequestsPerRecipientExcludingSes),
      sesCalls: Math.round(accounts * campaign.sesCallsPerRecipient),
    })),
    assumptions: [
      'SES is the bottleneck: the dispatcher queues far faster than SES sends (4 scan segments, 1,000 accounts per page)',
      'at rates under 50/s the notifier splits batches to the rate, so requests per recipient go up there (SES still bounds the time)',
    ],
  };
}

async function main() {
  const stack = await startBenchStack({ LOG_LEVEL: 'ERROR', SES_MAX_SEND_RATE: '100000' });
  try {
    const passwordHash = await stack.deps.hasher.hash('violet-harbour-lantern-42');
    console.log(`seeding ${SMALL_TENANT} and ${LARGE_TENANT} accounts...`);
    const effects = await effectsBenchmark(stack, passwordHash);
    console.log(`campaign to ${CAMPAIGN_ACCOUNTS} accounts...`);
    const campaign = await campaignBenchmark(stack, passwordHash);
    const { small, large } = effects;
    const results = {
      measuredAt: new Date().toISOString(),
      node: process.version,
      effects,
      campaign,
      projection: projection(large.createMillisMedian, campaign),
    };
    mkdirSync(join(here, 'results'), { recursive: true });
    writeFileSync(join(here, 'results', 'campaign.json'), `${JSON.stringify(results, null, 2)}\n`);
    console.log(
      [
        `scope all, force reset + revoke: ${small.createMillisMedian} ms with ${SMALL_TENANT} accounts, ${large.createMillisMedian} ms with ${LARGE_TENANT} (ratio ${effects.ratioLargeToSmall}, target <= 1.2)`,
        `campaign: ${campaign.counts?.sent}/${campaign.counts?.targeted} sent in ${campaign.seconds} s (${campaign.recipientsPerSecond}/s, ${campaign.ratioToEmulatorFloor} of the emulators' floor of ${campaign.emulatorFloor.recipientsPerSecond}/s)`,
        `AWS requests per recipient excluding SES: ${campaign.awsRequestsPerRecipientExcludingSes} (target <= 0.05); SES calls per recipient: ${campaign.sesCallsPerRecipient}`,
        ...results.projection.campaign.map(
          (row) => `30M accounts at ${row.sesEmailsPerSecond} mails/s: ${row.hours} h (${row.days} days)`,
        ),
        `per-user API alternative (Cognito): sign-out ${results.projection.effects.cognito.globalSignOut.days} days, reset ${results.projection.effects.cognito.resetPassword.days} days`,
        'written to bench/results/campaign.json',
      ].join('\n'),
    );
  } finally {
    await stack.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
