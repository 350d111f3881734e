import { decodeJwt, decodeProtectedHeader } from 'jose';
import * as oidc from 'openid-client';
import { type Api, logIn, signUp, sleep, type TestAccount, uniqueName } from '../support/fixtures.js';
import { api } from '../support/http.js';
import { startTestStack, TEST_APP_URL, type TestStack } from '../support/test-stack.js';

/**
 * The OAuth 2.0 / OpenID Connect surface, driven by openid-client (a certified relying-party library) over
 * HTTP against the local stack. Device codes poll every second and live 8 s here, so expiry needs no fake clock.
 */
let stack: TestStack;
let client: Api;
let admin: { token: string };

interface RegisteredClient {
  client: {
    clientId: string;
    name: string;
    type: string;
    grantTypes: string[];
    redirectUris: string[];
    scopes: string[];
  };
  clientSecret?: string;
}

const REDIRECT = 'https://tv-app.example.test/callback';
const insecure = { execute: [oidc.allowInsecureRequests] };

beforeAll(async () => {
  stack = await startTestStack({
    env: {
      OAUTH_DEVICE_POLL_INTERVAL_SECONDS: '1',
      OAUTH_DEVICE_CODE_TTL_SECONDS: '8',
      OAUTH_USER_CODE_MAX_FAILURES_PER_ACCOUNT: '3',
      REVOCATION_CACHE_MS: '500',
    },
  });
  client = api(stack.apiUrl);
  admin = { token: stack.adminToken };
});
afterAll(async () => {
  await stack?.stop();
});

async function register(body: Record<string, unknown>): Promise<RegisteredClient> {
  const response = await client.post<RegisteredClient>('/v1/admin/clients', body, admin);
  if (response.status !== 201)
    throw new Error(`client registration failed: ${response.status} ${response.text}`);
  return response.body;
}

const confidential = (extra: Record<string, unknown> = {}) =>
  register({
    name: uniqueName('Resource server'),
    type: 'confidential',
    grantTypes: ['client_credentials'],
    scopes: ['signals.read', 'ssf.manage'],
    ...extra,
  });

async function discover(registered: RegisteredClient): Promise<oidc.Configuration> {
  return oidc.discovery(
    new URL(stack.apiUrl),
    registered.client.clientId,
    registered.clientSecret,
    registered.clientSecret ? oidc.ClientSecretBasic(registered.clientSecret) : oidc.None(),
    insecure,
  );
}

/** A raw form POST, for the answers openid-client hides behind its own retries (pending, slow_down). */
async function postForm(path: string, fields: Record<string, string>, basic?: [string, string]) {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (basic) headers.authorization = `Basic ${Buffer.from(`${basic[0]}:${basic[1]}`).toString('base64')}`;
  const response = await fetch(`${stack.apiUrl}${path}`, {
    method: 'POST',
    headers,
    body: new URLSearchParams(fields).toString(),
    signal: AbortSignal.timeout(15_000),
  });
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as Record<string, unknown>,
  };
}

/**
 * The contract's bound, not a speed target: once `boundMs` has passed (every revocation cache has expired), the
 * check must hold. Waiting first keeps the test independent of how loaded the machine is.
 */
async function holdsAfter(boundMs: number, check: () => Promise<boolean>): Promise<void> {
  await sleep(boundMs);
  expect(await check()).toBe(true);
}

