/**
 * Security events out (OpenID Shared Signals Framework 1.0) over HTTP against the local stack, with a receiver
 * written from the specifications inside the test: discovery from /.well-known/ssf-configuration, an OAuth
 * client credentials token, RFC 8935 push with 202 answers, RFC 8936 polls, and every SET verified with jose
 * against the transmitter's jwks_uri (RS256, typ secevent+jwt, iss, aud).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hashSync } from 'bcryptjs';
import { createRemoteJWKSet, decodeProtectedHeader, type JWTPayload, jwtVerify } from 'jose';
import { type Api, logIn, signUp, sleep, uniqueName } from '../support/fixtures.js';
import { api } from '../support/http.js';
import { startTestStack, type TestStack } from '../support/test-stack.js';

const SESSION_REVOKED = 'https://schemas.openid.net/secevent/caep/event-type/session-revoked';
const CREDENTIAL_CHANGE = 'https://schemas.openid.net/secevent/caep/event-type/credential-change';
const CHANGE_REQUIRED =
  'https://schemas.openid.net/secevent/risc/event-type/account-credential-change-required';
const VERIFICATION = 'https://schemas.openid.net/secevent/ssf/event-type/verification';

interface TransmitterConfiguration {
  issuer: string;
  jwks_uri: string;
  delivery_methods_supported: string[];
  configuration_endpoint: string;
  status_endpoint: string;
  verification_endpoint: string;
  authorization_schemes: { spec_urn: string }[];
  spec_version: string;
}

interface StreamConfiguration {
  stream_id: string;
  iss: string;
  aud: string;
  events_delivered: string[];
  delivery: { method: string; endpoint_url: string };
}

interface VerifiedSet {
  readonly jti: string;
  readonly eventType: string;
  readonly event: Record<string, unknown>;
  readonly payload: JWTPayload & { sub_id?: Record<string, unknown> };
}

let stack: TestStack;
let client: Api;
let ssf: TransmitterConfiguration;
let jwks: ReturnType<typeof createRemoteJWKSet>;

/** An RFC 8935 receiver: collects every pushed SET (raw), answers 202, and can go down and come back. */
class PushReceiver {
  readonly received: string[] = [];
  private server: Server | undefined;
  port = 0;

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        if (
          req.headers['content-type'] !== 'application/secevent+jwt' ||
          req.headers.authorization !== 'Bearer receiver-secret'
        ) {
          res.writeHead(400, { 'content-type': 'application/json' }).end('{"err":"authentication_failed"}');
          return;
        }
        this.received.push(Buffer.concat(chunks).toString('utf8'));
        res.writeHead(202).end();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/events`;
  }
}

async function verifySet(set: string, audience: string): Promise<VerifiedSet> {
  // Pinned algorithm and typ, iss and aud, as a receiver per SSF 1.0 / RFC 8417 must check them.
  const { payload, protectedHeader } = await jwtVerify(set, jwks, {
    issuer: ssf.issuer,
    audience,
    algorithms: ['RS256'],
    typ: 'secevent+jwt',
  });
  expect(protectedHeader.alg).toBe('RS256');
  const events = payload['events'] as Record<string, Record<string, unknown>>;
  // One event per SET (CAEP interoperability profile).
  expect(Object.keys(events)).toHaveLength(1);
  const [eventType, event] = Object.entries(events)[0]!;
  return { jti: payload.jti!, eventType, event, payload: payload as VerifiedSet['payload'] };
}

async function receiverToken(scopes = 'ssf.manage'): Promise<string> {
  const registered = await client.post<{ client: { clientId: string }; clientSecret: string }>(
    '/v1/admin/clients',
    {
      name: uniqueName('Receiver'),
      type: 'confidential',
      grantTypes: ['client_credentials'],
      scopes: [scopes],
    },
    { token: stack.adminToken },
  );
  expect(registered.status).toBe(201);
  const { clientId } = registered.body.client;
  const response = await fetch(`${stack.apiUrl}/oauth2/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${clientId}:${registered.body.clientSecret}`).toString('base64')}`,
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: scopes }).toString(),
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { access_token: string }).access_token;
}

/** A management call to an endpoint taken from the transmitter configuration (not from our route table). */
async function ssfCall<T>(method: string, url: string, token: string, body?: unknown) {
  const response = await fetch(url, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(20_000),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T };
}

