/**
 * `npm run drill -- --accounts 100000 --affected 30%`: a breach drill on a synthetic population.
 *
 * 1. Starts the local stack in-process (its own emulators on free ports, or `--dynamodb/--sqs/--ses` endpoints
 *    of running ones), with the dispatcher on a timer and the notifier polling, as `npm start` runs them.
 * 2. Seeds accounts fast: BatchWriteItem, 8 requests in flight, one argon2id hash computed once and reused
 *    (hashing a million passwords would take hours and prove nothing here); 3 of 4 are password accounts,
 *    every fourth an SSO account; each has `--sessions` sessions.
 * 3. Writes the affected accounts to a file (ids, emails and mixed-case emails, plus unknown entries and
 *    duplicates) and declares a listed incident from it through the ops CLI, as an operator would:
 *    `npm run ops -- incident create --audience-file F --force-password-reset --revoke-sessions`.
 * 4. Follows the incident and prints a timeline, checks every affected account in the users table, and
 *    projects the times for AWS at the configured SES send rate.
 */
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { hash } from '@node-rs/argon2';
import { Command } from 'commander';
import type { IncidentView } from '../../shared/use-cases/incidents.js';
import { startLocalStack } from '../local/local-stack.js';
import { accountItems, batchPut, type TableItem } from '../seed/seed-accounts.js';

const program = new Command('drill')
  .description('Breach drill: seed a synthetic population, declare a listed incident from a file, time it')
  .option('--accounts <n>', 'accounts in the population', '100000')
  .option('--affected <percent>', 'share of the accounts in the incident, e.g. 30%', '30%')
  .option('--sessions <n>', 'sessions per account', '2')
  .option('--unknown <percent>', 'extra unknown entries in the file, as a share of the affected', '1%')
  .option('--duplicates <percent>', 'repeated entries in the file, as a share of the affected', '1%')
  .option('--ses-rate <n>', 'SES_MAX_SEND_RATE of the local stack (mails/s)', '1000')
  .option('--aws-ses-rate <n>', 'SES send rate to project the AWS times at (mails/s)', '')
  .option('--api-port <port>', 'port of the local API (0: any free one)', '0')
  .parse();

const flags = program.opts<{
  accounts: string;
  affected: string;
  sessions: string;
  unknown: string;
  duplicates: string;
  sesRate: string;
  awsSesRate: string;
  apiPort: string;
}>();

function whole(raw: string, name: string, min: number): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new Error(`${name} must be a whole number >= ${min}`);
  return value;
}

function percent(raw: string, name: string): number {
  const value = Number(raw.replace(/%$/, ''));
  if (!Number.isFinite(value) || value < 0 || value > 100) throw new Error(`${name} must be 0-100%`);
  return value / 100;
}

const ACCOUNTS = whole(flags.accounts, '--accounts', 1);
const AFFECTED_SHARE = percent(flags.affected, '--affected');
const SESSIONS = whole(flags.sessions, '--sessions', 0);
const SES_RATE = whole(flags.sesRate, '--ses-rate', 1);
const AWS_SES_RATE = flags.awsSesRate === '' ? SES_RATE : whole(flags.awsSesRate, '--aws-ses-rate', 1);
const cliPath = fileURLToPath(new URL('../ops/cli.ts', import.meta.url));
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

const started = performance.now();
const elapsed = () => (performance.now() - started) / 1000;
const say = (line: string) => process.stdout.write(`${line}\n`);
const fmt = (seconds: number) =>
  seconds >= 3600
    ? `${(seconds / 3600).toFixed(1)} h`
    : seconds >= 120
      ? `${(seconds / 60).toFixed(1)} min`
      : `${seconds.toFixed(1)} s`;

/** What the drill reads of `GET /v1/admin/incidents/{id}`. */
type IncidentState = Pick<IncidentView, 'status' | 'counts'>;

