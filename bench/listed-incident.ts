/**
 * Issue 15 benchmark (`tsx bench/listed-incident.ts`, also run by `npm run bench`; not a test): listed
 * incidents on the local emulators, through the real use-cases and stores.
 *
 * 1. Effects before mail: a listed audience of `AFFECTED` accounts (ids, emails and external ids) is walked by
 *    the real dispatcher; measured: accounts protected per second, and DynamoDB requests per affected account
 *    on the dispatcher's side (target <= 1.1), counted by SDK middleware on the client the stores use.
 * 2. Dispatcher reads per run with 1 vs 1,000 completed incidents (one due incident each time): requests and
 *    items DynamoDB read; target ratio <= 1.2. For comparison, the items the former partition Query
 *    (`pk = incident`, filter `dueAt <= now`) reads on the same table.
 *
 * Figures go to bench/results/listed-incident.json.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { seedAccounts } from '../scripts/seed/seed-accounts.js';
import { type NewIncident, newIncidentId } from '../shared/domain/incident.js';
import { createIncidentBody } from '../shared/http/incident-schemas.js';
import type { NotificationQueue } from '../shared/ports/notification-queue.js';
import { DynamoDbIncidentsStore } from '../shared/stores/incidents-store.js';
import { queryPages } from '../shared/stores/partition-query.js';
import { dispatchDueCampaigns } from '../shared/use-cases/dispatch-campaigns.js';
import { addAudienceChunk, closeAudience } from '../shared/use-cases/incident-audience.js';
import { createIncident } from '../shared/use-cases/incidents.js';
import { round, startBenchStack } from './support/bench-stack.js';

const here = dirname(fileURLToPath(import.meta.url));
const AFFECTED = Number(process.env['BENCH_LISTED_ACCOUNTS'] ?? 5_000);
const COMPLETED_FEW = 1;
const COMPLETED_MANY = 1_000;
const quietLogger = { warn: () => undefined };

interface DynamoCounter {
  requests: number;
  itemsRead: number;
  byCommand: Record<string, number>;
  reset(): void;
}

/** Counts every DynamoDB call the stores make, and the items Query/Get/BatchGet answered with. */
function countDynamo(client: { middlewareStack: { add: (...args: never[]) => void } }): DynamoCounter {
  const counter: DynamoCounter = {
    requests: 0,
    itemsRead: 0,
    byCommand: {},
    reset() {
      this.requests = 0;
      this.itemsRead = 0;
      this.byCommand = {};
    },
  };
  const middleware =
    (
      next: (args: unknown) => Promise<{ output?: Record<string, unknown> }>,
      context: { commandName?: string },
    ) =>
    async (args: unknown) => {
      const result = await next(args);
      const name = context.commandName ?? 'unknown';
      counter.requests += 1;
      counter.byCommand[name] = (counter.byCommand[name] ?? 0) + 1;
      const output = result.output ?? {};
      if (typeof output['ScannedCount'] === 'number') counter.itemsRead += output['ScannedCount'] as number;
      else if (output['Item'] !== undefined) counter.itemsRead += 1;
      else if (output['Responses'] !== undefined && !Array.isArray(output['Responses'])) {
        for (const items of Object.values(output['Responses'] as Record<string, unknown[]>))
          counter.itemsRead += items.length;
      }
      return result;
    };
  (client.middlewareStack.add as (m: unknown, o: { step: string; name: string }) => void)(middleware, {
    step: 'initialize',
    name: `listed-bench-${randomUUID()}`,
  });
  return counter;
}

