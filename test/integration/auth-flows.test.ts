import { decodeJwt, decodeProtectedHeader, importJWK, type JWK, jwtVerify } from 'jose';
import { type Api, logIn, signUp, sleep, uniqueName } from '../support/fixtures.js';
import { api } from '../support/http.js';
import { startTestStack, type TestStack } from '../support/test-stack.js';

let stack: TestStack;
let client: Api;

beforeAll(async () => {
  stack = await startTestStack({ env: { LOGIN_MAX_FAILURES_PER_ACCOUNT: '5' } });
  client = api(stack.apiUrl);
});
afterAll(async () => {
  await stack?.stop();
});

describe('accounts', () => {
  it('creates an account and returns the public user without secrets', async () => {
    const username = uniqueName('Alice');
    const response = await client.post<{ user: Record<string, unknown> }>('/v1/accounts', {
      email: `  ${username}@Example.TEST `,
      username,
      password: 'violet-river-canyon',
    });
    expect(response.status).toBe(201);
    expect(response.body.user).toEqual({
      id: expect.any(String),
      email: `${username.toLowerCase()}@example.test`,
      username: username.toLowerCase(),
      authMethod: 'password',
      mfaEnabled: false,
      createdAt: expect.any(String),
    });
    expect(response.text).not.toMatch(/argon2|passwordHash|tokenVersion/);
  });

  it('refuses a second account with the same email or username, in any case', async () => {
    const account = await signUp(client);
    const sameEmail = await client.post('/v1/accounts', {
      email: account.email.toUpperCase(),
      username: uniqueName(),
      password: 'another-long-passphrase',
    });
    const sameUsername = await client.post('/v1/accounts', {
      email: `${uniqueName()}@example.test`,
      username: account.username.toUpperCase(),
      password: 'another-long-passphrase',
    });
    expect(sameEmail.status).toBe(409);
    expect(sameEmail.body).toEqual({ error: 'account_exists', message: expect.any(String) });
    expect(sameUsername.status).toBe(409);
  });

  it('creates exactly one account under concurrent sign-ups with the same email', async () => {
    const email = `${uniqueName()}@example.test`;
    const results = await Promise.all(
      Array.from({ length: 6 }, () =>
        client.post('/v1/accounts', { email, username: uniqueName(), password: 'violet-river-canyon' }),
      ),
    );
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    expect(results.filter((r) => r.status === 409)).toHaveLength(5);
  });

  it('rejects weak passwords with 422 and every reason', async () => {
    const username = uniqueName('weak');
    const cases: [string, string[]][] = [
      ['x7Qz!', ['too_short']],
      ['password123', ['common']],
      [`x${username}yz12`, ['contains_identifier']],
      ['z'.repeat(257), ['too_long']],
    ];
    for (const [password, reasons] of cases) {
      const response = await client.post('/v1/accounts', {
        email: `${username}@example.test`,
        username,
        password,
      });
      expect(response.status).toBe(422);
      expect(response.body).toEqual({ error: 'weak_password', message: expect.any(String), reasons });
    }
  });

  it('GET /v1/me returns the caller', async () => {
    const account = await signUp(client);
    const tokens = await logIn(client, account);
    const me = await client.get<{ user: { id: string } }>('/v1/me', { token: tokens.accessToken });
    expect(me.status).toBe(200);
    expect(me.body.user.id).toBe(account.id);
  });
});

