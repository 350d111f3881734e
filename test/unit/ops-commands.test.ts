import { PassThrough } from 'node:stream';
import {
  type AdminApi,
  AdminApiError,
  AdminUnreachableError,
  type AdminUser,
  type AdminUserInput,
  type CreateIncidentRequest,
  type ForceResetOptions,
  type Incident,
  type IncidentStatus,
  type WriteOptions,
} from '../../scripts/ops/admin-client.js';
import type { OpsContext } from '../../scripts/ops/context.js';
import {
  buildIncidentRequest,
  createIncidentCommand,
  type IncidentCreateFlags,
  watchIncidentCommand,
} from '../../scripts/ops/incident-commands.js';
import { UsageError } from '../../scripts/ops/output.js';
import { importUsersCommand } from '../../scripts/ops/user-commands.js';

class StringSink {
  text = '';
  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
  lines(): string[] {
    return this.text.split('\n').filter((line) => line !== '');
  }
}

const notImplemented = (): never => {
  throw new Error('not used by this test');
};

/** An in-memory AdminApi whose answers each test scripts. */
class FakeAdminApi implements AdminApi {
  readonly created: CreateIncidentRequest[] = [];
  readonly createdUsers: AdminUserInput[] = [];
  /** The Idempotency-Key of every write, in call order (retries included). */
  readonly writeKeys: (string | undefined)[] = [];
  polls: (Incident | Error)[] = [];
  createUserAnswer: (user: AdminUserInput, attempt: number) => AdminUser | Error = (user) => ({
    id: `id-${user.email}`,
    email: user.email,
    authMethod: user.authMethod,
  });
  private readonly attempts = new Map<string, number>();

  async createUser(user: AdminUserInput, _signal?: AbortSignal, write?: WriteOptions): Promise<AdminUser> {
    this.writeKeys.push(write?.idempotencyKey);
    const attempt = (this.attempts.get(user.email) ?? 0) + 1;
    this.attempts.set(user.email, attempt);
    const answer = this.createUserAnswer(user, attempt);
    if (answer instanceof Error) throw answer;
    this.createdUsers.push(user);
    return answer;
  }

  async addAudience(): Promise<{ received: number; total: number }> {
    return notImplemented();
  }

  async closeAudience(): Promise<Incident> {
    return notImplemented();
  }

  async reportPage(): Promise<{ text: string; nextCursor: string | undefined }> {
    return notImplemented();
  }

  async forceReset(_userId: string, _options: ForceResetOptions): Promise<void> {
    notImplemented();
  }

  async importUsers(): Promise<never> {
    return notImplemented();
  }

  async createIncident(request: CreateIncidentRequest, write?: WriteOptions): Promise<Incident> {
    this.writeKeys.push(write?.idempotencyKey);
    this.created.push(request);
    return incidentWith('scheduled', 0, 0);
  }

  async getIncident(): Promise<Incident> {
    const next = this.polls.length > 1 ? this.polls.shift() : this.polls[0];
    if (next === undefined) throw new Error('no poll answer scripted');
    if (next instanceof Error) throw next;
    return next;
  }

  async listIncidents(): Promise<Incident[]> {
    return notImplemented();
  }

  async cancelIncident(): Promise<Incident | undefined> {
    return notImplemented();
  }
}

function incidentWith(
  status: IncidentStatus,
  targeted: number,
  sent: number,
  skipped = 0,
  failed = 0,
): Incident {
  return {
    id: 'inc-1',
    title: 'Credential stuffing',
    status,
    createdAt: '2030-01-02T03:04:05.000Z',
    counts: { targeted, queued: targeted, sent, skipped, failed },
  };
}

interface Harness {
  readonly ctx: OpsContext;
  readonly stdout: StringSink;
  readonly stderr: StringSink;
  readonly sleeps: number[];
  readonly interrupt: AbortController;
}

function harness(
  client: AdminApi,
  options: { json?: boolean; files?: Record<string, string> } = {},
): Harness {
  const stdout = new StringSink();
  const stderr = new StringSink();
  const sleeps: number[] = [];
  const interrupt = new AbortController();
  let clock = Date.parse('2030-01-02T03:04:05.000Z');
  const ctx: OpsContext = {
    client,
    stdout,
    stderr,
    json: options.json === true,
    progressMode: options.json ? 'json' : 'lines',
    barStream: new PassThrough(),
    now: () => new Date(clock),
    sleep: async (ms) => {
      sleeps.push(ms);
      clock += ms;
    },
    readText: async (path) => {
      const text = options.files?.[path];
      if (text === undefined) throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
      return text;
    },
    interrupt: interrupt.signal,
    idempotencyKey: 'run-key-1',
  };
  return { ctx, stdout, stderr, sleeps, interrupt };
}

