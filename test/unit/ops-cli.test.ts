import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runOpsCli } from '../support/ops-cli.js';

/**
 * Runs `scripts/ops/cli.ts` as a child process, configured only through env vars and arguments, against
 * a small stand-in for the admin API: the same way the end-to-end test against the real stack will.
 */
const adminToken = 'test-admin-token-0123456789';
const runCli = runOpsCli;

const incidentAt = (status: string, sent: number) => ({
  id: 'inc-1',
  title: 'Credential stuffing',
  status,
  createdAt: '2030-01-02T03:04:05.000Z',
  sendAt: '2030-01-02T03:04:05.000Z',
  scope: { type: 'emails', emails: ['a@example.com', 'b@example.com'] },
  actions: { forcePasswordReset: true, revokeSessions: false },
  counts: { targeted: 2, queued: 2, sent, skipped: 0, failed: 0 },
});

describe('ops CLI as a child process', () => {
  let server: Server;
  let apiUrl = '';
  let workDir = '';
  let polls = 0;
  const received: {
    method: string;
    url: string;
    authorization: string | undefined;
    idempotencyKey: string | undefined;
    body: string;
  }[] = [];

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'ops-cli-'));
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString();
        received.push({
          method: req.method ?? '',
          url: req.url ?? '',
          authorization: req.headers.authorization,
          idempotencyKey: req.headers['idempotency-key'] as string | undefined,
          body,
        });
        const reply = (status: number, payload: unknown): void => {
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(JSON.stringify(payload));
        };
        if (req.headers.authorization !== `Bearer ${adminToken}`) {
          reply(401, { error: 'invalid_token', message: 'Missing or invalid admin token.' });
        } else if (req.method === 'POST' && req.url === '/v1/admin/incidents') {
          reply(201, { incident: incidentAt('scheduled', 0) });
        } else if (req.method === 'GET' && req.url === '/v1/admin/incidents/inc-1') {
          polls += 1;
          reply(200, { incident: incidentAt(polls < 2 ? 'running' : 'completed', Math.min(polls, 2)) });
        } else if (req.method === 'POST' && req.url === '/v1/admin/users') {
          const user = JSON.parse(body) as { email: string; authMethod: string };
          if (user.email === 'taken@example.com') {
            reply(409, {
              error: 'account_exists',
              message: 'An account with this email or username already exists.',
            });
          } else {
            reply(201, {
              user: {
                id: `id-${user.email}`,
                email: user.email,
                username: null,
                authMethod: user.authMethod,
              },
            });
          }
        } else {
          reply(404, { error: 'not_found', message: 'Not found.' });
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(workDir, { recursive: true, force: true });
  });

  beforeEach(() => {
    received.length = 0;
    polls = 0;
  });

  const env = () => ({ ACCOUNT_SHIELD_API_URL: apiUrl, ADMIN_TOKEN: adminToken });

  it('creates an incident from env configuration and watches it to completion, one line per change', async () => {
    const result = await runCli(
      [
        'incident',
        'create',
        '--title',
        'Credential stuffing',
        '--email',
        'a@example.com',
        'B@example.com',
        '--force-password-reset',
        '--watch',
        '--interval-ms',
        '200',
      ],
      env(),
    );

    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(JSON.parse(received[0]?.body ?? '')).toEqual({
      title: 'Credential stuffing',
      scope: { type: 'emails', emails: ['a@example.com', 'b@example.com'] },
      actions: { forcePasswordReset: true, revokeSessions: false },
      notify: { enabled: true },
    });
    expect(received.every((request) => request.authorization === `Bearer ${adminToken}`)).toBe(true);
    const progressLines = result.stdout
      .split('\n')
      .filter((line) => / (running|completed) targeted=/.test(line));
    expect(progressLines).toEqual([
      expect.stringMatching(/ running targeted=2 queued=2 sent=1 skipped=0 failed=0$/),
      expect.stringMatching(/ completed targeted=2 queued=2 sent=2 skipped=0 failed=0$/),
    ]);
  });

  it('prints the API error in two lines, no stack, and exits 1 on a wrong token', async () => {
    const result = await runCli(['incident', 'list'], { ...env(), ADMIN_TOKEN: 'wrong-token-0123456789' });

    expect(result.code).toBe(1);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toEqual([
      'Error: Missing or invalid admin token. (HTTP 401 invalid_token)',
      expect.stringContaining('ADMIN_TOKEN'),
    ]);
    expect(result.stderr).not.toContain('wrong-token');
  });

  it('sends one fresh Idempotency-Key per run, or the one given with --idempotency-key', async () => {
    const create = ['incident', 'create', '--title', 'Credential stuffing', '--email', 'a@example.com'];

    // In parallel: each run is a child process, and four in a row take long on a busy machine.
    const [, , , refused] = await Promise.all([
      runCli(create, env()),
      runCli(create, env()),
      runCli(['--idempotency-key', 'drill-2030-01-02', ...create], env()),
      runCli(['--idempotency-key', 'x'.repeat(101), ...create], env()),
    ]);

    const keys = received.map((request) => request.idempotencyKey ?? '');
    expect(received).toHaveLength(3);
    expect(keys.filter((key) => key === 'drill-2030-01-02')).toHaveLength(1);
    const fresh = keys.filter((key) => key !== 'drill-2030-01-02');
    expect(fresh).toEqual([
      expect.stringMatching(/^[0-9a-f-]{36}$/),
      expect.stringMatching(/^[0-9a-f-]{36}$/),
    ]);
    expect(fresh[0]).not.toBe(fresh[1]);
    expect(refused?.code).toBe(1);
    expect(refused?.stderr).toContain('--idempotency-key must be 1 to 100 printable ASCII characters');
  }, 90_000);

  it('names the URL it could not reach', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise<void>((resolve) => closed.close(() => resolve()));

    const result = await runCli(['incident', 'show', 'inc-1'], { ...env(), ACCOUNT_SHIELD_API_URL: deadUrl });

    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe(
      `Error: could not reach ${deadUrl}/v1/admin/incidents/inc-1: connection refused (ECONNREFUSED)`,
    );
  });

  it('says how to authenticate when neither ADMIN_TOKEN nor --iam is given', async () => {
    const result = await runCli(['incident', 'list'], {
      ACCOUNT_SHIELD_API_URL: apiUrl,
      ADMIN_TOKEN: undefined,
    });

    expect(result.code).toBe(1);
    expect(result.stderr).toContain('no admin credentials');
    expect(received).toEqual([]);
  });

  it('imports users, reports the rejected row by line and exits 2', async () => {
    const file = join(workDir, 'users.jsonl');
    await writeFile(
      file,
      [
        JSON.stringify({
          email: 'new@example.com',
          authMethod: 'password',
          password: 'Unguessable-Passphrase-42',
        }),
        JSON.stringify({ email: 'taken@example.com', authMethod: 'sso' }),
      ].join('\n'),
    );

    const result = await runCli(['--json', 'users', 'import', file], env());

    expect(result.code).toBe(2);
    expect(JSON.parse(result.stdout)).toMatchObject({
      total: 2,
      imported: 1,
      failed: 1,
      failures: [{ line: 2, error: 'account_exists', status: 409 }],
    });
    expect(result.stdout + result.stderr).not.toContain('Unguessable-Passphrase-42');
  });
});
