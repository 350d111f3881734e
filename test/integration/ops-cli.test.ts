import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { uniqueName } from '../support/fixtures.js';
import { runOpsCli } from '../support/ops-cli.js';
import { startTestStack, type TestStack } from '../support/test-stack.js';

/** The ops CLI end to end: a child process, configured like an operator would, against the real local stack. */

let stack: TestStack;
let workDir: string;

beforeAll(async () => {
  stack = await startTestStack({
    dispatcherIntervalMs: 300,
    env: { SES_MAX_SEND_RATE: '500', CAMPAIGN_SETTLE_GRACE_SECONDS: '30', LOG_LEVEL: 'SILENT' },
  });
  workDir = await mkdtemp(join(tmpdir(), 'account-shield-ops-'));
});
afterAll(async () => {
  await stack?.stop();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

const runCli = (args: readonly string[]) =>
  runOpsCli(args, { ACCOUNT_SHIELD_API_URL: stack.apiUrl, ADMIN_TOKEN: stack.adminToken });

describe('ops CLI against the local stack', () => {
  it('imports users, reports bad rows by line, then runs and watches an incident to completion', async () => {
    const tag = uniqueName('ops');
    const alice = `${tag}.alice@example.test`;
    const bob = `${tag}.bob@example.test`;
    const csv = join(workDir, 'users.csv');
    await writeFile(
      csv,
      [
        'email,username,authMethod,password',
        `${alice},${tag}_alice,password,"violet, river and canyon"`,
        `${bob},,sso,`,
        `${tag}.weak@example.test,${tag}_weak,password,password`,
      ].join('\n'),
    );
    const imported = await runCli(['users', 'import', csv, '--format', 'csv']);
    expect(imported.code).toBe(2);
    expect(`${imported.stdout}${imported.stderr}`).toMatch(/users.csv:4: .*weak_password/);
    expect(`${imported.stdout}${imported.stderr}`).not.toContain('violet, river and canyon');

    const emails = join(workDir, 'emails.txt');
    await writeFile(emails, `# affected accounts\n${alice}\n${bob}\n${tag}.nobody@example.test\n`);
    const title = `Ops drill ${tag}`;
    const created = await runCli([
      '--json',
      'incident',
      'create',
      '--title',
      title,
      '--emails-file',
      emails,
      '--force-password-reset',
      '--revoke-sessions',
      '--watch',
      '--interval-ms',
      '300',
    ]);
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    const lines = created.stdout
      .trim()
      .split('\n')
      .map(
        (line) => JSON.parse(line) as { status?: string; incident?: { status: string }; counts?: unknown },
      );
    const last = lines[lines.length - 1]!;
    expect(JSON.stringify(last)).toContain('"completed"');
    expect(JSON.stringify(last)).toMatch(/"targeted":3.*"sent":2.*"skipped":1.*"failed":0/);

    for (const address of [alice, bob]) {
      const mails = (await stack.ses.listMail(address)).filter((mail) => mail.body.text?.includes(title));
      expect(mails).toHaveLength(1);
    }
    const listed = await runCli(['--json', 'incident', 'list']);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain(title);
  }, 60_000);
});