const baseFlags: IncidentCreateFlags = { title: 'Credential stuffing', notify: true, intervalMs: '1000' };

describe('incident create', () => {
  it('builds the contract body for a tenant-wide incident', () => {
    const request = buildIncidentRequest(
      {
        ...baseFlags,
        all: true,
        forcePasswordReset: true,
        revokeSessions: true,
        sendAt: '2030-01-02T10:00:00+02:00',
        remindAfterHours: '24',
      },
      { type: 'all' },
    );

    expect(request).toEqual({
      title: 'Credential stuffing',
      scope: { type: 'all' },
      actions: { forcePasswordReset: true, revokeSessions: true },
      notify: { enabled: true, sendAt: '2030-01-02T08:00:00.000Z', remindAfterHours: 24 },
    });
  });

  it.each([
    [{ sendAt: '2030-01-02T10:00:00' }, 'ISO-8601 time with a zone'],
    [{ remindAfterHours: '24' }, 'only applies with --force-password-reset'],
    [{ notify: false, sendAt: '2030-01-02T10:00:00Z', revokeSessions: true }, 'need notifications'],
    [{ notify: false }, 'would do nothing'],
    [{ title: '  ' }, '--title must not be empty'],
  ])('refuses inconsistent flags %j', (flags, message) => {
    expect(() => buildIncidentRequest({ ...baseFlags, ...flags }, { type: 'all' })).toThrow(message);
  });

  it('never defaults to a tenant-wide scope', async () => {
    const api = new FakeAdminApi();
    const { ctx } = harness(api);

    await expect(createIncidentCommand(ctx, baseFlags)).rejects.toThrow('choose a scope');
    expect(api.created).toEqual([]);
  });

  it("sends the run's Idempotency-Key with the incident it creates", async () => {
    const api = new FakeAdminApi();
    const { ctx } = harness(api);

    await createIncidentCommand(ctx, { ...baseFlags, email: ['a@example.com'] });

    expect(api.writeKeys).toEqual(['run-key-1']);
  });

  it('merges an emails file with --email arguments, without duplicates', async () => {
    const api = new FakeAdminApi();
    const { ctx, stdout } = harness(api, {
      files: { 'emails.csv': 'email\nA@example.com\nb@example.com\n' },
    });

    const code = await createIncidentCommand(ctx, {
      ...baseFlags,
      emailsFile: 'emails.csv',
      email: ['a@example.com', 'c@example.com'],
      forcePasswordReset: true,
    });

    expect(code).toBe(0);
    expect(api.created[0]?.scope).toEqual({
      type: 'emails',
      emails: ['a@example.com', 'b@example.com', 'c@example.com'],
    });
    expect(stdout.text).toContain('Created incident inc-1');
  });

  it('refuses a scope file with bad lines, naming them, unless --skip-invalid', async () => {
    const files = { 'ids.txt': 'user-1\nnot an id\nuser-2\n' };
    const refused = new FakeAdminApi();
    const first = harness(refused, { files });

    await expect(
      createIncidentCommand(first.ctx, { ...baseFlags, userIdsFile: 'ids.txt', revokeSessions: true }),
    ).rejects.toBeInstanceOf(UsageError);
    expect(first.stderr.lines()).toEqual(['ids.txt:2: "not an id" is not a user id']);
    expect(refused.created).toEqual([]);

    const accepted = new FakeAdminApi();
    const second = harness(accepted, { files });
    await createIncidentCommand(second.ctx, {
      ...baseFlags,
      userIdsFile: 'ids.txt',
      revokeSessions: true,
      skipInvalid: true,
    });
    expect(accepted.created[0]?.scope).toEqual({ type: 'users', userIds: ['user-1', 'user-2'] });
  });

  it('asks before a tenant-wide incident when someone is at the terminal', async () => {
    const api = new FakeAdminApi();
    const { ctx } = harness(api);
    const questions: string[] = [];

    const code = await createIncidentCommand(
      {
        ...ctx,
        confirm: async (question) => {
          questions.push(question);
          return false;
        },
      },
      { ...baseFlags, all: true, forcePasswordReset: true },
    );

    expect(code).toBe(1);
    expect(questions[0]).toContain('EVERY account');
    expect(api.created).toEqual([]);
  });
});

