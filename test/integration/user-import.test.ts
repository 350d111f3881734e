import { createHash, pbkdf2Sync, randomBytes, scryptSync } from 'node:crypto';
import { hash as argon2Hash } from '@node-rs/argon2';
import bcrypt from 'bcryptjs';
import { createDeps } from '../../shared/app.js';
import { loadConfig } from '../../shared/config.js';
import { type Api, signUp, uniqueName } from '../support/fixtures.js';
import { api } from '../support/http.js';
import { startTestStack, type TestStack } from '../support/test-stack.js';

let stack: TestStack;
let client: Api;
let deps: ReturnType<typeof createDeps>;

beforeAll(async () => {
  stack = await startTestStack({ env: { LOG_LEVEL: 'SILENT' } });
  client = api(stack.apiUrl);
  deps = createDeps(loadConfig(process.env));
});
afterAll(async () => {
  await stack?.stop();
});

interface ImportResult {
  index: number;
  status: 'created' | 'exists' | 'invalid';
  userId?: string;
  error?: string;
  details?: { path: string; message: string }[];
}

const importUsers = (body: unknown) =>
  client.post<{ results: ImportResult[] }>('/v1/admin/users/import', body, { token: stack.adminToken });

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64').replace(/=+$/, '');
const ab64 = (bytes: Uint8Array) => b64(bytes).replace(/\+/g, '.');
const email = () => `${uniqueName('imp').replace(/_/g, '.')}@example.test`;

/** Each format produced by an implementation independent of the code under test. */
async function hashesFor(password: string): Promise<Record<string, unknown>> {
  const salt = randomBytes(16);
  const digestSalt = randomBytes(6).toString('hex');
  return {
    bcrypt: bcrypt.hashSync(password, 10),
    argon2i: await argon2Hash(password, { algorithm: 1, memoryCost: 8192, timeCost: 3 }),
    scrypt: `$scrypt$ln=14,r=8,p=1$${b64(salt)}$${b64(scryptSync(password, salt, 32, { N: 2 ** 14, r: 8, p: 1 }))}`,
    pbkdf2Sha256: `$pbkdf2-sha256$29000$${ab64(salt)}$${ab64(pbkdf2Sync(password, salt, 29000, 32, 'sha256'))}`,
    pbkdf2Sha1: `$pbkdf2$131000$${ab64(salt)}$${ab64(pbkdf2Sync(password, salt, 131000, 20, 'sha1'))}`,
    saltedSha1: {
      algorithm: 'sha1',
      hash: createHash('sha1').update(`${digestSalt}${password}`).digest('hex'),
      salt: digestSalt,
      saltPosition: 'prefix',
    },
    md5: { algorithm: 'md5', hash: createHash('md5').update(password).digest('hex') },
  };
}