async function main(): Promise<void> {
  const workDir = await mkdtemp(join(tmpdir(), 'account-shield-drill-'));
  say(
    `Breach drill: ${ACCOUNTS} accounts, ${(AFFECTED_SHARE * 100).toFixed(1)}% affected, ${SESSIONS} sessions each`,
  );
  const stack = await startLocalStack({
    prefix: `drill${randomBytes(3).toString('hex')}`,
    emulatorPorts: { dynamodbPort: 0, sqsPort: 0, sesPort: 0 },
    apiPort: Number(flags.apiPort),
    signingKeyFile: join(workDir, 'signing-key.json'),
    dispatcher: { intervalMs: 1000 },
    notifier: { waitTimeSeconds: 1, concurrency: 4 },
    env: {
      LOG_LEVEL: 'ERROR',
      SES_MAX_SEND_RATE: String(SES_RATE),
      CAMPAIGN_SETTLE_GRACE_SECONDS: '5',
      DISPATCHER_SAFETY_MARGIN_MS: '2000',
    },
  });
  try {
    say(`[${fmt(elapsed())}] local stack up at ${stack.apiUrl}`);
    const db = DynamoDBDocumentClient.from(
      new DynamoDBClient({ endpoint: stack.endpoints.dynamodb, region: 'us-east-1', maxAttempts: 10 }),
      { marshallOptions: { removeUndefinedValues: true } },
    );
    const population = await seed(db, stack.tables);
    const affected = population.filter((_, i) => hashShare(i) < AFFECTED_SHARE);
    const file = join(workDir, 'affected.txt');
    const unknown = Math.round(affected.length * percent(flags.unknown, '--unknown'));
    const duplicates = Math.round(affected.length * percent(flags.duplicates, '--duplicates'));
    const lines = affected.map((account, i) =>
      i % 3 === 0 ? account.id : i % 3 === 1 ? account.email : account.email.toUpperCase(),
    );
    for (let i = 0; i < duplicates; i += 1) lines.push(affected[i % affected.length]?.email ?? '');
    for (let i = 0; i < unknown; i += 1)
      lines.push(`gone-${i}-${randomBytes(3).toString('hex')}@example.test`);
    await writeFile(file, `${lines.join('\n')}\n`);
    say(
      `[${fmt(elapsed())}] audience file: ${lines.length} entries (${affected.length} affected accounts, ${duplicates} duplicates, ${unknown} unknown)`,
    );

    const t0 = performance.now();
    const since = () => (performance.now() - t0) / 1000;
    const timeline: [string, number][] = [];
    const mark = (what: string) => {
      timeline.push([what, since()]);
      say(`  T+${fmt(since()).padStart(8)}  ${what}`);
    };
    say('Timeline (T = the operator runs `npm run ops -- incident create --audience-file ...`):');
    const id = await declare(stack.apiUrl, stack.adminToken, file);
    mark(`incident ${id} accepted: audience uploaded and closed, status scheduled`);

    const knownAffected = affected.length;
    const passwordAffected = affected.filter((account) => account.authMethod === 'password').length;
    let firstEffect = false;
    let halfEffects = false;
    let allEffects = false;
    let firstMail: number | undefined;
    let allMail = false;
    let state: IncidentState;
    for (;;) {
      state = await getIncident(stack.apiUrl, stack.adminToken, id);
      const effects = state.counts.effectsApplied ?? 0;
      if (!firstEffect && effects > 0) {
        firstEffect = true;
        mark('first account protected (token version bumped, reset forced, event recorded)');
      }
      if (!halfEffects && effects >= knownAffected / 2) {
        halfEffects = true;
        mark(`half of the affected accounts protected (${effects})`);
      }
      if (!allEffects && effects >= knownAffected) {
        allEffects = true;
        mark(
          `effects applied to the last account: every token of the ${knownAffected} affected accounts revoked, all ${passwordAffected} password accounts forced to reset`,
        );
      }
      if (firstMail === undefined && state.counts.sent > 0) {
        firstMail = since();
        mark('first mail sent');
      }
      // A mail whose SES call timed out is counted failed and never resent (ADR 0003): settled, not sent.
      if (!allMail && state.counts.sent + state.counts.failed >= knownAffected) {
        allMail = true;
        mark(`every mail settled: ${state.counts.sent} sent, ${state.counts.failed} failed`);
      }
      if (state.status === 'completed' || state.status === 'cancelled') {
        mark(`incident ${state.status}: ${JSON.stringify(state.counts)}`);
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const effectsAt = timeline.find(([what]) => what.startsWith('effects applied'))?.[1] ?? Number.NaN;
    const mailsAt = timeline.find(([what]) => what.startsWith('every mail'))?.[1] ?? since();
    const accepted = timeline[0]?.[1] ?? 0;
    const sendRate = state.counts.sent / (mailsAt - (firstMail ?? accepted));
    const effectRate = knownAffected / (effectsAt - accepted);

    const check = await verify(db, stack.tables.users, new Set(affected.map((account) => account.id)));
    say('Checked in the users table after the drill:');
    say(
      `  affected accounts with a bumped token version: ${check.revoked}/${knownAffected}; password accounts forced to reset: ${check.forced}/${passwordAffected}; unaffected accounts touched: ${check.untouchedViolations}`,
    );
    say('Rates measured here (emulators on this machine, the floor rather than AWS):');
    say(
      `  effects: ${effectRate.toFixed(0)} accounts/s; mail: ${sendRate.toFixed(0)} mails/s (SES emulator, SES_MAX_SEND_RATE=${SES_RATE})`,
    );
    const uploadRate = lines.length / accepted;
    say(
      `  audience upload through the ops CLI: ${uploadRate.toFixed(0)} entries/s (${lines.length} in ${fmt(accepted)})`,
    );
    // On AWS each account's effects are one TransactWriteItems (~10-20 ms), 16 in flight per dispatcher run.
    const awsEffectRate = 16 / 0.015;
    say(
      `Projection for AWS (SES at ${AWS_SES_RATE} mails/s; effects assumed at 16 transactions in flight x ~15 ms = ~${awsEffectRate.toFixed(0)} accounts/s):`,
    );
    for (const scale of [knownAffected, 1_000_000, 10_000_000]) {
      say(
        `  ${scale.toLocaleString('en')} listed accounts: upload ${fmt(scale / uploadRate)} (rate measured here), last account protected after ~${fmt(scale / awsEffectRate)}, last mail after ~${fmt(Math.max(scale / AWS_SES_RATE, scale / awsEffectRate))} (SES bound)`,
      );
    }
    await rm(workDir, { recursive: true, force: true });
    db.destroy();
  } finally {
    await stack.stop();
  }
}

/** A stable pseudo-random share in [0, 1) per account index, so the affected set is spread over the table. */
function hashShare(index: number): number {
  const x = Math.sin(index * 12.9898 + 78.233) * 43758.5453;
  return x - Math.floor(x);
}

interface Account {
  readonly id: string;
  readonly email: string;
  readonly authMethod: 'password' | 'sso';
}

async function seed(
  db: DynamoDBDocumentClient,
  tables: { readonly users: string; readonly identifiers: string; readonly sessions: string },
): Promise<Account[]> {
  const seedStart = performance.now();
  // One real argon2id hash, reused: the population looks like production data without hours of hashing.
  const passwordHash = await hash('drill-password-not-used', {
    memoryCost: 19_456,
    timeCost: 2,
    parallelism: 1,
  });
  const now = Date.now();
  const nowDate = new Date(now);
  const nowIso = nowDate.toISOString();
  const password = { hash: passwordHash, setAt: now - 86_400_000 };
  const tag = randomBytes(3).toString('hex');
  const accounts: Account[] = [];
  let pending: TableItem[] = [];
  let written = 0;
  const inFlight = new Set<Promise<void>>();
  const flush = async (batch: TableItem[]) => {
    await batchPut(db, batch);
    written += batch.length;
  };
  const push = async (table: string, item: Record<string, unknown>) => {
    pending.push({ table, item });
    if (pending.length < 25) return;
    const batch = pending;
    pending = [];
    const task = flush(batch).finally(() => inFlight.delete(task));
    inFlight.add(task);
    if (inFlight.size >= 8) await Promise.race(inFlight);
  };
  let lastReport = performance.now();
  for (let i = 0; i < ACCOUNTS; i += 1) {
    const authMethod: 'password' | 'sso' = i % 4 === 3 ? 'sso' : 'password';
    const userId = randomUUID();
    const email = `drill-${tag}-${i}@example.test`;
    accounts.push({ id: userId, email, authMethod });
    for (const { table, item } of accountItems(tables, { userId, email, authMethod }, password, nowDate))
      await push(table, item);
    for (let s = 0; s < SESSIONS; s += 1) {
      await push(tables.sessions, {
        userId,
        sessionId: randomUUID(),
        deviceName: s === 0 ? 'Laptop' : `Phone ${s}`,
        refreshTokenHash: randomBytes(32).toString('hex'),
        tokenVersion: 0,
        createdAt: nowIso,
        createdAtMs: now,
        lastUsedAt: nowIso,
        expiresAt: Math.floor(now / 1000) + 30 * 86_400,
      });
    }
    if (performance.now() - lastReport > 10_000) {
      lastReport = performance.now();
      say(`  seeding: ${i + 1}/${ACCOUNTS} accounts (${written} items written)`);
    }
  }
  if (pending.length > 0) await flush(pending);
  await Promise.all(inFlight);
  const seconds = (performance.now() - seedStart) / 1000;
  say(
    `[${fmt(elapsed())}] seeded ${ACCOUNTS} accounts (${ACCOUNTS - Math.floor(ACCOUNTS / 4)} password, ${Math.floor(ACCOUNTS / 4)} SSO) and ${ACCOUNTS * SESSIONS} sessions: ${written} items in ${fmt(seconds)} (${(written / seconds).toFixed(0)} items/s)`,
  );
  return accounts;
}

/** The ops CLI as a child process, exactly as an operator runs it; resolves with the incident id. */
function declare(apiUrl: string, adminToken: string, file: string): Promise<string> {
  const env: NodeJS.ProcessEnv = { ...process.env, ACCOUNT_SHIELD_API_URL: apiUrl, ADMIN_TOKEN: adminToken };
  delete env['NODE_OPTIONS'];
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        cliPath,
        '--json',
        'incident',
        'create',
        '--title',
        'Breach drill',
        '--audience-file',
        file,
        '--force-password-reset',
        '--revoke-sessions',
      ],
      { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`ops CLI exited with ${code}: ${stdout}`));
      resolve((JSON.parse(stdout) as { incident: { id: string } }).incident.id);
    });
  });
}