describe('incident watch', () => {
  it('prints one line per change and exits 0 once completed', async () => {
    const api = new FakeAdminApi();
    api.polls = [
      incidentWith('scheduled', 0, 0),
      incidentWith('scheduled', 0, 0),
      incidentWith('running', 3, 1),
      incidentWith('running', 3, 1),
      incidentWith('completed', 3, 2, 1),
    ];
    const { ctx, stdout, sleeps } = harness(api);

    const code = await watchIncidentCommand(ctx, 'inc-1', 1000);

    expect(code).toBe(0);
    expect(stdout.lines()).toEqual([
      '2030-01-02T03:04:05.000Z scheduled targeted=0 queued=0 sent=0 skipped=0 failed=0',
      '2030-01-02T03:04:07.000Z running targeted=3 queued=3 sent=1 skipped=0 failed=0',
      '2030-01-02T03:04:09.000Z completed targeted=3 queued=3 sent=2 skipped=1 failed=0',
    ]);
    expect(sleeps).toEqual([1000, 1000, 1000, 1000]);
  });

  it('prints JSON lines with --json', async () => {
    const api = new FakeAdminApi();
    api.polls = [incidentWith('running', 2, 1), incidentWith('cancelled', 2, 1)];
    const { ctx, stdout } = harness(api, { json: true });

    await watchIncidentCommand(ctx, 'inc-1', 500);

    expect(stdout.lines().map((line) => JSON.parse(line))).toEqual([
      expect.objectContaining({
        id: 'inc-1',
        status: 'running',
        counts: expect.objectContaining({ sent: 1 }),
      }),
      expect.objectContaining({ status: 'cancelled' }),
    ]);
  });

  it('rides out a transient outage, backing off, and honours retry-after', async () => {
    const api = new FakeAdminApi();
    api.polls = [
      new AdminUnreachableError('http://127.0.0.1:3000/v1/admin/incidents/inc-1', 'connection refused'),
      new AdminApiError(429, 'too_many_requests', 'Slow down.', [], [], 9),
      incidentWith('completed', 1, 1),
    ];
    const { ctx, sleeps } = harness(api);

    expect(await watchIncidentCommand(ctx, 'inc-1', 1000)).toBe(0);
    expect(sleeps).toEqual([2000, 9000]);
  });

  it('fails on an error that is not transient', async () => {
    const api = new FakeAdminApi();
    api.polls = [new AdminApiError(404, 'not_found', 'No such incident.')];
    const { ctx } = harness(api);

    await expect(watchIncidentCommand(ctx, 'inc-1', 1000)).rejects.toMatchObject({ status: 404 });
  });

  it('gives up after repeated transient failures', async () => {
    const api = new FakeAdminApi();
    api.polls = [new AdminApiError(503, 'unavailable', 'Try later.')];
    const { ctx, sleeps } = harness(api);

    await expect(watchIncidentCommand(ctx, 'inc-1', 1000)).rejects.toMatchObject({ status: 503 });
    expect(sleeps).toHaveLength(4);
  });

  it('stops on Ctrl-C with exit code 130 and says the incident carries on', async () => {
    const api = new FakeAdminApi();
    api.polls = [incidentWith('running', 3, 1)];
    const h = harness(api);
    const ctx: OpsContext = {
      ...h.ctx,
      sleep: async () => {
        h.interrupt.abort();
      },
    };

    expect(await watchIncidentCommand(ctx, 'inc-1', 1000)).toBe(130);
    expect(h.stderr.text).toContain('incident cancel inc-1');
  });
});