describe('discovery', () => {
  it('publishes RFC 8414 and OpenID discovery documents at the issuer that openid-client accepts', async () => {
    const rfc8414 = await client.get<Record<string, unknown>>('/.well-known/oauth-authorization-server');
    const openid = await client.get<Record<string, unknown>>('/.well-known/openid-configuration');
    expect(openid.status).toBe(200);
    expect(openid.body).toEqual(rfc8414.body);
    expect(openid.body).toMatchObject({
      issuer: stack.apiUrl,
      jwks_uri: `${stack.apiUrl}/.well-known/jwks.json`,
      authorization_endpoint: `${stack.apiUrl}/oauth2/authorize`,
      token_endpoint: `${stack.apiUrl}/oauth2/token`,
      device_authorization_endpoint: `${stack.apiUrl}/oauth2/device_authorization`,
      revocation_endpoint: `${stack.apiUrl}/oauth2/revoke`,
      introspection_endpoint: `${stack.apiUrl}/oauth2/introspect`,
      grant_types_supported: [
        'authorization_code',
        'refresh_token',
        'urn:ietf:params:oauth:grant-type:device_code',
        'client_credentials',
      ],
      code_challenge_methods_supported: ['S256'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
    });
    const config = await discover(await confidential());
    expect(config.serverMetadata().issuer).toBe(stack.apiUrl);
  });
});

describe('client registry', () => {
  it('shows a confidential secret once, lists clients without secrets, rotates and deletes', async () => {
    const created = await confidential();
    expect(created.clientSecret).toMatch(/^cs_[A-Za-z0-9_-]{43}$/);
    const listed = await client.get<{ clients: Record<string, unknown>[] }>('/v1/admin/clients', admin);
    expect(listed.status).toBe(200);
    const mine = listed.body.clients.find((c) => c['clientId'] === created.client.clientId);
    expect(mine).toEqual(created.client);
    expect(listed.text).not.toContain(created.clientSecret);
    expect(listed.text).not.toMatch(/secretHash|credentialVersion/);

    const rotated = await client.post<RegisteredClient>(
      `/v1/admin/clients/${created.client.clientId}/rotate-secret`,
      undefined,
      admin,
    );
    expect(rotated.status).toBe(200);
    expect(rotated.body.clientSecret).not.toBe(created.clientSecret);
    const old = await postForm('/oauth2/token', { grant_type: 'client_credentials' }, [
      created.client.clientId,
      created.clientSecret!,
    ]);
    expect(old.status).toBe(401);

    expect(
      (await client.delete(`/v1/admin/clients/${created.client.clientId}`, undefined, admin)).status,
    ).toBe(204);
    expect(
      (await client.delete(`/v1/admin/clients/${created.client.clientId}`, undefined, admin)).status,
    ).toBe(404);
  });

  it('refuses client_credentials for public clients and authorization_code without a redirect URI', async () => {
    const response = await client.post(
      '/v1/admin/clients',
      { name: 'Bad', type: 'public', grantTypes: ['client_credentials', 'authorization_code'] },
      admin,
    );
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ error: 'invalid_request' });
    expect(JSON.stringify(response.body)).toContain('redirectUris');
    expect(
      (await client.post('/v1/admin/clients', { name: 'x', type: 'public', grantTypes: ['refresh_token'] }))
        .status,
    ).toBe(401);
  });
});

describe('client credentials', () => {
  it('issues an RFC 9068 token about the client, without refresh token, that introspects as active', async () => {
    const registered = await confidential();
    const config = await discover(registered);
    const tokens = await oidc.clientCredentialsGrant(config, { scope: 'signals.read' });
    expect(tokens.refresh_token).toBeUndefined();
    expect(tokens.scope).toBe('signals.read');
    expect(decodeProtectedHeader(tokens.access_token).typ).toBe('at+jwt');
    expect(decodeJwt(tokens.access_token)).toMatchObject({
      sub: registered.client.clientId,
      client_id: registered.client.clientId,
      scope: 'signals.read',
    });
    const introspected = await oidc.tokenIntrospection(config, tokens.access_token);
    expect(introspected).toMatchObject({
      active: true,
      client_id: registered.client.clientId,
      scope: 'signals.read',
    });
    // No user, no session: the user-facing routes refuse it.
    expect((await client.get('/v1/auth/session', { token: tokens.access_token })).status).toBe(401);
  });

  it('refuses a wrong secret with 401 invalid_client and a challenge, and unknown scopes with invalid_scope', async () => {
    const registered = await confidential();
    const wrong = await postForm('/oauth2/token', { grant_type: 'client_credentials' }, [
      registered.client.clientId,
      'cs_not-the-secret',
    ]);
    expect(wrong.status).toBe(401);
    expect(wrong.body).toEqual({ error: 'invalid_client', error_description: expect.any(String) });
    expect(wrong.headers.get('www-authenticate')).toMatch(/^Basic /);
    const post = await postForm('/oauth2/token', {
      grant_type: 'client_credentials',
      client_id: registered.client.clientId,
      client_secret: registered.clientSecret!,
      scope: 'admin',
    });
    expect(post.status).toBe(400);
    expect(post.body['error']).toBe('invalid_scope');
    const unsupported = await postForm('/oauth2/token', { grant_type: 'password' }, [
      registered.client.clientId,
      registered.clientSecret!,
    ]);
    expect(unsupported.body['error']).toBe('unsupported_grant_type');
  });

  it('answers active: false once the client secret is rotated', async () => {
    const registered = await confidential();
    const resourceServer = await discover(await confidential());
    const tokens = await oidc.clientCredentialsGrant(await discover(registered), {});
    await client.post(`/v1/admin/clients/${registered.client.clientId}/rotate-secret`, undefined, admin);
    expect(await oidc.tokenIntrospection(resourceServer, tokens.access_token)).toEqual({ active: false });
  });
});

