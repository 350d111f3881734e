/**
 * A breach from a file, the way an operator runs it: `npm run ops -- incident create --audience-file F` as a
 * child process against the real local stack (HTTP API, dispatcher on a timer, notifier, emulators), killed
 * halfway through the upload and run again, then `incident report`. 20,000 mixed entries: ids, emails in
 * any case, external ids, unknown entries and duplicates.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { seedAccounts } from '../../scripts/seed/seed-accounts.js';
import { createDeps } from '../../shared/app.js';
import { loadConfig } from '../../shared/config.js';
import type { Deps } from '../../shared/use-cases/deps.js';
import { sleep } from '../support/fixtures.js';
import { api } from '../support/http.js';
import { runOpsCli } from '../support/ops-cli.js';
import { startTestStack, type TestStack } from '../support/test-stack.js';

const KNOWN = 1_000;
const DUPLICATES = 1_000;
const UNKNOWN = 18_000;
const ENTRIES = KNOWN + DUPLICATES + UNKNOWN;

let stack: TestStack;
let workDir: string;
let seeder: DynamoDBDocumentClient;
let deps: Deps;

beforeAll(async () => {
  stack = await startTestStack({
    dispatcherIntervalMs: 300,
    env: {
      SES_MAX_SEND_RATE: '2000',
      CAMPAIGN_SETTLE_GRACE_SECONDS: '30',
      DISPATCHER_SAFETY_MARGIN_MS: '1000',
      LOG_LEVEL: 'SILENT',
    },
  });
  workDir = await mkdtemp(join(tmpdir(), 'account-shield-audience-'));
  seeder = DynamoDBDocumentClient.from(
    new DynamoDBClient({ endpoint: stack.endpoints.dynamodb, region: 'us-east-1', maxAttempts: 5 }),
  );
  deps = createDeps(loadConfig(process.env));
}, 60_000);

afterAll(async () => {
  seeder?.destroy();
  await stack?.stop();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

const env = () => ({ ACCOUNT_SHIELD_API_URL: stack.apiUrl, ADMIN_TOKEN: stack.adminToken });

interface Checkpoint {
  incidentId?: string;
  chunksDone: number;
  closed: boolean;
}

describe('incident create --audience-file', () => {
  it('protects and mails every known account of a 20,000-entry file once, resumes a killed upload, and reports every entry', async () => {
    // Prepare: the file, shuffled, with a comment and blank lines that are not entries.
    const accounts = await seedAccounts(seeder, stack.tables, KNOWN);
    const entries = accounts.map((account, i) =>
      i % 3 === 0
        ? account.id
        : i % 3 === 1
          ? i % 2 === 0
            ? account.email.toUpperCase()
            : account.email
          : `ext:${account.externalId}`,
    );
    entries.push(...accounts.slice(0, DUPLICATES).map((account, i) => (i % 2 ? account.email : account.id)));
    for (let i = 0; i < UNKNOWN; i += 1) {
      entries.push(
        i % 3 === 0
          ? randomUUID()
          : i % 3 === 1
            ? `nobody-${i}-${randomBytes(3).toString('hex')}@example.test`
            : `ext:gone-${i}`,
      );
    }
    for (let i = entries.length - 1; i > 0; i -= 1) {
      const j = Math.floor(Math.random() * (i + 1));
      [entries[i], entries[j]] = [entries[j] as string, entries[i] as string];
    }
    const file = join(workDir, 'affected.txt');
    await writeFile(file, `# affected accounts\n\n${entries.join('\n')}\n`);
    const checkpointPath = `${file}.incident-state.json`;
    const title = `File breach ${randomBytes(4).toString('hex')}`;
    const args = [
      '--json',
      'incident',
      'create',
      '--title',
      title,
      '--audience-file',
      file,
      '--force-password-reset',
      '--revoke-sessions',
    ];

    // Act 1: the first run dies (SIGKILL) once its first chunk is stored, before the audience is closed.
    let killedAt: Checkpoint | undefined;
    const first = await runOpsCli(args, env(), (child) => {
      const poll = setInterval(() => {
        readFile(checkpointPath, 'utf8')
          .then((text) => {
            const state = JSON.parse(text) as Checkpoint;
            if (killedAt === undefined && state.chunksDone >= 1) {
              killedAt = state;
              child.kill('SIGKILL');
            }
          })
          .catch(() => undefined);
      }, 5);
      child.on('close', () => clearInterval(poll));
    });
    expect(first.code).toBeNull();
    expect(killedAt).toMatchObject({ chunksDone: 1, closed: false });

    // Act 2: the same command again resumes the same incident and follows it to completion.
    const second = await runOpsCli([...args, '--watch', '--interval-ms', '500'], env());
    expect(second.code).toBe(0);
    expect(second.stderr).toContain(`Resuming incident ${killedAt?.incidentId}`);
    const id = killedAt?.incidentId ?? '';

    // Assess: exact counts, one mail per known account, the effects, and a report line per entry.
    const admin = { token: stack.adminToken };
    const incident = (
      await api(stack.apiUrl).get<{
        incident: { status: string; counts: Record<string, number>; audience: Record<string, number> };
      }>(`/v1/admin/incidents/${id}`, admin)
    ).body.incident;
    expect(incident.status).toBe('completed');
    expect(incident.audience).toEqual({ total: ENTRIES, chunks: 2 });
    expect(incident.counts).toEqual({
      targeted: ENTRIES,
      queued: KNOWN,
      sent: KNOWN,
      skipped: DUPLICATES + UNKNOWN,
      failed: 0,
      effectsApplied: KNOWN,
    });
    const perRecipient = new Map<string, number>();
    for (let attempt = 0; attempt < 40; attempt += 1) {
      perRecipient.clear();
      for (const mail of await stack.ses.listMail()) {
        if (!mail.body.text?.includes(title)) continue;
        for (const to of mail.destination.to) perRecipient.set(to, (perRecipient.get(to) ?? 0) + 1);
      }
      if (perRecipient.size >= KNOWN) break;
      await sleep(250);
    }
    expect(perRecipient.size).toBe(KNOWN);
    expect(accounts.filter((account) => perRecipient.get(account.email) !== 1)).toEqual([]);
    for (const account of accounts.slice(0, 30)) {
      const user = await deps.users.get(account.id);
      expect({ tokenVersion: user?.tokenVersion, mustReset: user?.mustResetPassword }).toEqual({
        tokenVersion: 1,
        mustReset: account.authMethod === 'password',
      });
    }

    const out = join(workDir, 'report.jsonl');
    const report = await runOpsCli(['incident', 'report', id, '--out', out], env());
    expect(report.code).toBe(0);
    const lines = (await readFile(out, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { entry: string; outcome: string; userId?: string });
    expect(lines).toHaveLength(ENTRIES);
    const outcomes = new Map<string, number>();
    for (const line of lines) outcomes.set(line.outcome, (outcomes.get(line.outcome) ?? 0) + 1);
    expect(Object.fromEntries(outcomes)).toEqual({
      sent: KNOWN,
      skipped_duplicate: DUPLICATES,
      skipped_unknown: UNKNOWN,
    });
    expect(report.stdout).toContain(`Wrote ${ENTRIES} entries`);

    // A third run of the same command finds the closed incident and uploads nothing more.
    const third = await runOpsCli(args, env());
    expect(third.code).toBe(0);
    expect(JSON.parse(third.stdout).incident.id).toBe(id);
    const after = await api(stack.apiUrl).get<{ incident: { audience: Record<string, number> } }>(
      `/v1/admin/incidents/${id}`,
      admin,
    );
    expect(after.body.incident.audience).toEqual({ total: ENTRIES, chunks: 2 });
  }, 300_000);

  it('refuses a file with bad lines before declaring anything, naming the lines', async () => {
    const file = join(workDir, 'bad.txt');
    await writeFile(file, 'good@example.test\nnot an entry!\next:\n');
    const titles = `Refused ${randomBytes(3).toString('hex')}`;

    const result = await runOpsCli(
      ['incident', 'create', '--title', titles, '--audience-file', file, '--revoke-sessions'],
      env(),
    );

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/bad\.txt:2: /);
    expect(result.stderr).toMatch(/bad\.txt:3: /);
    const list = await api(stack.apiUrl).get<{ incidents: { title: string }[] }>('/v1/admin/incidents', {
      token: stack.adminToken,
    });
    expect(list.body.incidents.map((incident) => incident.title)).not.toContain(titles);
  }, 60_000);
});