describe('users import', () => {
  const secret = 'Correct-Horse-Battery-9';
  const csv = [
    'email,authMethod,password', // 1
    `ok1@example.com,password,${secret}`, // 2
    `taken@example.com,password,${secret}`, // 3
    'bad"quote@example.com,sso,', // 4
    `weak@example.com,password,${secret}`, // 5
    'sso@example.com,sso,', // 6
  ].join('\n');

  it('imports the good rows, reports the others by line with the API message, and exits 2', async () => {
    const api = new FakeAdminApi();
    api.createUserAnswer = (user) => {
      if (user.email === 'taken@example.com') {
        return new AdminApiError(
          409,
          'account_exists',
          'An account with this email or username already exists.',
        );
      }
      if (user.email === 'weak@example.com') {
        return new AdminApiError(422, 'weak_password', 'Choose another password.', [], ['common']);
      }
      return { id: `id-${user.email}`, email: user.email, authMethod: user.authMethod };
    };
    const { ctx, stdout, stderr } = harness(api, { files: { 'users.csv': csv } });

    const code = await importUsersCommand(ctx, 'users.csv', { concurrency: '2' });

    expect(code).toBe(2);
    expect(api.createdUsers.map((user) => user.email).sort()).toEqual(['ok1@example.com', 'sso@example.com']);
    expect(stderr.lines()).toEqual([
      'users.csv:3: An account with this email or username already exists. (HTTP 409 account_exists)',
      expect.stringMatching(/^users\.csv:4: a quote inside an unquoted field/),
      'users.csv:5: Choose another password. (HTTP 422 weak_password) - reasons: common',
    ]);
    expect(stdout.lines()).toEqual(['Imported 2 of 5 users (3 failed) from users.csv.']);
    expect(stdout.text + stderr.text).not.toContain(secret);
  });

  it('summarises in one JSON document with --json, without passwords', async () => {
    const api = new FakeAdminApi();
    const { ctx, stdout } = harness(api, { json: true, files: { 'users.csv': csv } });

    const code = await importUsersCommand(ctx, 'users.csv', { concurrency: '4' });

    const summary = JSON.parse(stdout.text);
    expect(code).toBe(2);
    expect(summary).toMatchObject({ total: 5, imported: 4, failed: 1, notAttempted: 0 });
    expect(summary.failures).toEqual([expect.objectContaining({ line: 4, error: 'invalid_row' })]);
    expect(summary.users).toContainEqual({ line: 2, id: 'id-ok1@example.com', email: 'ok1@example.com' });
    expect(stdout.text).not.toContain(secret);
  });

  it("sends one key per row (the run's key and the row's line), the same on the row's retries", async () => {
    const api = new FakeAdminApi();
    api.createUserAnswer = (user, attempt) =>
      user.email === 'b@example.com' && attempt === 1
        ? new AdminApiError(503, 'unavailable', 'Try again.', [], [], 1)
        : { id: `id-${user.email}`, email: user.email, authMethod: user.authMethod };
    const { ctx } = harness(api, {
      files: {
        'u.jsonl':
          '{"email":"a@example.com","authMethod":"sso"}\n{"email":"b@example.com","authMethod":"sso"}\n',
      },
    });

    expect(await importUsersCommand(ctx, 'u.jsonl', { concurrency: '1' })).toBe(0);
    expect(api.writeKeys).toEqual(['run-key-1/1', 'run-key-1/2', 'run-key-1/2']);
  });

  it('retries a throttled row after retry-after and exits 0 when everything is imported', async () => {
    const api = new FakeAdminApi();
    api.createUserAnswer = (user, attempt) =>
      attempt === 1
        ? new AdminApiError(429, 'too_many_requests', 'Slow down.', [], [], 3)
        : { id: 'id-1', email: user.email, authMethod: user.authMethod };
    const { ctx, sleeps } = harness(api, {
      files: { 'u.jsonl': '{"email":"a@example.com","authMethod":"sso"}\n' },
    });

    expect(await importUsersCommand(ctx, 'u.jsonl', { concurrency: '8' })).toBe(0);
    expect(sleeps).toEqual([3000]);
  });

  it('stops starting rows on an authentication failure and says which were not attempted', async () => {
    const api = new FakeAdminApi();
    api.createUserAnswer = () => new AdminApiError(401, 'invalid_token', 'Missing or invalid admin token.');
    const rows = Array.from({ length: 5 }, (_, index) =>
      JSON.stringify({ email: `u${index}@example.com`, authMethod: 'sso' }),
    );
    const { ctx, stdout, stderr } = harness(api, { files: { 'u.jsonl': rows.join('\n') } });

    const code = await importUsersCommand(ctx, 'u.jsonl', { concurrency: '1' });

    expect(code).toBe(1);
    expect(stdout.text).toContain('Imported 0 of 5 users (0 failed, 4 not attempted)');
    expect(stderr.text).toContain('Not attempted (nothing created for them): lines 2-5');
    expect(stderr.text).toContain('Stopped: Missing or invalid admin token. (HTTP 401 invalid_token)');
  });

  it('imports nothing from a CSV file whose header is wrong', async () => {
    const api = new FakeAdminApi();
    const { ctx, stderr } = harness(api, { files: { 'u.csv': 'email,auth\na@example.com,sso\n' } });

    await expect(importUsersCommand(ctx, 'u.csv', { concurrency: '8' })).rejects.toThrow('nothing imported');
    expect(stderr.text).toContain('u.csv:1: header: unknown column "auth"');
    expect(api.createdUsers).toEqual([]);
  });

  it('refuses a bad --concurrency before reading anything', async () => {
    const { ctx } = harness(new FakeAdminApi());

    await expect(importUsersCommand(ctx, 'missing.csv', { concurrency: '0' })).rejects.toThrow(
      '--concurrency',
    );
  });
});