async function getIncident(apiUrl: string, adminToken: string, id: string): Promise<IncidentState> {
  // A loaded machine makes DynamoDB Local answer late and the API say 503: poll again, as an operator would.
  for (let attempt = 1; ; attempt += 1) {
    try {
      const response = await fetch(`${apiUrl}/v1/admin/incidents/${id}`, {
        headers: { authorization: `Bearer ${adminToken}` },
        signal: AbortSignal.timeout(10_000),
      });
      if (response.ok) return ((await response.json()) as { incident: IncidentState }).incident;
      if (attempt >= 30) throw new Error(`GET incident answered ${response.status}`);
    } catch (error) {
      if (attempt >= 30) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

/** Reads every account back (parallel Scan) and checks the effects landed exactly on the affected ones. */
async function verify(db: DynamoDBDocumentClient, table: string, affected: ReadonlySet<string>) {
  let revoked = 0;
  let forced = 0;
  let untouchedViolations = 0;
  const segments = 4;
  await Promise.all(
    Array.from({ length: segments }, async (_, segment) => {
      let startKey: Record<string, unknown> | undefined;
      do {
        const page = await db.send(
          new ScanCommand({
            TableName: table,
            Segment: segment,
            TotalSegments: segments,
            ProjectionExpression: 'userId, tokenVersion, mustResetPassword',
            ExclusiveStartKey: startKey,
          }),
        );
        for (const item of page.Items ?? []) {
          const hit = affected.has(item['userId'] as string);
          const bumped = (item['tokenVersion'] as number) > 0;
          const mustReset = item['mustResetPassword'] === true;
          if (hit && bumped) revoked += 1;
          if (hit && mustReset) forced += 1;
          if (!hit && (bumped || mustReset)) untouchedViolations += 1;
        }
        startKey = page.LastEvaluatedKey;
      } while (startKey);
    }),
  );
  return { revoked, forced, untouchedViolations };
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
