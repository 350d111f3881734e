/**
 * Federated sign-in end to end: the API on the emulators, the local IdP (oidc-provider) on a free port, and a
 * small cookie-keeping browser that follows the redirects and submits the IdP's sign-in form. A second,
 * deliberately broken provider (jose-signed ID tokens) exercises the ID token verification.
 */
import { createServer } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { sha256Hex } from '../../shared/crypto/secrets.js';
import { NEVER_ASK_LINE } from '../../shared/notifications/templates.js';
import { type PageResponse, TestBrowser } from '../support/cookie-browser.js';
import { type Api, logIn, signUp, sleep, type Tokens, uniqueName } from '../support/fixtures.js';
import { type ForgedProvider, startForgedProvider } from '../support/forged-oidc-provider.js';
import { api } from '../support/http.js';
import { startTestStack, TEST_APP_URL, type TestStack } from '../support/test-stack.js';

let stack: TestStack;
let client: Api;
let admin: { token: string };
let forged: ForgedProvider;

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

beforeAll(async () => {
  forged = await startForgedProvider();
  const downPort = await closedPort();
  stack = await startTestStack({
    localIdp: { jitCreate: false },
    ssoProviders: [
      {
        id: 'forged',
        displayName: 'Forged IdP',
        issuer: forged.issuer,
        clientId: forged.clientId,
        clientSecret: forged.clientSecret,
        jitCreate: true,
      },
      {
        id: 'down',
        displayName: 'Down IdP',
        issuer: `http://127.0.0.1:${downPort}`,
        clientId: 'down-client',
        clientSecret: 'down-secret',
      },
    ],
  });
  client = api(stack.apiUrl);
  admin = { token: stack.adminToken };
}, 60_000);

afterAll(async () => {
  await stack?.stop();
  await forged?.close();
});

const atApp = (url: string) => url.startsWith(TEST_APP_URL);

function fragmentOf(location: string | undefined): URLSearchParams {
  expect(location).toBeDefined();
  return new URLSearchParams(new URL(location!).hash.slice(1));
}

async function createSsoAccount(email: string): Promise<string> {
  const response = await client.post<{ user: { id: string } }>(
    '/v1/admin/users',
    { email, authMethod: 'sso' },
    admin,
  );
  expect(response.status).toBe(201);
  return response.body.user.id;
}

/** The absolute URL that the IdP's page posts its sign-in (`login`) or cancel (`abort`) form to. */
function idpFormAction(page: PageResponse, form: 'login' | 'abort'): string {
  const action = new RegExp(`<form method="post" action="([^"]+/${form})">`).exec(page.text)?.[1];
  expect(action).toBeDefined();
  return new URL(action!, page.url).href;
}

/** Start -> the IdP's page (checked for its "Email" textbox and "Sign in" button) -> submit -> back at the app. */
async function signInAtLocalIdp(
  browser: TestBrowser,
  email: string,
  start = `${stack.apiUrl}/v1/auth/sso/local/start`,
): Promise<string> {
  const page = await browser.navigate(start, atApp);
  expect(page.status).toBe(200);
  expect(page.url.startsWith(stack.localIdpUrl!)).toBe(true);
  expect(page.text).toMatch(/<label for="email">Email<\/label>/);
  expect(page.text).toMatch(/<input id="email" name="email" type="email"/);
  expect(page.text).toMatch(/<button type="submit">Sign in<\/button>/);
  const done = await browser.navigate(idpFormAction(page, 'login'), atApp, { email });
  expect(done.status).toBe(302);
  return done.location!;
}

/** Start -> submit the IdP's sign-in form -> stop at the API's callback: returns its URL, not yet requested. */
async function signInUpToCallback(browser: TestBrowser, email: string): Promise<string> {
  const page = await browser.navigate(`${stack.apiUrl}/v1/auth/sso/local/start`, atApp);
  const done = await browser.navigate(idpFormAction(page, 'login'), (url) => url.includes('/callback'), {
    email,
  });
  return done.location!;
}

async function exchange(location: string, deviceName?: string): Promise<Tokens> {
  const fragment = fragmentOf(location);
  const code = fragment.get('sso_code');
  expect(code).toBeTruthy();
  const response = await client.post<Tokens>('/v1/auth/sso/exchange', {
    code,
    ...(deviceName ? { deviceName } : {}),
  });
  expect(response.status).toBe(200);
  return response.body;
}