describe('POST /v1/admin/users/import', () => {
  it('imports every hash format; each signs in with its old password, then again after the re-hash to argon2id', async () => {
    const password = `old-${randomBytes(4).toString('hex')}-password`;
    const formats = await hashesFor(password);
    const rows = Object.entries(formats).map(([format, passwordHash]) => ({
      email: email(),
      externalId: `legacy-${format}-${randomBytes(4).toString('hex')}`,
      authMethod: 'password',
      passwordHash,
    }));
    const response = await importUsers({ users: rows });
    expect(response.status).toBe(200);
    expect(response.body.results.map((r) => r.status)).toEqual(rows.map(() => 'created'));

    for (const [position, row] of rows.entries()) {
      const userId = response.body.results[position]!.userId!;
      const stored = (await deps.users.get(userId))!;
      expect(stored.externalId).toBe(row.externalId);
      if (typeof row.passwordHash === 'object') {
        // Fast digests are never stored as they are.
        expect(stored.passwordHash).toMatch(
          /^\$as-wrap\$(sha1|md5)\$(prefix|none)\$[A-Za-z0-9_-]*\$argon2id\$/,
        );
        expect(stored.passwordHash).not.toContain((row.passwordHash as { hash: string }).hash);
      }
      const first = await client.post('/v1/auth/login', { login: row.email, password });
      expect([row.externalId, first.status]).toEqual([row.externalId, 200]);
      const rehashed = (await deps.users.get(userId))!.passwordHash!;
      expect(rehashed).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
      const second = await client.post('/v1/auth/login', { login: row.email, password });
      expect(second.status).toBe(200);
    }
  });

  it('answers a wrong password for an imported account byte-identically to a native account', async () => {
    const native = await signUp(client);
    const imported = email();
    const formats = await hashesFor('the-real-password');
    const rows = Object.values(formats).map((passwordHash, i) => ({
      email: i === 0 ? imported : email(),
      authMethod: 'password',
      passwordHash,
    }));
    await importUsers({ users: rows });
    const nativeWrong = await client.post('/v1/auth/login', {
      login: native.email,
      password: 'not-the-password',
    });
    expect(nativeWrong.status).toBe(401);
    for (const row of rows) {
      const wrong = await client.post('/v1/auth/login', { login: row.email, password: 'not-the-password' });
      expect(wrong.status).toBe(401);
      expect(wrong.text).toBe(nativeWrong.text);
      expect(wrong.headers.get('content-type')).toBe(nativeWrong.headers.get('content-type'));
    }
  });

  it('reports duplicate and malformed rows one by one and creates the rest', async () => {
    const taken = email();
    const externalId = `ext-${randomBytes(4).toString('hex')}`;
    const first = await importUsers({ users: [{ email: taken, authMethod: 'sso', externalId }] });
    expect(first.body.results[0]?.status).toBe('created');

    const fresh = email();
    const response = await importUsers({
      users: [
        { email: fresh, authMethod: 'password', passwordHash: bcrypt.hashSync('pw-123456', 4) },
        { email: fresh.toUpperCase(), authMethod: 'sso' },
        { email: taken, authMethod: 'sso' },
        { email: email(), authMethod: 'sso', externalId },
        { email: 'not-an-email', authMethod: 'sso' },
        { email: email(), authMethod: 'password', passwordHash: '$1$md5crypt$notsupported' },
        { email: email(), authMethod: 'sso', passwordHash: bcrypt.hashSync('pw-123456', 4) },
        { email: email(), authMethod: 'password', passwordHash: { algorithm: 'sha1', hash: 'abc' } },
        { email: email(), authMethod: 'password', password: 'plaintext-is-not-accepted' },
        'not an object',
      ],
    });
    expect(response.status).toBe(200);
    expect(response.body.results.map((r) => [r.index, r.status])).toEqual([
      [0, 'created'],
      [1, 'exists'],
      [2, 'exists'],
      [3, 'exists'],
      [4, 'invalid'],
      [5, 'invalid'],
      [6, 'invalid'],
      [7, 'invalid'],
      [8, 'invalid'],
      [9, 'invalid'],
    ]);
    expect(response.body.results[4]?.details?.[0]?.path).toBe('email');
    expect(response.body.results[5]?.details?.[0]?.path).toBe('passwordHash');
    expect(response.body.results[8]?.details?.[0]).toEqual({ path: 'password', message: 'Unknown field.' });
    // Nothing of the rows (hashes included) is echoed back.
    expect(response.text).not.toContain('$2b$04$');
    expect(response.body.results[9]?.details).toEqual([{ path: '(row)', message: 'Must be a JSON object.' }]);
  });

  it('re-importing the same rows creates nothing new (safe resume)', async () => {
    const rows = Array.from({ length: 60 }, () => ({
      email: email(),
      username: uniqueName('u'),
      authMethod: 'sso',
    }));
    const once = await importUsers({ users: rows });
    const again = await importUsers({ users: rows });
    expect(once.body.results.every((r) => r.status === 'created')).toBe(true);
    expect(again.body.results.every((r) => r.status === 'exists')).toBe(true);
  });

  it('creates one account when two imports of the same email race', async () => {
    for (let round = 0; round < 3; round += 1) {
      const shared = email();
      const batch = () => ({
        users: [
          ...Array.from({ length: 30 }, () => ({ email: email(), authMethod: 'sso' })),
          { email: shared, authMethod: 'sso' },
        ],
      });
      const [a, b] = await Promise.all([importUsers(batch()), importUsers(batch())]);
      const statuses = [a.body.results.at(-1)?.status, b.body.results.at(-1)?.status].sort();
      expect(statuses).toEqual(['created', 'exists']);
      expect(await deps.users.findUserId({ kind: 'email', value: shared })).toBe(
        [a, b].flatMap((r) => r.body.results.at(-1)?.userId ?? [])[0],
      );
    }
  });

  it('rejects more than 500 rows and bodies over 1 MiB, but accepts 500 rows above 16 KiB', async () => {
    const tooMany = await importUsers({
      users: Array.from({ length: 501 }, () => ({ email: email(), authMethod: 'sso' })),
    });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body).toMatchObject({ error: 'invalid_request' });
    const huge = await importUsers({
      users: [{ email: email(), authMethod: 'sso', externalId: 'x'.repeat(1100000) }],
    });
    expect(huge.status).toBe(413);
    const full = await importUsers({
      users: Array.from({ length: 500 }, () => ({
        email: email(),
        authMethod: 'sso',
        externalId: randomBytes(24).toString('hex'),
      })),
    });
    expect(full.status).toBe(200);
    expect(full.body.results.filter((r) => r.status === 'created')).toHaveLength(500);
  });

  it('marks imported accounts mustResetPassword: the sign-in gets 403 and a reset mail', async () => {
    const row = {
      email: email(),
      authMethod: 'password',
      passwordHash: bcrypt.hashSync('breached-db-pw', 4),
    };
    const response = await importUsers({ users: [row], mustResetPassword: true });
    expect(response.body.results[0]?.status).toBe('created');
    const login = await client.post('/v1/auth/login', { login: row.email, password: 'breached-db-pw' });
    expect(login.status).toBe(403);
    expect(login.body).toMatchObject({ error: 'password_reset_required' });
    const [mail] = await stack.ses.waitForMail(row.email, { timeoutMs: 10_000 });
    expect(mail?.body.text).toContain('/reset-password');
  });

  it('requires the admin token', async () => {
    const response = await client.post('/v1/admin/users/import', {
      users: [{ email: email(), authMethod: 'sso' }],
    });
    expect(response.status).toBe(401);
  });
});