describe('device authorization grant', () => {
  let tv: RegisteredClient;
  let tvConfig: oidc.Configuration;
  let resourceServer: oidc.Configuration;
  let owner: TestAccount;
  let ownerToken: string;

  beforeAll(async () => {
    tv = await register({
      name: uniqueName('Living room TV'),
      type: 'public',
      grantTypes: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'],
      scopes: ['media.read'],
    });
    tvConfig = await discover(tv);
    resourceServer = await discover(await confidential());
    owner = await signUp(client);
    ownerToken = (await logIn(client, owner)).accessToken;
  });

  const poll = (deviceCode: string) =>
    postForm('/oauth2/token', {
      grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
      device_code: deviceCode,
      client_id: tv.client.clientId,
    });

  it('initiates, answers pending then slow_down, and issues tokens for a session named after the device once approved', async () => {
    const started = await oidc.initiateDeviceAuthorization(tvConfig, { scope: 'media.read' });
    expect(started.user_code).toMatch(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
    expect(started.verification_uri).toBe(`${TEST_APP_URL}/device`);
    expect(started.verification_uri_complete).toBe(`${TEST_APP_URL}/device?user_code=${started.user_code}`);
    expect(started.expires_in).toBe(8);
    expect(started.interval).toBe(1);

    expect((await poll(started.device_code)).body['error']).toBe('authorization_pending');
    const tooFast = await poll(started.device_code);
    expect(tooFast.status).toBe(400);
    expect(tooFast.body['error']).toBe('slow_down');

    const lookup = await client.post(
      '/v1/auth/device/lookup',
      { userCode: started.user_code.toLowerCase() },
      { token: ownerToken },
    );
    expect(lookup.status).toBe(200);
    expect(lookup.body).toEqual({
      request: { userCode: started.user_code, clientName: tv.client.name, expiresAt: expect.any(String) },
    });
    const approved = await client.post(
      '/v1/auth/device/approve',
      { userCode: started.user_code },
      { token: ownerToken },
    );
    expect(approved.status).toBe(204);

    // slow_down added 5 s to the 1 s interval.
    await sleep(6_100);
    const tokens = await poll(started.device_code);
    expect(tokens.status).toBe(200);
    expect(tokens.body).toMatchObject({
      token_type: 'Bearer',
      scope: 'media.read',
      refresh_token: expect.any(String),
    });
    const accessToken = tokens.body['access_token'] as string;
    expect(decodeJwt(accessToken)).toMatchObject({
      sub: owner.id,
      client_id: tv.client.clientId,
      scope: 'media.read',
    });
    expect((await poll(started.device_code)).status).toBe(400);

    const sessions = await client.get<{ sessions: { deviceName: string }[] }>('/v1/auth/sessions', {
      token: ownerToken,
    });
    expect(sessions.body.sessions.map((s) => s.deviceName)).toContain(`${tv.client.name} (device)`);

    // The device refreshes like any OAuth client, and revoke-all ends it like any other session.
    const refreshed = await oidc.refreshTokenGrant(tvConfig, tokens.body['refresh_token'] as string);
    expect(refreshed.access_token).toBeDefined();
    expect((await oidc.tokenIntrospection(resourceServer, refreshed.access_token)).active).toBe(true);
    expect((await client.post('/v1/auth/revoke-all', undefined, { token: ownerToken })).status).toBe(204);
    await holdsAfter(
      1_000,
      async () => !(await oidc.tokenIntrospection(resourceServer, refreshed.access_token)).active,
    );
    await expect(oidc.refreshTokenGrant(tvConfig, refreshed.refresh_token!)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    ownerToken = (await logIn(client, owner)).accessToken;
  }, 20_000);

  it('gives the device its tokens through openid-client once approved by API', async () => {
    const started = await oidc.initiateDeviceAuthorization(tvConfig, {});
    const tokensPromise = oidc.pollDeviceAuthorizationGrant(tvConfig, started);
    await sleep(300);
    await client.post('/v1/auth/device/approve', { userCode: started.user_code }, { token: ownerToken });
    const tokens = await tokensPromise;
    expect(decodeJwt(tokens.access_token)).toMatchObject({ sub: owner.id, client_id: tv.client.clientId });
  }, 20_000);

  it('refuses the tokens when the user signed out of all devices between approving and the poll', async () => {
    const approver = await signUp(client);
    const token = (await logIn(client, approver)).accessToken;
    const started = await oidc.initiateDeviceAuthorization(tvConfig, {});
    expect(
      (await client.post('/v1/auth/device/approve', { userCode: started.user_code }, { token })).status,
    ).toBe(204);
    expect((await client.post('/v1/auth/revoke-all', undefined, { token })).status).toBe(204);
    const polled = await poll(started.device_code);
    expect(polled.status).toBe(400);
    expect(polled.body['error']).toBe('invalid_grant');
  });

  it('answers access_denied after deny, and expired_token after the code life', async () => {
    const denied = await oidc.initiateDeviceAuthorization(tvConfig, {});
    expect(
      (await client.post('/v1/auth/device/deny', { userCode: denied.user_code }, { token: ownerToken }))
        .status,
    ).toBe(204);
    expect((await poll(denied.device_code)).body['error']).toBe('access_denied');

    const expiring = await oidc.initiateDeviceAuthorization(tvConfig, {});
    await sleep(8_100);
    expect((await poll(expiring.device_code)).body['error']).toBe('expired_token');
    const late = await client.post(
      '/v1/auth/device/approve',
      { userCode: expiring.user_code },
      { token: ownerToken },
    );
    expect(late.status).toBe(404);
  }, 20_000);

  it('throttles wrong user codes per account with 429 and retry-after', async () => {
    const guesser = await signUp(client);
    const token = (await logIn(client, guesser)).accessToken;
    for (let attempt = 0; attempt < 3; attempt += 1) {
      expect((await client.post('/v1/auth/device/lookup', { userCode: 'BBBB-BBBB' }, { token })).status).toBe(
        404,
      );
    }
    const blocked = await client.post('/v1/auth/device/lookup', { userCode: 'BBBB-BBBB' }, { token });
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});

describe('authorization code + PKCE', () => {
  let app: RegisteredClient;
  let appConfig: oidc.Configuration;
  let user: TestAccount;

  beforeAll(async () => {
    app = await register({
      name: uniqueName('Photo app'),
      type: 'public',
      grantTypes: ['authorization_code', 'refresh_token'],
      redirectUris: [REDIRECT],
      scopes: ['openid', 'photos.read', 'photos.write'],
    });
    appConfig = await discover(app);
    user = await signUp(client);
  });

  /** What the hosted /login page does: JSON sign-in, then complete the pending request with its bearer. */
  async function authorizeAsUser(params: Record<string, string>, bearer?: string) {
    const url = oidc.buildAuthorizationUrl(appConfig, { redirect_uri: REDIRECT, ...params });
    const started = await fetch(url, { redirect: 'manual' });
    expect(started.status).toBe(302);
    const login = new URL(started.headers.get('location')!);
    expect(`${login.origin}${login.pathname}`).toBe(`${TEST_APP_URL}/login`);
    const token = bearer ?? (await logIn(client, user)).accessToken;
    const completed = await client.post<{ redirectTo: string }>(
      '/v1/auth/authorize/complete',
      { authorization: login.searchParams.get('authorization') },
      { token },
    );
    expect(completed.status).toBe(200);
    return new URL(completed.body.redirectTo);
  }

  it('signs in through authorize -> hosted login -> complete -> token exchange, then refreshes and revokes', async () => {
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const callback = await authorizeAsUser({
      scope: 'photos.read',
      state,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    expect(`${callback.origin}${callback.pathname}`).toBe(REDIRECT);
    const tokens = await oidc.authorizationCodeGrant(appConfig, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
    expect(tokens.scope).toBe('photos.read');
    expect(decodeJwt(tokens.access_token)).toMatchObject({
      sub: user.id,
      client_id: app.client.clientId,
      scope: 'photos.read',
    });
    expect((await client.get('/v1/auth/session', { token: tokens.access_token })).status).toBe(200);

    const refreshed = await oidc.refreshTokenGrant(appConfig, tokens.refresh_token!);
    expect(decodeJwt(refreshed.access_token)).toMatchObject({
      client_id: app.client.clientId,
      scope: 'photos.read',
    });
    // RFC 7009: the refresh token ends its session; its access tokens stop within a second.
    await oidc.tokenRevocation(appConfig, refreshed.refresh_token!);
    await holdsAfter(
      1_000,
      async () => (await client.get('/v1/auth/session', { token: refreshed.access_token })).status === 401,
    );
    await expect(oidc.refreshTokenGrant(appConfig, refreshed.refresh_token!)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
  });

  it('issues an OpenID Connect ID token for the openid scope, bound to the client and the nonce', async () => {
    const verifier = oidc.randomPKCECodeVerifier();
    const nonce = oidc.randomNonce();
    const callback = await authorizeAsUser({
      scope: 'openid photos.read',
      nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    // openid-client checks the ID token's signature (JWKS), alg, iss, aud, exp and nonce.
    const tokens = await oidc.authorizationCodeGrant(appConfig, callback, {
      pkceCodeVerifier: verifier,
      expectedNonce: nonce,
      idTokenExpected: true,
    });
    expect(tokens.claims()).toMatchObject({
      sub: user.id,
      aud: app.client.clientId,
      nonce,
      iss: stack.apiUrl,
    });
    expect(tokens.scope).toBe('openid photos.read');
  });

  it('refuses a reused code with invalid_grant and ends the session it started', async () => {
    const verifier = oidc.randomPKCECodeVerifier();
    const callback = await authorizeAsUser({
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    const tokens = await oidc.authorizationCodeGrant(appConfig, callback, { pkceCodeVerifier: verifier });
    const replay = await postForm('/oauth2/token', {
      grant_type: 'authorization_code',
      code: callback.searchParams.get('code')!,
      redirect_uri: REDIRECT,
      code_verifier: verifier,
      client_id: app.client.clientId,
    });
    expect(replay.status).toBe(400);
    expect(replay.body['error']).toBe('invalid_grant');
    await holdsAfter(
      1_000,
      async () => (await client.get('/v1/auth/session', { token: tokens.access_token })).status === 401,
    );
  });

  it('refuses a PKCE mismatch and a different redirect_uri at the token endpoint with invalid_grant', async () => {
    for (const [verifierSent, redirectSent] of [
      ['wrong', REDIRECT],
      ['right', 'https://tv-app.example.test/other'],
    ] as const) {
      const verifier = oidc.randomPKCECodeVerifier();
      const callback = await authorizeAsUser({
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
      });
      const exchange = await postForm('/oauth2/token', {
        grant_type: 'authorization_code',
        code: callback.searchParams.get('code')!,
        redirect_uri: redirectSent,
        code_verifier: verifierSent === 'right' ? verifier : oidc.randomPKCECodeVerifier(),
        client_id: app.client.clientId,
      });
      expect(exchange.status).toBe(400);
      expect(exchange.body['error']).toBe('invalid_grant');
    }
  });

  it('shows errors for an unregistered redirect URI and redirects the others back with state', async () => {
    const challenge = await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier());
    const wrongRedirect = await fetch(
      oidc.buildAuthorizationUrl(appConfig, {
        redirect_uri: 'https://evil.example.test/callback',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      }),
      { redirect: 'manual' },
    );
    expect(wrongRedirect.status).toBe(400);
    expect(await wrongRedirect.json()).toMatchObject({ error: 'invalid_request' });

    const plain = await fetch(
      oidc.buildAuthorizationUrl(appConfig, {
        redirect_uri: REDIRECT,
        state: 'xyz',
        code_challenge: 'a'.repeat(43),
        code_challenge_method: 'plain',
      }),
      { redirect: 'manual' },
    );
    expect(plain.status).toBe(302);
    const back = new URL(plain.headers.get('location')!);
    expect(`${back.origin}${back.pathname}`).toBe(REDIRECT);
    expect(Object.fromEntries(back.searchParams)).toMatchObject({
      error: 'invalid_request',
      state: 'xyz',
      iss: stack.apiUrl,
    });
  });
});

describe('introspection and revocation state', () => {
  it('refuses public clients, and flips to active: false within 1 s of a scope-all incident', async () => {
    const resourceServerClient = await confidential();
    const resourceServer = await discover(resourceServerClient);
    const publicClient = await register({ name: 'Public', type: 'public', grantTypes: ['refresh_token'] });
    const refused = await postForm('/oauth2/introspect', {
      token: 'x',
      client_id: publicClient.client.clientId,
    });
    expect(refused.status).toBe(401);
    expect(refused.body['error']).toBe('invalid_client');

    const account = await signUp(client);
    const tokens = await logIn(client, account);
    const service = await oidc.clientCredentialsGrant(await discover(await confidential()), {});
    expect(await oidc.tokenIntrospection(resourceServer, tokens.accessToken)).toMatchObject({
      active: true,
      sub: account.id,
      sid: tokens.sessionId,
      token_type: 'Bearer',
      exp: expect.any(Number),
      iat: expect.any(Number),
    });
    const incident = await client.post(
      '/v1/admin/incidents',
      {
        title: `Key leak ${uniqueName()}`,
        scope: { type: 'all' },
        actions: { forcePasswordReset: false, revokeSessions: true },
        notify: { enabled: false },
      },
      admin,
    );
    expect(incident.status).toBe(201);
    await holdsAfter(1_000, async () => {
      const [user, machine] = await Promise.all([
        oidc.tokenIntrospection(resourceServer, tokens.accessToken),
        oidc.tokenIntrospection(resourceServer, service.access_token),
      ]);
      return !user.active && !machine.active;
    });
  });
});