async function main() {
  const stack = await startBenchStack({
    LOG_LEVEL: 'ERROR',
    CAMPAIGN_SETTLE_GRACE_SECONDS: '0',
    DISPATCHER_SAFETY_MARGIN_MS: '1000',
  });
  const counter = countDynamo(stack.clients.dynamodb);
  const db = DynamoDBDocumentClient.from(stack.clients.dynamodb);
  const { deps, config } = stack;
  const results: Record<string, unknown> = { measuredAt: new Date().toISOString(), node: process.version };
  try {
    // 1. Effects of a listed incident.
    const accounts = await seedAccounts(db, config.tables, AFFECTED);
    const incident = await createIncident(
      deps,
      createIncidentBody.parse({
        title: 'Listed bench',
        scope: { type: 'list' },
        actions: { forcePasswordReset: true, revokeSessions: true },
        notify: { enabled: true },
      }),
      quietLogger,
    );
    const entries = accounts.map((account, i) =>
      i % 3 === 0 ? account.id : i % 3 === 1 ? account.email : `ext:${account.externalId}`,
    );
    for (let start = 0; start < entries.length; start += 10_000)
      await addAudienceChunk(deps, incident.id, entries.slice(start, start + 10_000), `bench-${start}`);
    await closeAudience(deps, incident.id, quietLogger);
    // The queue is the notifier's business (bench/campaign.ts measures it); here only the walk counts.
    const sink: NotificationQueue = { enqueue: async () => undefined };
    counter.reset();
    const started = performance.now();
    let runs = 0;
    for (;;) {
      runs += 1;
      const nowMs = Date.now();
      const report = await dispatchDueCampaigns(
        { ...deps, notifications: sink },
        { owner: `bench-${runs}`, stopAtMs: nowMs + 50_000, deadlineMs: nowMs + 60_000 },
      );
      const outcome = report.incidents.find((run) => run.id === incident.id)?.outcome;
      if (outcome !== 'out_of_time' && outcome !== 'busy') break;
    }
    const seconds = (performance.now() - started) / 1000;
    const walkRequests = counter.requests;
    const walkByCommand = { ...counter.byCommand };
    const item = await deps.incidents.get(incident.id);
    const effects = (item?.['c0_effects'] as number | undefined) ?? 0;
    results['listedEffects'] = {
      affectedAccounts: AFFECTED,
      effectsApplied: effects,
      dispatcherRuns: runs,
      seconds: round(seconds, 2),
      accountsProtectedPerSecond: round(effects / seconds, 1),
      dynamodbRequests: walkRequests,
      dynamodbRequestsPerAffectedAccount: round(walkRequests / AFFECTED, 4),
      target: '<= 1.1',
      byCommand: walkByCommand,
    };
    console.log(JSON.stringify({ listedEffects: results['listedEffects'] }, null, 2));
    // No notifier runs here, so the round would settle forever: end it, it is history from now on.
    await deps.incidents.cancel(incident.id, new Date());

    // 2. Dispatcher reads per run, 1 vs 1,000 completed incidents.
    const incidents = new DynamoDbIncidentsStore(db, config.tables.records);
    let clock = Date.now() - 3_600_000;
    const declared = (overrides: Partial<NewIncident>): NewIncident => {
      clock += 1;
      return {
        id: newIncidentId(clock),
        title: 'Reads bench',
        status: 'completed',
        createdAt: new Date(clock).toISOString(),
        createdAtMs: clock,
        sendAt: new Date(clock).toISOString(),
        scope: { type: 'users', userIds: [randomUUID()] },
        actions: { forcePasswordReset: false, revokeSessions: true },
        notify: { enabled: true },
        maxReminders: 0,
        round: 0,
        phase: 'done',
        segments: 1,
        cursors: {},
        rounds: {},
        ...overrides,
      };
    };
    const measureRun = async (completed: number) => {
      const existing = await countPartition(db, config.tables.records);
      for (let start = existing; start < completed; start += 25)
        await Promise.all(
          Array.from({ length: Math.min(25, completed - start) }, () => incidents.create(declared({}))),
        );
      // One due incident (an unknown account: the run walks, settles and completes it).
      await incidents.create(declared({ status: 'scheduled', phase: 'waiting', dueAt: clock }));
      counter.reset();
      const nowMs = Date.now();
      await dispatchDueCampaigns(deps, {
        owner: `reads-${completed}`,
        stopAtMs: nowMs + 20_000,
        deadlineMs: nowMs + 30_000,
      });
      const run = {
        requests: counter.requests,
        itemsRead: counter.itemsRead,
        byCommand: { ...counter.byCommand },
      };
      const partition = await db.send(
        new QueryCommand({
          TableName: config.tables.records,
          KeyConditionExpression: 'pk = :pk',
          FilterExpression: 'dueAt <= :now',
          ExpressionAttributeValues: { ':pk': 'incident', ':now': Date.now() },
          Select: 'COUNT',
        }),
      );
      return {
        completedIncidents: completed,
        ...run,
        formerPartitionQueryItemsRead: partition.ScannedCount ?? 0,
      };
    };
    const few = await measureRun(COMPLETED_FEW);
    const many = await measureRun(COMPLETED_MANY);
    results['dispatcherReads'] = {
      few,
      many,
      requestRatio: round(many.requests / few.requests, 3),
      itemsReadRatio: round(many.itemsRead / few.itemsRead, 3),
      target: 'ratio <= 1.2',
    };
    console.log(JSON.stringify({ dispatcherReads: results['dispatcherReads'] }, null, 2));
  } finally {
    await stack.stop();
  }
  mkdirSync(join(here, 'results'), { recursive: true });
  writeFileSync(join(here, 'results', 'listed-incident.json'), `${JSON.stringify(results, null, 2)}\n`);
}

/** Incidents in the partition (the listed one of step 1 included). */
async function countPartition(db: DynamoDBDocumentClient, table: string): Promise<number> {
  let count = 0;
  for await (const page of queryPages(db, {
    TableName: table,
    KeyConditionExpression: 'pk = :pk',
    ExpressionAttributeValues: { ':pk': 'incident' },
    Select: 'COUNT',
  })) {
    count += page.Count ?? 0;
  }
  return count;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