async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 8_000,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** The verified SETs the receiver got about one subject, by event type. */
async function setsAbout(receiver: PushReceiver, audience: string, subjectId: string) {
  const all = await Promise.all(receiver.received.map((set) => verifySet(set, audience)));
  return all.filter(
    (set) => set.payload.sub_id?.['sub'] === subjectId || set.payload.sub_id?.['email'] === subjectId,
  );
}

beforeAll(async () => {
  stack = await startTestStack({
    signals: true,
    env: {
      SSF_RETRY_BASE_SECONDS: '1',
      SSF_RETRY_MAX_SECONDS: '1',
      SSF_MIN_VERIFICATION_INTERVAL_SECONDS: '0',
    },
  });
  client = api(stack.apiUrl);
  const discovered = await client.get<TransmitterConfiguration>('/.well-known/ssf-configuration');
  expect(discovered.status).toBe(200);
  ssf = discovered.body;
  jwks = createRemoteJWKSet(new URL(ssf.jwks_uri));
});
afterAll(async () => {
  await stack?.stop();
});

describe('transmitter configuration', () => {
  it('publishes the SSF 1.0 metadata and RS256 2048-bit keys apart from the access-token keys', async () => {
    expect(ssf).toMatchObject({
      spec_version: '1_0',
      issuer: stack.apiUrl,
      delivery_methods_supported: ['urn:ietf:rfc:8935', 'urn:ietf:rfc:8936'],
      authorization_schemes: [{ spec_urn: 'urn:ietf:rfc:6749' }],
    });
    for (const endpoint of [
      ssf.configuration_endpoint,
      ssf.status_endpoint,
      ssf.verification_endpoint,
      ssf.jwks_uri,
    ])
      expect(endpoint.startsWith(stack.apiUrl)).toBe(true);
    const setKeys = (await (await fetch(ssf.jwks_uri)).json()) as {
      keys: { kid: string; kty: string; n: string; d?: string; alg: string }[];
    };
    const accessKeys = (await client.get<{ keys: { kid: string }[] }>('/.well-known/jwks.json')).body.keys;
    expect(setKeys.keys.length).toBeGreaterThan(0);
    for (const key of setKeys.keys) {
      expect(key).toMatchObject({ kty: 'RSA', alg: 'RS256' });
      expect(key.d).toBeUndefined();
      expect(Buffer.from(key.n, 'base64url').length * 8).toBeGreaterThanOrEqual(2048);
      expect(accessKeys.map((k) => k.kid)).not.toContain(key.kid);
    }
  });

  it('refuses stream management without an ssf.manage client credentials token', async () => {
    expect((await ssfCall('POST', ssf.configuration_endpoint, 'not-a-token', {})).status).toBe(401);
    const user = await signUp(client);
    const tokens = await logIn(client, user);
    expect((await ssfCall('GET', ssf.configuration_endpoint, tokens.accessToken)).status).toBe(401);
    const otherScope = await receiverToken('signals.read');
    expect((await ssfCall('GET', ssf.configuration_endpoint, otherScope)).status).toBe(403);
  });
});

