import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { createAwsClients } from '../../shared/aws/clients.js';
import { loadConfig } from '../../shared/config.js';
import { sleep, uniqueName } from '../support/fixtures.js';
import { api } from '../support/http.js';
import { runOpsCli } from '../support/ops-cli.js';
import { startTestStack, type TestStack } from '../support/test-stack.js';

let stack: TestStack;
let workDir: string;

beforeAll(async () => {
  stack = await startTestStack({ env: { LOG_LEVEL: 'SILENT' } });
  workDir = await mkdtemp(join(tmpdir(), 'account-shield-import-'));
});
afterAll(async () => {
  await stack?.stop();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

const cliEnv = () => ({ ACCOUNT_SHIELD_API_URL: stack.apiUrl, ADMIN_TOKEN: stack.adminToken });

async function countUsersWithEmailPrefix(prefix: string): Promise<{ items: number; emails: number }> {
  const db = createAwsClients(loadConfig(process.env)).dynamodb;
  const emails: string[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await db.send(
      new ScanCommand({
        TableName: stack.tables.users,
        FilterExpression: 'begins_with(email, :prefix)',
        ExpressionAttributeValues: { ':prefix': prefix },
        ExclusiveStartKey: startKey,
      }),
    );
    for (const item of page.Items ?? []) emails.push(item['email'] as string);
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return { items: emails.length, emails: new Set(emails).size };
}

describe('npm run ops -- users import --file', () => {
  it('resumes after being killed halfway: every row imported once, rejects listed by line', async () => {
    const tag = uniqueName('bulk').replace(/_/g, '.');
    const lines: string[] = [];
    for (let i = 1; i <= 1200; i += 1) {
      if (i === 7) lines.push('{"email": broken json');
      else if (i === 1100) lines.push(JSON.stringify({ email: 'not-an-email', authMethod: 'sso' }));
      else
        lines.push(
          JSON.stringify({ email: `${tag}.${i}@example.test`, authMethod: 'sso', externalId: `${tag}-${i}` }),
        );
    }
    const file = join(workDir, 'users.jsonl');
    await writeFile(file, `${lines.join('\n')}\n`);
    const args = ['users', 'import', '--file', file, '--batch-size', '40', '--concurrency', '2'];

    // First run: killed without warning once a few batches are checkpointed.
    const cliPath = fileURLToPath(new URL('../../scripts/ops/cli.ts', import.meta.url));
    const env: NodeJS.ProcessEnv = { ...process.env, ...cliEnv() };
    delete env['NODE_OPTIONS'];
    const child = spawn(process.execPath, ['--import', 'tsx', cliPath, ...args], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      env,
      stdio: 'ignore',
    });
    const exited = new Promise((resolve) => child.on('close', resolve));
    const checkpointPath = `${file}.import-state.json`;
    for (let waited = 0; waited < 60_000; waited += 50) {
      const state = await readFile(checkpointPath, 'utf8').then(
        (text) => JSON.parse(text) as { next: { batch: number } },
        () => undefined,
      );
      if (state && state.next.batch >= 6) break;
      await sleep(50);
    }
    child.kill('SIGKILL');
    await exited;
    const halfway = JSON.parse(await readFile(checkpointPath, 'utf8')) as {
      next: { batch: number };
      complete: boolean;
    };
    expect(halfway.complete).toBe(false);
    expect(halfway.next.batch).toBeLessThan(40);

    const second = await runOpsCli(args, cliEnv());
    expect(second.stderr).toContain('Resuming');
    expect(second.code).toBe(2); // two rows rejected
    expect(second.stdout).toMatch(/Imported .*1198 created|already there/);
    const counts = await countUsersWithEmailPrefix(`${tag}.`);
    expect(counts).toEqual({ items: 1198, emails: 1198 });

    const rejected = (await readFile(`${file}.rejected.jsonl`, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { line: number; error: string });
    expect(rejected.map((r) => r.line)).toEqual([7, 1100]);
    expect(JSON.stringify(rejected)).not.toContain('not-an-email');

    // A third run sees a finished checkpoint and sends nothing.
    const third = await runOpsCli(args, cliEnv());
    expect(third.code).toBe(0);
    expect(third.stdout).toContain('already imported completely');
  }, 120_000);

  it('imports a CSV export with salted SHA-1 digests; the users sign in with their old passwords', async () => {
    const tag = uniqueName('csv').replace(/_/g, '.');
    const rows = [1, 2, 3].map((i) => {
      const salt = `s${i}x`;
      const password = `old-password-${i}`;
      return {
        email: `${tag}.${i}@example.test`,
        password,
        line: `${tag}.${i}@example.test,password,legacy-${tag}-${i},${createHash('sha1').update(`${password}${salt}`).digest('hex')},sha1,${salt},suffix`,
      };
    });
    const file = join(workDir, 'users.csv');
    await writeFile(
      file,
      [
        'email,authMethod,externalId,passwordHash,hashAlgorithm,salt,saltPosition',
        ...rows.map((r) => r.line),
      ].join('\n'),
    );
    const result = await runOpsCli(['users', 'import', '--file', file, '--json'], cliEnv());
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ complete: true, created: 3, exists: 0, rejected: 0 });
    const client = api(stack.apiUrl);
    for (const row of rows) {
      const login = await client.post('/v1/auth/login', { login: row.email, password: row.password });
      expect(login.status).toBe(200);
    }
  }, 60_000);
});