describe('SSO providers and sign-in through the local IdP', () => {
  it('lists the configured providers with their start URLs', async () => {
    const response = await client.get<{ providers: { id: string; displayName: string; startUrl: string }[] }>(
      '/v1/auth/sso/providers',
    );
    expect(response.status).toBe(200);
    expect(response.body.providers).toEqual([
      { id: 'local', displayName: 'Local IdP', startUrl: '/v1/auth/sso/local/start' },
      { id: 'forged', displayName: 'Forged IdP', startUrl: '/v1/auth/sso/forged/start' },
      { id: 'down', displayName: 'Down IdP', startUrl: '/v1/auth/sso/down/start' },
    ]);
  });

  it('start redirects to the provider with PKCE S256, state and nonce, and binds them to the browser', async () => {
    const browser = new TestBrowser();
    const response = await browser.request(
      'GET',
      `${stack.apiUrl}/v1/auth/sso/local/start?returnTo=/security`,
    );
    expect(response.status).toBe(302);
    const url = new URL(response.location!);
    expect(url.origin).toBe(stack.localIdpUrl);
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(url.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(url.searchParams.get('state')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(url.searchParams.get('nonce')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(url.searchParams.get('redirect_uri')).toBe(`${stack.apiUrl}/v1/auth/sso/local/callback`);
    const cookie = response.headers.getSetCookie().find((c) => c.startsWith('account_shield_sso='));
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Lax/);
    expect(cookie).toMatch(/Path=\/v1\/auth\/sso\//);
  });

  it('signs in an admin-created SSO account on first use, links it, and a second device too', async () => {
    const email = `${uniqueName('sso')}@example.test`;
    const userId = await createSsoAccount(email);

    const first = await exchange(await signInAtLocalIdp(new TestBrowser(), email), 'Laptop');
    expect(first.user).toMatchObject({ id: userId, email, authMethod: 'sso' });
    expect(first.tokenType).toBe('Bearer');
    const me = await client.get<{ user: { id: string } }>('/v1/me', { token: first.accessToken });
    expect(me.body.user.id).toBe(userId);

    const links = await client.get<{
      links: { providerId: string; displayName: string; linkedAt: string }[];
    }>('/v1/me/sso-links', { token: first.accessToken });
    expect(links.status).toBe(200);
    expect(links.body.links).toEqual([
      { providerId: 'local', displayName: 'Local IdP', linkedAt: expect.any(String) },
    ]);

    const second = await exchange(await signInAtLocalIdp(new TestBrowser(), email), 'Phone');
    expect(second.user).toMatchObject({ id: userId });
    expect(second.sessionId).not.toBe(first.sessionId);

    const sessions = await client.get<{ sessions: { deviceName: string }[] }>('/v1/auth/sessions', {
      token: first.accessToken,
    });
    expect(sessions.body.sessions.map((s) => s.deviceName).sort()).toEqual(['Laptop', 'Phone']);

    const events = await client.get<{ events: { type: string; detail: Record<string, unknown> }[] }>(
      '/v1/me/security-events',
      { token: first.accessToken },
    );
    const signIns = events.body.events.filter((e) => e.type === 'login_succeeded');
    expect(signIns).toHaveLength(2);
    expect(signIns[0]?.detail).toMatchObject({
      provider: 'Local IdP',
      description: 'Signed in with Local IdP',
    });
    expect(events.body.events.some((e) => e.type === 'sso_linked')).toBe(true);

    // Sign out of all devices from one: both devices' access and refresh tokens stop working within 1 s.
    expect((await client.post('/v1/auth/revoke-all', undefined, { token: second.accessToken })).status).toBe(
      204,
    );
    await sleep(1_000);
    for (const tokens of [first, second]) {
      expect((await client.get('/v1/me', { token: tokens.accessToken })).status).toBe(401);
      const refreshed = await client.post('/v1/auth/refresh', { refreshToken: tokens.refreshToken });
      expect(refreshed.status).toBe(401);
    }
    await stack.ses.waitForMail(email);
  });

  it('passes returnTo back with the one-time code, which works once', async () => {
    const email = `${uniqueName('sso')}@example.test`;
    await createSsoAccount(email);
    const location = await signInAtLocalIdp(
      new TestBrowser(),
      email,
      `${stack.apiUrl}/v1/auth/sso/local/start?returnTo=${encodeURIComponent('/security/report')}`,
    );
    expect(location.startsWith(`${TEST_APP_URL}/login#`)).toBe(true);
    const fragment = fragmentOf(location);
    expect(fragment.get('returnTo')).toBe('/security/report');
    await exchange(location);
    const again = await client.post('/v1/auth/sso/exchange', { code: fragment.get('sso_code') });
    expect(again.status).toBe(400);
    expect(again.body).toMatchObject({ error: 'invalid_grant' });
    const unknown = await client.post('/v1/auth/sso/exchange', { code: 'x'.repeat(43) });
    expect(unknown.status).toBe(400);
    expect(unknown.body).toMatchObject({ error: 'invalid_grant' });
  });

  it('never sends returnTo off our origin', async () => {
    const email = `${uniqueName('sso')}@example.test`;
    await createSsoAccount(email);
    const location = await signInAtLocalIdp(
      new TestBrowser(),
      email,
      `${stack.apiUrl}/v1/auth/sso/local/start?returnTo=${encodeURIComponent('//evil.example/x')}`,
    );
    expect(fragmentOf(location).get('returnTo')).toBe('/security');
  });

  it('does not sign into a password account whose email the IdP presents', async () => {
    const account = await signUp(client);
    const location = await signInAtLocalIdp(new TestBrowser(), account.email);
    expect(location).toBe(`${TEST_APP_URL}/login#sso_error=not_linked`);
    // The account is untouched: no link, and its owner still signs in with the password.
    const tokens = await logIn(client, account);
    const links = await client.get<{ links: unknown[] }>('/v1/me/sso-links', { token: tokens.accessToken });
    expect(links.body.links).toEqual([]);
  });

  it('refuses an unknown email when the provider does not create accounts', async () => {
    const location = await signInAtLocalIdp(new TestBrowser(), `${uniqueName('nobody')}@example.test`);
    expect(location).toBe(`${TEST_APP_URL}/login#sso_error=not_linked`);
  });

  it('links a provider to a signed-in password account, which then signs in with it', async () => {
    const account = await signUp(client);
    const tokens = await logIn(client, account);
    const idpEmail = `${uniqueName('work')}@example.test`;
    const browser = new TestBrowser();
    const link = await browser.request('POST', `${stack.apiUrl}/v1/auth/sso/local/link`);
    expect(link.status).toBe(401);

    // The /security page's fetch: same origin, so the binding cookie lands in the browser that then navigates.
    const started = await browser.request('POST', `${stack.apiUrl}/v1/auth/sso/local/link`, undefined, {
      authorization: `Bearer ${tokens.accessToken}`,
    });
    expect(started.status).toBe(200);
    const { authorizationUrl } = JSON.parse(started.text) as { authorizationUrl: string };
    const linked = await signInAtLocalIdp(browser, idpEmail, authorizationUrl);
    expect(linked).toBe(`${TEST_APP_URL}/security#sso_linked=local`);

    const links = await client.get<{ links: { providerId: string }[] }>('/v1/me/sso-links', {
      token: tokens.accessToken,
    });
    expect(links.body.links.map((l) => l.providerId)).toEqual(['local']);

    const viaIdp = await exchange(await signInAtLocalIdp(new TestBrowser(), idpEmail));
    expect(viaIdp.user).toMatchObject({ id: account.id, authMethod: 'password' });
  });
});

describe('SSO failures are redirects with an error code, never a 500', () => {
  it('refuses a tampered state', async () => {
    const browser = new TestBrowser();
    const start = await browser.request('GET', `${stack.apiUrl}/v1/auth/sso/local/start`);
    const authorize = new URL(start.location!);
    authorize.searchParams.set('state', 'tampered-state-value-aaaaaaaaaaaaaaaaaaaaaaa');
    const page = await browser.navigate(authorize.href, atApp);
    const done = await browser.navigate(idpFormAction(page, 'login'), atApp, {
      email: `${uniqueName('sso')}@example.test`,
    });
    expect(done.location).toBe(`${TEST_APP_URL}/login#sso_error=invalid_state`);
  });

  it('refuses a callback in a browser that did not start the sign-in (no binding cookie)', async () => {
    const email = `${uniqueName('sso')}@example.test`;
    await createSsoAccount(email);
    // Stopped at the API's callback: this URL is what an attacker would hand to someone else's browser.
    const callback = await signInUpToCallback(new TestBrowser(), email);
    expect(callback).toContain('/v1/auth/sso/local/callback?');
    const other = await new TestBrowser().request('GET', callback);
    expect(other.location).toBe(`${TEST_APP_URL}/login#sso_error=invalid_state`);
  });

  it('refuses a replayed callback, and a used code grafted onto a fresh state', async () => {
    const email = `${uniqueName('sso')}@example.test`;
    await createSsoAccount(email);
    const browser = new TestBrowser();
    const callback = await signInUpToCallback(browser, email);
    const first = await browser.request('GET', callback);
    expect(fragmentOf(first.location).get('sso_code')).toBeTruthy();
    // The same callback again: its state was consumed.
    const replay = await browser.request('GET', callback);
    expect(replay.location).toBe(`${TEST_APP_URL}/login#sso_error=invalid_state`);

    // A new sign-in in the same browser, answered with the old (used) code: the provider refuses it.
    const fresh = await browser.request('GET', `${stack.apiUrl}/v1/auth/sso/local/start`);
    const freshState = new URL(fresh.location!).searchParams.get('state')!;
    const grafted = new URL(callback);
    grafted.searchParams.set('state', freshState);
    const refused = await browser.request('GET', grafted.href);
    expect(refused.location).toBe(`${TEST_APP_URL}/login#sso_error=invalid_grant`);
  });

  it('refuses a sign-in that stayed at the provider past the flow lifetime as expired', async () => {
    const email = `${uniqueName('sso')}@example.test`;
    await createSsoAccount(email);
    const browser = new TestBrowser();
    const callback = await signInUpToCallback(browser, email);
    // Ten minutes pass (the flow's expiry moved into the past rather than waiting).
    const state = new URL(callback).searchParams.get('state')!;
    const db = DynamoDBDocumentClient.from(
      new DynamoDBClient({ endpoint: stack.endpoints.dynamodb, region: 'us-east-1' }),
    );
    await db.send(
      new UpdateCommand({
        TableName: stack.tables.records,
        Key: { pk: `sso-flow#${sha256Hex(state)}`, sk: 'flow' },
        UpdateExpression: 'SET expiresAt = :past',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':past': Math.floor(Date.now() / 1000) - 1 },
      }),
    );
    db.destroy();
    const expired = await browser.request('GET', callback);
    expect(expired.location).toBe(`${TEST_APP_URL}/login#sso_error=expired`);
  });

  it('reports a sign-in cancelled at the provider as access_denied', async () => {
    const browser = new TestBrowser();
    const page = await browser.navigate(`${stack.apiUrl}/v1/auth/sso/local/start`, atApp);
    const done = await browser.navigate(idpFormAction(page, 'abort'), atApp, {});
    expect(done.location).toBe(`${TEST_APP_URL}/login#sso_error=access_denied`);
  });

  it('answers 503 when the provider is down, and 404 for an unknown provider', async () => {
    const down = await new TestBrowser().request('GET', `${stack.apiUrl}/v1/auth/sso/down/start`);
    expect(down.status).toBe(503);
    expect(JSON.parse(down.text)).toMatchObject({ error: 'unavailable' });
    expect(down.headers.get('retry-after')).toBeTruthy();
    const unknown = await new TestBrowser().request('GET', `${stack.apiUrl}/v1/auth/sso/nope/start`);
    expect(unknown.status).toBe(404);
  });

  it('rejects a malformed start query with 400', async () => {
    const response = await new TestBrowser().request(
      'GET',
      `${stack.apiUrl}/v1/auth/sso/local/start?deviceName=${'x'.repeat(200)}`,
    );
    expect(response.status).toBe(400);
    expect(JSON.parse(response.text)).toMatchObject({ error: 'invalid_request' });
  });
});

describe('ID token verification (a provider that signs what the test asks)', () => {
  async function signInAtForged(email: string): Promise<string | undefined> {
    forged.email = email;
    const done = await new TestBrowser().navigate(`${stack.apiUrl}/v1/auth/sso/forged/start`, atApp);
    return done.location;
  }

  it('accepts a valid ID token (and creates the account just in time)', async () => {
    forged.mode = 'valid';
    const email = `${uniqueName('jit')}@example.test`;
    const tokens = await exchange((await signInAtForged(email))!);
    expect(tokens.user).toMatchObject({ email, authMethod: 'sso' });
  });

  it.each([
    ['wrong-audience', 'an ID token for another audience'],
    ['expired', 'an expired ID token'],
    ['wrong-nonce', 'an ID token with another nonce'],
    ['foreign-key', 'an ID token signed by a key not in the JWKS'],
    ['wrong-issuer', 'an ID token from another issuer'],
  ] as const)('refuses %s (%s)', async (mode, _description) => {
    forged.mode = mode;
    const email = `${uniqueName('forged')}@example.test`;
    const location = await signInAtForged(email);
    expect(location).toBe(`${TEST_APP_URL}/login#sso_error=invalid_id_token`);
    // Nothing was created for the refused identity.
    const created = await client.post('/v1/admin/users', { email, authMethod: 'sso' }, admin);
    expect(created.status).toBe(201);
  });
});

describe('a provider that goes down mid-sign-in', () => {
  it('redirects with sso_error=unavailable when the token endpoint cannot be reached', async () => {
    forged.mode = 'valid';
    forged.email = `${uniqueName('down')}@example.test`;
    const browser = new TestBrowser();
    const callback = await browser.navigate(`${stack.apiUrl}/v1/auth/sso/forged/start`, (url) =>
      url.includes('/callback'),
    );
    await forged.close();
    try {
      const response = await browser.request('GET', callback.location!);
      expect(response.status).toBe(302);
      expect(response.location).toBe(`${TEST_APP_URL}/login#sso_error=unavailable`);
    } finally {
      // Back on the same address, so that the tests after this one (in any order) still have their provider.
      await forged.reopen();
    }
  });
});

describe('incidents reach SSO accounts', () => {
  it('an incident revokes SSO sessions and mails the SSO text; the user signs in again', async () => {
    const email = `${uniqueName('sso')}@example.test`;
    await createSsoAccount(email);
    const tokens = await exchange(await signInAtLocalIdp(new TestBrowser(), email));
    const title = `Breach ${uniqueName('incident')}`;
    const created = await client.post<{ incident: { id: string } }>(
      '/v1/admin/incidents',
      {
        title,
        // Scoped to this account, so the other tests of the file (and their order) are untouched; the tenant-wide
        // cut-off is the same for every sign-in method (tenant-wide-incident.test.ts).
        scope: { type: 'emails', emails: [email] },
        actions: { forcePasswordReset: true, revokeSessions: true },
        notify: { enabled: true },
      },
      admin,
    );
    expect(created.status).toBe(201);
    await sleep(1_000);
    expect((await client.get('/v1/me', { token: tokens.accessToken })).status).toBe(401);
    expect((await client.post('/v1/auth/refresh', { refreshToken: tokens.refreshToken })).status).toBe(401);

    const deadline = Date.now() + 20_000;
    let mail: Awaited<ReturnType<TestStack['ses']['listMail']>>[number] | undefined;
    while (!mail && Date.now() < deadline) {
      await stack.runDispatcher();
      mail = (await stack.ses.listMail(email)).find((m) => m.body.text?.includes(title));
      if (!mail) await sleep(200);
    }
    expect(mail).toBeDefined();
    const text = mail!.body.text ?? '';
    expect(text).toMatch(/single sign-on/);
    expect(text).toContain('"Sign out of all devices"');
    expect(text).toContain(NEVER_ASK_LINE);
    expect(`${mail!.subject}\n${text}`).not.toMatch(/reset your password|forgot-password|new password/i);

    // From the mail: sign in again with the provider (a session after the incident) and sign out everywhere.
    const again = await exchange(await signInAtLocalIdp(new TestBrowser(), email));
    expect((await client.get('/v1/me', { token: again.accessToken })).status).toBe(200);
    expect((await client.post('/v1/auth/revoke-all', undefined, { token: again.accessToken })).status).toBe(
      204,
    );
  });
});