describe('push streams', () => {
  const receiver = new PushReceiver();
  let token: string;
  let stream: StreamConfiguration;

  beforeAll(async () => {
    await receiver.start();
    token = await receiverToken();
    const created = await ssfCall<StreamConfiguration>('POST', ssf.configuration_endpoint, token, {
      delivery: {
        method: 'urn:ietf:rfc:8935',
        endpoint_url: receiver.url,
        authorization_header: 'Bearer receiver-secret',
      },
      events_requested: [SESSION_REVOKED, CREDENTIAL_CHANGE, CHANGE_REQUIRED, 'urn:example:unknown'],
      description: 'media servers',
    });
    expect(created.status).toBe(201);
    stream = created.body;
  });
  afterAll(async () => {
    await receiver.stop();
  });

  it('creates a stream whose events_delivered is what was requested and supported', () => {
    expect(stream.iss).toBe(ssf.issuer);
    expect(stream.delivery).toEqual({ method: 'urn:ietf:rfc:8935', endpoint_url: receiver.url });
    expect([...stream.events_delivered].sort()).toEqual(
      [CHANGE_REQUIRED, CREDENTIAL_CHANGE, SESSION_REVOKED].sort(),
    );
    // The receiver's own credential is never shown back.
    expect(JSON.stringify(stream)).not.toContain('receiver-secret');
  });

  it('sends the verification SET with the state the receiver asked for', async () => {
    const state = uniqueName('state');
    const verify = await ssfCall('POST', ssf.verification_endpoint, token, {
      stream_id: stream.stream_id,
      state,
    });
    expect(verify.status).toBe(204);
    const verification = await waitFor('the verification SET', async () => {
      const sets = await Promise.all(receiver.received.map((set) => verifySet(set, stream.aud)));
      return sets.find((set) => set.eventType === VERIFICATION && set.event['state'] === state);
    });
    expect(verification.payload.sub_id).toEqual({ format: 'opaque', id: stream.stream_id });
  });

  it('reads, updates and reports the status of the stream', async () => {
    const read = await ssfCall<StreamConfiguration>(
      'GET',
      `${ssf.configuration_endpoint}?stream_id=${stream.stream_id}`,
      token,
    );
    expect(read.status).toBe(200);
    expect(read.body.stream_id).toBe(stream.stream_id);
    const listed = await ssfCall<StreamConfiguration[]>('GET', ssf.configuration_endpoint, token);
    expect(listed.body.map((s) => s.stream_id)).toEqual([stream.stream_id]);
    const patched = await ssfCall<StreamConfiguration & { description: string }>(
      'PATCH',
      ssf.configuration_endpoint,
      token,
      {
        stream_id: stream.stream_id,
        description: 'media servers and billing',
      },
    );
    expect(patched.status).toBe(200);
    expect(patched.body.description).toBe('media servers and billing');
    expect(patched.body.delivery.endpoint_url).toBe(receiver.url);
    const status = await ssfCall('GET', `${ssf.status_endpoint}?stream_id=${stream.stream_id}`, token);
    expect(status.body).toEqual({ stream_id: stream.stream_id, status: 'enabled' });
    // Another receiver cannot see the stream.
    const stranger = await receiverToken();
    expect(
      (await ssfCall('GET', `${ssf.configuration_endpoint}?stream_id=${stream.stream_id}`, stranger)).status,
    ).toBe(404);
  });

  it('pushes session-revoked when a user signs out of all devices', async () => {
    const user = await signUp(client);
    const tokens = await logIn(client, user);
    expect((await client.post('/v1/auth/revoke-all', undefined, { token: tokens.accessToken })).status).toBe(
      204,
    );
    const [revoked] = await waitFor('session-revoked', async () => {
      const sets = (await setsAbout(receiver, stream.aud, user.id)).filter(
        (s) => s.eventType === SESSION_REVOKED,
      );
      return sets.length > 0 ? sets : undefined;
    });
    expect(decodeProtectedHeader(receiver.received.find((raw) => raw.length > 0)!).typ).toBe('secevent+jwt');
    expect(revoked!.payload.sub_id).toEqual({ format: 'iss_sub', iss: ssf.issuer, sub: user.id });
    expect(revoked!.event['subject']).toEqual(revoked!.payload.sub_id);
    expect(revoked!.event).toMatchObject({
      initiating_entity: 'user',
      reason_admin: { en: expect.any(String) },
    });
    expect(revoked!.payload.aud).toBe(stream.aud);
  });

  it('pushes credential-change when a user resets their password', async () => {
    const user = await signUp(client);
    expect((await client.post('/v1/auth/password/forgot', { email: user.email })).status).toBe(202);
    const [mail] = await stack.ses.waitForMail(user.email, { timeoutMs: 10_000 });
    const resetToken = /[#?&]token=([A-Za-z0-9_-]+)/.exec(mail!.body.text ?? '')![1]!;
    const reset = await client.post('/v1/auth/password/reset', {
      token: resetToken,
      newPassword: `meadow-${uniqueName()}-lantern`,
      signOutAllDevices: false,
    });
    expect(reset.status).toBe(200);
    const change = await waitFor('credential-change', async () =>
      (await setsAbout(receiver, stream.aud, user.id)).find((s) => s.eventType === CREDENTIAL_CHANGE),
    );
    expect(change.event).toMatchObject({ credential_type: 'password', change_type: 'update' });
  });

  it('pushes one account-credential-change-required per account of a scoped incident', async () => {
    const accounts = await Promise.all([signUp(client), signUp(client), signUp(client)]);
    const incident = await client.post(
      '/v1/admin/incidents',
      {
        title: uniqueName('Breach'),
        scope: { type: 'users', userIds: accounts.map((a) => a.id) },
        actions: { forcePasswordReset: true, revokeSessions: false },
        notify: { enabled: false },
      },
      { token: stack.adminToken },
    );
    expect(incident.status).toBe(201);
    for (const account of accounts) {
      await waitFor(`account-credential-change-required for ${account.id}`, async () =>
        (await setsAbout(receiver, stream.aud, account.id)).find((s) => s.eventType === CHANGE_REQUIRED),
      );
    }
    await sleep(500);
    for (const account of accounts) {
      const required = (await setsAbout(receiver, stream.aud, account.id)).filter(
        (s) => s.eventType === CHANGE_REQUIRED,
      );
      expect(new Set(required.map((s) => s.jti)).size).toBe(1);
    }
  });

  it('pushes account-credential-change-required for imported accounts that must reset', async () => {
    const email = `${uniqueName('imported')}@example.test`.replace(/_/g, '.');
    const imported = await client.post<{ results: { status: string; userId: string }[] }>(
      '/v1/admin/users/import',
      {
        users: [
          {
            email,
            authMethod: 'password',
            passwordHash: hashSync('old-password-1', 4),
            mustResetPassword: true,
          },
        ],
      },
      { token: stack.adminToken },
    );
    expect(imported.body.results[0]?.status).toBe('created');
    const required = await waitFor('account-credential-change-required after import', async () =>
      (await setsAbout(receiver, stream.aud, imported.body.results[0]!.userId)).find(
        (s) => s.eventType === CHANGE_REQUIRED,
      ),
    );
    expect(required.event['reason_admin']).toEqual({ en: expect.stringContaining('imported') });
  });

  it('delivers what happened while the receiver was down once it is back, none lost', async () => {
    await receiver.stop();
    const users = await Promise.all([signUp(client), signUp(client)]);
    for (const user of users) {
      const tokens = await logIn(client, user);
      expect(
        (await client.post('/v1/auth/revoke-all', undefined, { token: tokens.accessToken })).status,
      ).toBe(204);
    }
    // Long enough for several failed pushes and back-offs.
    await sleep(2_500);
    await receiver.start();
    for (const user of users) {
      const sets = await waitFor(
        `session-revoked for ${user.id} after the outage`,
        async () => {
          const found = (await setsAbout(receiver, stream.aud, user.id)).filter(
            (s) => s.eventType === SESSION_REVOKED,
          );
          return found.length > 0 ? found : undefined;
        },
        15_000,
      );
      // At-least-once: a repeat is only ever the same SET again (same jti).
      expect(new Set(sets.map((s) => s.jti)).size).toBe(1);
    }
  });

  it('holds events while paused and sends them when enabled again', async () => {
    const paused = await ssfCall('POST', ssf.status_endpoint, token, {
      stream_id: stream.stream_id,
      status: 'paused',
      reason: 'maintenance',
    });
    expect(paused.body).toEqual({ stream_id: stream.stream_id, status: 'paused', reason: 'maintenance' });
    const user = await signUp(client);
    const tokens = await logIn(client, user);
    await client.post('/v1/auth/revoke-all', undefined, { token: tokens.accessToken });
    await sleep(1_500);
    expect(await setsAbout(receiver, stream.aud, user.id)).toEqual([]);
    await ssfCall('POST', ssf.status_endpoint, token, { stream_id: stream.stream_id, status: 'enabled' });
    await waitFor('the held session-revoked', async () =>
      (await setsAbout(receiver, stream.aud, user.id)).find((s) => s.eventType === SESSION_REVOKED),
    );
  });
});

describe('poll streams', () => {
  it('hands out SETs by RFC 8936 poll until they are acknowledged, with email subjects', async () => {
    const token = await receiverToken();
    const created = await ssfCall<StreamConfiguration>('POST', ssf.configuration_endpoint, token, {
      events_requested: [CREDENTIAL_CHANGE],
      format: 'email',
    });
    expect(created.status).toBe(201);
    const stream = created.body;
    expect(stream.delivery.method).toBe('urn:ietf:rfc:8936');
    expect(stream.events_delivered).toEqual([CREDENTIAL_CHANGE]);
    const user = await signUp(client);
    const tokens = await logIn(client, user);
    const change = await client.post(
      '/v1/auth/password/change',
      { currentPassword: user.password, newPassword: `harbor-${uniqueName()}-copper` },
      { token: tokens.accessToken },
    );
    expect(change.status).toBe(200);

    const poll = (body: Record<string, unknown>) =>
      ssfCall<{ sets: Record<string, string>; moreAvailable?: boolean }>(
        'POST',
        stream.delivery.endpoint_url,
        token,
        body,
      );
    const first = await waitFor('a polled SET', async () => {
      const answer = await poll({ returnImmediately: true, maxEvents: 10 });
      expect(answer.status).toBe(200);
      return Object.keys(answer.body.sets).length > 0 ? answer.body.sets : undefined;
    });
    const verified = await Promise.all(Object.values(first).map((set) => verifySet(set, stream.aud)));
    const mine = verified.filter((s) => s.payload.sub_id?.['email'] === user.email);
    expect(mine.map((s) => s.eventType)).toEqual([CREDENTIAL_CHANGE]);
    expect(mine[0]!.payload.sub_id).toEqual({ format: 'email', email: user.email });
    // Not acknowledged: the same SETs come again.
    const again = await poll({ returnImmediately: true, maxEvents: 10 });
    expect(Object.keys(again.body.sets).sort()).toEqual(Object.keys(first).sort());
    // Acknowledged (and one reported as an error): gone.
    const [ackJti, ...rest] = Object.keys(first);
    const acked = await poll({
      returnImmediately: true,
      ack: [ackJti],
      setErrs: Object.fromEntries(rest.map((jti) => [jti, { err: 'invalid_key', description: 'test' }])),
    });
    expect(acked.body.sets).toEqual({});
    expect(acked.body.moreAvailable).toBe(false);
  });

  it('refuses another receiver polling the stream', async () => {
    const owner = await receiverToken();
    const created = await ssfCall<StreamConfiguration>('POST', ssf.configuration_endpoint, owner, {});
    const stranger = await receiverToken();
    const answer = await ssfCall('POST', created.body.delivery.endpoint_url, stranger, {
      returnImmediately: true,
    });
    expect(answer.status).toBe(404);
    expect(
      (await ssfCall('DELETE', `${ssf.configuration_endpoint}?stream_id=${created.body.stream_id}`, owner))
        .status,
    ).toBe(204);
    expect(
      (await ssfCall('GET', `${ssf.configuration_endpoint}?stream_id=${created.body.stream_id}`, owner))
        .status,
    ).toBe(404);
  });
});

// Last: a tenant-wide revocation also revokes every client token issued before it, the receivers' included.
describe('tenant-wide incidents', () => {
  it('send one session-revoked per stream with the tenant as subject, not one per account', async () => {
    const receiver = new PushReceiver();
    await receiver.start();
    try {
      const token = await receiverToken();
      const created = await ssfCall<StreamConfiguration>('POST', ssf.configuration_endpoint, token, {
        delivery: {
          method: 'urn:ietf:rfc:8935',
          endpoint_url: receiver.url,
          authorization_header: 'Bearer receiver-secret',
        },
        events_requested: [SESSION_REVOKED],
      });
      expect(created.status).toBe(201);
      await Promise.all([signUp(client), signUp(client)]);
      const incident = await client.post(
        '/v1/admin/incidents',
        {
          title: uniqueName('Breach'),
          scope: { type: 'all' },
          actions: { forcePasswordReset: false, revokeSessions: true },
          notify: { enabled: false },
        },
        { token: stack.adminToken },
      );
      expect(incident.status).toBe(201);
      const tenantWide = await waitFor('the tenant-wide session-revoked', async () => {
        const sets = await Promise.all(receiver.received.map((set) => verifySet(set, created.body.aud)));
        const found = sets.filter((set) => set.payload.sub_id?.['format'] === 'complex');
        return found.length > 0 ? found : undefined;
      });
      await sleep(500);
      expect(receiver.received).toHaveLength(1);
      expect(tenantWide[0]!.eventType).toBe(SESSION_REVOKED);
      expect(tenantWide[0]!.payload.sub_id).toEqual({
        format: 'complex',
        tenant: { format: 'iss_sub', iss: ssf.issuer, sub: '_tenant' },
      });
    } finally {
      await receiver.stop();
    }
  });
});