describe('request validation and errors', () => {
  it('answers malformed JSON, wrong types, unknown fields and missing fields with 400 and details', async () => {
    const malformed = await client.post('/v1/auth/login', '{"login": "x", ');
    expect(malformed.status).toBe(400);
    expect(malformed.body).toMatchObject({ error: 'invalid_request', details: [{ path: '(body)' }] });

    const wrong = await client.post<{ details: { path: string }[] }>('/v1/auth/login', {
      login: 42,
      password: 'x',
      admin: true,
    });
    expect(wrong.status).toBe(400);
    expect(wrong.body.details.map((d) => d.path).sort()).toEqual(['admin', 'login']);

    const missing = await client.post<{ details: { path: string }[] }>('/v1/accounts', {});
    expect(missing.body.details.map((d) => d.path).sort()).toEqual(['email', 'password', 'username']);
  });

  it('answers a non-JSON body with 415 and an oversized one with 413', async () => {
    const form = await client.request('POST', '/v1/auth/login', 'login=a&password=b', {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(form.status).toBe(415);
    expect(form.body).toMatchObject({ error: 'unsupported_media_type' });
    const big = await client.post('/v1/auth/login', { login: 'a'.repeat(17 * 1024), password: 'x' });
    expect(big.status).toBe(413);
    expect(big.body).toMatchObject({ error: 'payload_too_large' });
  });

  it('sends the security headers on every response, errors included', async () => {
    for (const response of [
      await client.get('/.well-known/jwks.json'),
      await client.post('/v1/auth/login', '{'),
    ]) {
      expect(response.headers.get('cache-control')).toBe('no-store');
      expect(response.headers.get('strict-transport-security')).toMatch(/max-age=\d+/);
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('x-frame-options')).toBe('DENY');
      expect(response.headers.get('content-type')).toMatch(/application\/json/);
    }
  });

  it('answers ids that cannot exist with 404, never a 500', async () => {
    const account = await signUp(client);
    const tokens = await logIn(client, account);
    for (const id of ['x'.repeat(2000), 'a%20b', '..', '%F0%9F%98%80']) {
      const session = await client.delete(`/v1/auth/sessions/${id}`, undefined, {
        token: tokens.accessToken,
      });
      expect(session.status).toBe(404);
      const incident = await client.get(`/v1/admin/incidents/${id}`, { token: stack.adminToken });
      expect(incident.status).toBe(404);
      expect(incident.body).toMatchObject({ error: 'not_found' });
    }
  });

  it('rejects bearer routes without a token, with www-authenticate', async () => {
    const response = await client.get('/v1/me');
    expect(response.status).toBe(401);
    expect(response.body).toMatchObject({ error: 'invalid_token' });
    expect(response.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
    const garbage = await client.get('/v1/me', { token: 'not.a.jwt' });
    expect(garbage.status).toBe(401);
  });
});

describe('login', () => {
  it('issues an ES256 access token with the contract claims, verifiable with the JWKS', async () => {
    const account = await signUp(client);
    const tokens = await logIn(client, account, { deviceName: 'Living-room TV' });
    expect(tokens).toMatchObject({ tokenType: 'Bearer', expiresIn: 900, sessionId: expect.any(String) });
    const header = decodeProtectedHeader(tokens.accessToken);
    expect(header.alg).toBe('ES256');
    const jwks = await client.get<{ keys: JWK[] }>('/.well-known/jwks.json');
    const jwk = jwks.body.keys.find((k) => k.kid === header.kid);
    expect(jwk).toBeDefined();
    expect(jwk).not.toHaveProperty('d');
    const { payload } = await jwtVerify(tokens.accessToken, await importJWK(jwk!, 'ES256'), {
      algorithms: ['ES256'],
    });
    expect(payload).toMatchObject({ sub: account.id, sid: tokens.sessionId, tv: 0 });
    expect(payload.exp! - payload.iat!).toBe(900);
    expect(typeof payload.jti).toBe('string');
    expect(tokens.refreshToken.length).toBeGreaterThan(43);
  });

  it('logs in with the username too, case-insensitively', async () => {
    const account = await signUp(client);
    const response = await client.post('/v1/auth/login', {
      login: account.username.toUpperCase(),
      password: account.password,
    });
    expect(response.status).toBe(200);
  });

  it('answers unknown user, wrong password and SSO-only accounts byte-identically', async () => {
    const account = await signUp(client);
    const ssoEmail = `${uniqueName('sso')}@example.test`;
    const created = await client.post(
      '/v1/admin/users',
      { email: ssoEmail, authMethod: 'sso' },
      { token: stack.adminToken },
    );
    expect(created.status).toBe(201);
    const unknown = await client.post('/v1/auth/login', {
      login: `${uniqueName()}@example.test`,
      password: 'whatever-pass',
    });
    const wrong = await client.post('/v1/auth/login', { login: account.email, password: 'wrong-password-1' });
    const sso = await client.post('/v1/auth/login', { login: ssoEmail, password: 'whatever-pass' });
    for (const response of [unknown, wrong, sso]) {
      expect(response.status).toBe(401);
      expect(response.text).toBe(unknown.text);
    }
    expect(unknown.body).toEqual({ error: 'invalid_credentials', message: expect.any(String) });
  });

  it('throttles brute force on an account with 429 and retry-after', async () => {
    const account = await signUp(client);
    for (let i = 0; i < 5; i += 1) {
      const response = await client.post('/v1/auth/login', {
        login: account.email,
        password: `wrong-${i}-password`,
      });
      expect(response.status).toBe(401);
    }
    const throttled = await client.post('/v1/auth/login', {
      login: account.email,
      password: account.password,
    });
    expect(throttled.status).toBe(429);
    expect(throttled.body).toMatchObject({ error: 'too_many_requests' });
    expect(Number(throttled.headers.get('retry-after'))).toBeGreaterThan(0);
    // The reset flow keeps working for a throttled account.
    const forgot = await client.post('/v1/auth/password/forgot', { email: account.email });
    expect(forgot.status).toBe(202);
  });
});

describe('tokens and sessions', () => {
  it('describes a valid session and lists the active ones', async () => {
    const account = await signUp(client);
    const phone = await logIn(client, account, { deviceName: 'Phone' });
    const tv = await logIn(client, account, { deviceName: 'TV' });
    const session = await client.get('/v1/auth/session', { token: phone.accessToken });
    expect(session.status).toBe(200);
    expect(session.body).toEqual({
      userId: account.id,
      sessionId: phone.sessionId,
      tokenVersion: 0,
      issuedAt: expect.any(String),
      expiresAt: expect.any(String),
    });
    const list = await client.get<{ sessions: { id: string; deviceName: string; current: boolean }[] }>(
      '/v1/auth/sessions',
      { token: phone.accessToken },
    );
    expect(list.body.sessions.map((s) => [s.deviceName, s.current]).sort()).toEqual([
      ['Phone', true],
      ['TV', false],
    ]);
    expect(list.body.sessions.find((s) => s.id === tv.sessionId)).toBeDefined();
  });

  it('rotates refresh tokens and ends the session when a token two rotations old is replayed', async () => {
    const account = await signUp(client);
    const first = await logIn(client, account);
    const second = await client.post<{ refreshToken: string; accessToken: string; sessionId: string }>(
      '/v1/auth/refresh',
      { refreshToken: first.refreshToken },
    );
    expect(second.status).toBe(200);
    expect(second.body.sessionId).toBe(first.sessionId);
    expect(second.body.refreshToken).not.toBe(first.refreshToken);
    const third = await client.post<{ refreshToken: string; accessToken: string }>('/v1/auth/refresh', {
      refreshToken: second.body.refreshToken,
    });
    expect(third.status).toBe(200);

    // Generation 0 is no longer the immediately previous token: no grace, whatever the time.
    const replay = await client.post('/v1/auth/refresh', { refreshToken: first.refreshToken });
    expect(replay.status).toBe(401);
    expect(replay.body).toMatchObject({ error: 'invalid_grant' });
    // Reuse ended the whole session: the newest refresh and access tokens are dead too.
    const afterReuse = await client.post('/v1/auth/refresh', { refreshToken: third.body.refreshToken });
    expect(afterReuse.status).toBe(401);
    await sleep(1100);
    const session = await client.get('/v1/auth/session', { token: third.body.accessToken });
    expect(session.status).toBe(401);
  });

  it('ends the session when any older generation comes back, not only the last two', async () => {
    const account = await signUp(client);
    const tokens = await logIn(client, account);
    const generations = [tokens.refreshToken];
    for (let i = 0; i < 4; i += 1) {
      const next = await client.post<{ refreshToken: string }>('/v1/auth/refresh', {
        refreshToken: generations.at(-1),
      });
      expect(next.status).toBe(200);
      generations.push(next.body.refreshToken);
    }
    expect((await client.post('/v1/auth/refresh', { refreshToken: generations[1] })).status).toBe(401);
    expect((await client.post('/v1/auth/refresh', { refreshToken: generations.at(-1) })).status).toBe(401);
  });

  it('keeps the session when two tabs refresh the same token at once: both get the same valid pair', async () => {
    const account = await signUp(client);
    const tokens = await logIn(client, account);
    const results = await Promise.all(
      [1, 2].map(() =>
        client.post<{ refreshToken: string; accessToken: string; sessionId: string }>('/v1/auth/refresh', {
          refreshToken: tokens.refreshToken,
        }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual([200, 200]);
    const [a, b] = results.map((r) => r.body);
    expect(a?.sessionId).toBe(tokens.sessionId);
    expect(b?.sessionId).toBe(tokens.sessionId);
    // One current refresh token per session: both tabs hold it, so whichever refreshes next keeps the session.
    expect(a?.refreshToken).toBe(b?.refreshToken);
    for (const pair of [a, b]) {
      expect((await client.get('/v1/auth/session', { token: pair?.accessToken })).status).toBe(200);
    }
    const next = await client.post('/v1/auth/refresh', { refreshToken: b?.refreshToken });
    expect(next.status).toBe(200);
  });

  it('gives the immediately previous token presented again within the grace window the current pair', async () => {
    const account = await signUp(client);
    const tokens = await logIn(client, account);
    const rotated = await client.post<{ refreshToken: string }>('/v1/auth/refresh', {
      refreshToken: tokens.refreshToken,
    });
    const again = await client.post<{ refreshToken: string; accessToken: string; sessionId: string }>(
      '/v1/auth/refresh',
      { refreshToken: tokens.refreshToken },
    );
    expect(again.status).toBe(200);
    expect(again.body.sessionId).toBe(tokens.sessionId);
    expect(again.body.refreshToken).toBe(rotated.body.refreshToken);
    expect((await client.get('/v1/auth/session', { token: again.body.accessToken })).status).toBe(200);
  });

  it('rejects garbage refresh tokens with invalid_grant', async () => {
    for (const refreshToken of ['x', `rt1.a.b.${'c'.repeat(43)}`]) {
      const response = await client.post('/v1/auth/refresh', { refreshToken });
      expect(response.status).toBe(401);
      expect(response.body).toMatchObject({ error: 'invalid_grant' });
    }
  });

  it('logout ends only this session', async () => {
    const account = await signUp(client);
    const a = await logIn(client, account);
    const b = await logIn(client, account);
    expect((await client.post('/v1/auth/logout', undefined, { token: a.accessToken })).status).toBe(204);
    expect((await client.get('/v1/auth/session', { token: a.accessToken })).status).toBe(401);
    expect((await client.post('/v1/auth/refresh', { refreshToken: a.refreshToken })).status).toBe(401);
    expect((await client.get('/v1/auth/session', { token: b.accessToken })).status).toBe(200);
  });

  it("DELETE /v1/auth/sessions/{id} ends that device, and is 404 for another user's session", async () => {
    const owner = await signUp(client);
    const other = await signUp(client);
    const laptop = await logIn(client, owner, { deviceName: 'Laptop' });
    const tv = await logIn(client, owner, { deviceName: 'TV' });
    const stranger = await logIn(client, other);
    const foreign = await client.delete(`/v1/auth/sessions/${tv.sessionId}`, undefined, {
      token: stranger.accessToken,
    });
    expect(foreign.status).toBe(404);
    const own = await client.delete(`/v1/auth/sessions/${tv.sessionId}`, undefined, {
      token: laptop.accessToken,
    });
    expect(own.status).toBe(204);
    await sleep(1100);
    expect((await client.get('/v1/auth/session', { token: tv.accessToken })).status).toBe(401);
    expect((await client.post('/v1/auth/refresh', { refreshToken: tv.refreshToken })).status).toBe(401);
    expect((await client.get('/v1/auth/session', { token: laptop.accessToken })).status).toBe(200);
  });
});

describe('revoke-all ("sign out of all devices")', () => {
  it('rejects every access and refresh token issued before, on every device, the caller included', async () => {
    const account = await signUp(client);
    const devices = await Promise.all(
      ['Phone', 'TV', 'Media server', 'Laptop'].map((deviceName) => logIn(client, account, { deviceName })),
    );
    const caller = devices[0]!;
    const response = await client.post('/v1/auth/revoke-all', undefined, { token: caller.accessToken });
    expect(response.status).toBe(204);
    // Same process: immediately. The contract allows up to one second across instances.
    for (const device of devices) {
      expect((await client.get('/v1/auth/session', { token: device.accessToken })).status).toBe(401);
      expect((await client.get('/v1/me', { token: device.accessToken })).status).toBe(401);
      expect((await client.post('/v1/auth/refresh', { refreshToken: device.refreshToken })).status).toBe(401);
    }
    // A new login works and carries the new token version.
    const fresh = await logIn(client, account);
    expect(decodeJwt(fresh.accessToken).tv).toBe(1);
    expect((await client.get('/v1/auth/session', { token: fresh.accessToken })).status).toBe(200);
    const sessions = await client.get<{ sessions: unknown[] }>('/v1/auth/sessions', {
      token: fresh.accessToken,
    });
    expect(sessions.body.sessions).toHaveLength(1);
  });

  it('works the same for SSO accounts and sends a notice email', async () => {
    const account = await signUp(client);
    const tokens = await logIn(client, account);
    await client.post('/v1/auth/revoke-all', undefined, { token: tokens.accessToken });
    const [mail] = await stack.ses.waitForMail(account.email, { timeoutMs: 10_000 });
    expect(mail!.subject).toBe('You signed out of all devices');
    expect(mail!.body.text).toContain('We will never ask for your password or card number by email.');
  });
});

describe('admin users', () => {
  it('requires the admin token: 401 without, 403 with a wrong one', async () => {
    const body = { email: `${uniqueName()}@example.test`, authMethod: 'sso' };
    expect((await client.post('/v1/admin/users', body)).status).toBe(401);
    expect((await client.post('/v1/admin/users', body, { token: 'x'.repeat(40) })).status).toBe(403);
  });

  it('creates password and SSO accounts; SSO accounts have no password', async () => {
    const sso = await client.post<{ user: Record<string, unknown> }>(
      '/v1/admin/users',
      { email: `${uniqueName()}@example.test`, authMethod: 'sso' },
      { token: stack.adminToken },
    );
    expect(sso.status).toBe(201);
    expect(sso.body.user).toMatchObject({ authMethod: 'sso', username: null, mfaEnabled: false });
    const withPassword = await client.post(
      '/v1/admin/users',
      { email: `${uniqueName()}@example.test`, authMethod: 'sso', password: 'not-allowed-here' },
      { token: stack.adminToken },
    );
    expect(withPassword.status).toBe(400);
    const missing = await client.post(
      '/v1/admin/users',
      { email: `${uniqueName()}@example.test`, authMethod: 'password' },
      { token: stack.adminToken },
    );
    expect(missing.status).toBe(400);
  });
});

describe('security events', () => {
  it('lists logins (ok and failed) and sign-outs newest first, without secrets', async () => {
    const account = await signUp(client);
    await client.post('/v1/auth/login', { login: account.email, password: 'wrong-password-x' });
    const tokens = await logIn(client, account);
    const response = await client.get<{ events: { type: string; ip: string | null }[] }>(
      '/v1/me/security-events',
      {
        token: tokens.accessToken,
      },
    );
    expect(response.status).toBe(200);
    expect(response.body.events.map((e) => e.type)).toEqual([
      'login_succeeded',
      'login_failed',
      'account_created',
    ]);
    expect(response.body.events[0]!.ip).toBe('127.0.0.1');
    expect(response.text).not.toContain(account.password);
    expect(response.text).not.toContain(tokens.refreshToken);
  });
});

describe('routing', () => {
  it('answers an unknown path, as the $default route on AWS does, with the contract 404 and headers', async () => {
    const { handler } = await import('../../functions/jwks.js');
    const result = await handler(
      {
        version: '2.0',
        routeKey: '$default',
        rawPath: '/v1/nothing-here',
        rawQueryString: '',
        headers: {},
        requestContext: { http: { method: 'GET', path: '/v1/nothing-here', sourceIp: '203.0.113.1' } },
        isBase64Encoded: false,
      } as unknown as Parameters<typeof handler>[0],
      {} as Parameters<typeof handler>[1],
    );
    expect(result).toMatchObject({
      statusCode: 404,
      headers: { 'cache-control': 'no-store', 'x-frame-options': 'DENY' },
    });
    expect(JSON.parse(String(result.body))).toEqual({
      error: 'not_found',
      message: 'No route for GET /v1/nothing-here.',
    });
  });
});
