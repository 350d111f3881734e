import { randomBytes } from 'node:crypto';
import bcrypt from 'bcryptjs';
import { createDeps } from '../../shared/app.js';
import { loadConfig } from '../../shared/config.js';
import { type Api, uniqueName } from '../support/fixtures.js';
import { type RangeServer, startRangeServer } from '../support/hibp-range-server.js';
import { api } from '../support/http.js';
import { startTestStack, type TestStack } from '../support/test-stack.js';

const BREACHED = 'Tr0ub4dor&3-leaked';

let range: RangeServer;
let stack: TestStack;
let client: Api;
let deps: ReturnType<typeof createDeps>;

// The Powertools logger (WARN lines on stderr) keeps the stream methods it found when the stack started, so the
// capture goes in before the stack starts; the test reads what was written after its own mark.
const written: string[] = [];
const originalWrites = [process.stdout, process.stderr].map((stream) => {
  const write = stream.write.bind(stream);
  stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    written.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return (write as (...args: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof stream.write;
  return () => {
    stream.write = write;
  };
});

beforeAll(async () => {
  range = await startRangeServer([BREACHED]);
  stack = await startTestStack({
    env: {
      LOG_LEVEL: 'WARN',
      BREACHED_PASSWORD_CHECK: 'hibp',
      HIBP_API_URL: range.url,
      HIBP_TIMEOUT_MS: '500',
    },
  });
  client = api(stack.apiUrl);
  deps = createDeps(loadConfig(process.env));
});
afterAll(async () => {
  for (const restore of originalWrites) restore();
  await stack?.stop();
  await range?.close();
});

const email = () => `${uniqueName('hibp').replace(/_/g, '.')}@example.test`;

/** Imported accounts keep whatever password they had, breached or not (sign-up would refuse a breached one). */
async function importWithPassword(password: string): Promise<{ email: string; userId: string }> {
  const row = { email: email(), authMethod: 'password', passwordHash: bcrypt.hashSync(password, 4) };
  const response = await client.post<{ results: { userId: string }[] }>(
    '/v1/admin/users/import',
    { users: [row] },
    { token: stack.adminToken },
  );
  return { email: row.email, userId: response.body.results[0]!.userId };
}

describe('breached-password check at sign-in (BREACHED_PASSWORD_CHECK=hibp)', () => {
  it('forces a reset when a correct password is in the breach corpus: 403, reset mail, security event', async () => {
    const account = await importWithPassword(BREACHED);
    const login = await client.post('/v1/auth/login', { login: account.email, password: BREACHED });
    expect(login.status).toBe(403);
    expect(login.body).toMatchObject({ error: 'password_reset_required' });
    await stack.ses.waitForMail(account.email, { timeoutMs: 10_000 });
    const events = await deps.events.listNewestFirst(account.userId);
    expect(events.map((e) => e.type)).toContain('breached_password_detected');
    expect((await deps.users.get(account.userId))?.mustResetPassword).toBe(true);
    // Only the 5-character prefix of the SHA-1 ever left the process, with padding asked for.
    expect(range.requests.every((r) => /^\/range\/[0-9A-F]{5}$/.test(r.url) && r.padding === 'true')).toBe(
      true,
    );
  });

  it('does not check a wrong password, and lets a clean password in', async () => {
    const account = await importWithPassword(`clean-${randomBytes(6).toString('hex')}`);
    const before = range.requests.length;
    const wrong = await client.post('/v1/auth/login', { login: account.email, password: BREACHED });
    expect(wrong.status).toBe(401);
    expect(range.requests.length).toBe(before);
  });

  it('a clean password signs in; when the range API is down the check fails open', async () => {
    const password = `clean-${randomBytes(6).toString('hex')}`;
    const account = await importWithPassword(password);
    expect((await client.post('/v1/auth/login', { login: account.email, password })).status).toBe(200);
    await range.close();
    const mark = written.length;
    const other = `other-${randomBytes(6).toString('hex')}`;
    const second = await importWithPassword(other);
    expect((await client.post('/v1/auth/login', { login: second.email, password: other })).status).toBe(200);
    expect(written.slice(mark).join('\n')).toContain('breached-password check skipped (fail open)');
  });
});
