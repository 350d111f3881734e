/**
 * Idempotency-Key on the admin writes (CONTRACT.md "Idempotent admin writes"), over HTTP against the emulators:
 * a retried `incident create` must not start a second campaign, a retried user creation must not fail or
 * create a second account, and a reused key with another body is refused.
 */
import { randomUUID } from 'node:crypto';
import { type Api, sleep, uniqueName } from '../support/fixtures.js';
import { api } from '../support/http.js';
import { startTestStack, type TestStack } from '../support/test-stack.js';

interface IncidentBody {
  id: string;
  title: string;
  status: string;
  counts: { targeted: number; queued: number; sent: number; skipped: number; failed: number };
}

let stack: TestStack;
let client: Api;
let admin: { token: string };

beforeAll(async () => {
  stack = await startTestStack({ env: { SES_MAX_SEND_RATE: '200' } });
  client = api(stack.apiUrl);
  admin = { token: stack.adminToken };
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

const withKey = (key: string) => ({ ...admin, headers: { 'idempotency-key': key } });

async function createSsoAccount(): Promise<{ id: string; email: string }> {
  const email = `${uniqueName('idem')}@example.test`;
  const created = await client.post<{ user: { id: string } }>(
    '/v1/admin/users',
    { email, authMethod: 'sso' },
    admin,
  );
  expect(created.status).toBe(201);
  return { id: created.body.user.id, email };
}

async function incidentsTitled(title: string): Promise<IncidentBody[]> {
  const listed = await client.get<{ incidents: IncidentBody[] }>('/v1/admin/incidents', admin);
  expect(listed.status).toBe(200);
  return listed.body.incidents.filter((incident) => incident.title === title);
}

async function dispatchUntilCompleted(id: string): Promise<IncidentBody> {
  const deadline = Date.now() + 40_000;
  for (;;) {
    await stack.runDispatcher();
    const incident = (await client.get<{ incident: IncidentBody }>(`/v1/admin/incidents/${id}`, admin)).body
      .incident;
    if (incident.status === 'completed' && incident.counts.sent + incident.counts.failed >= 1)
      return incident;
    if (Date.now() > deadline)
      throw new Error(`incident ${id} did not complete: ${JSON.stringify(incident)}`);
    await sleep(150);
  }
}

const incidentRequest = (title: string, email: string) => ({
  title,
  scope: { type: 'emails', emails: [email] },
  actions: { forcePasswordReset: false, revokeSessions: true },
  notify: { enabled: true },
});

describe('POST /v1/admin/incidents with an Idempotency-Key', () => {
  it('same Idempotency-Key twice gives one incident and one campaign', async () => {
    const account = await createSsoAccount();
    const title = `Idempotent breach ${randomUUID()}`;
    const key = randomUUID();

    const first = await client.post<{ incident: IncidentBody }>(
      '/v1/admin/incidents',
      incidentRequest(title, account.email),
      withKey(key),
    );
    // The operator's retry after a timeout: same key, same body.
    const second = await client.post<{ incident: IncidentBody }>(
      '/v1/admin/incidents',
      incidentRequest(title, account.email),
      withKey(key),
    );

    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.text).toBe(first.text);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    expect((await incidentsTitled(title)).map((incident) => incident.id)).toEqual([first.body.incident.id]);
    const done = await dispatchUntilCompleted(first.body.incident.id);
    expect(done.counts).toMatchObject({ targeted: 1, sent: 1 });
    await stack.ses.waitForMail(account.email, { timeoutMs: 20_000 });
    await sleep(500); // a second campaign's mail would have had time to arrive
    const mails = (await stack.ses.listMail(account.email)).filter((mail) => mail.body.text?.includes(title));
    expect(mails).toHaveLength(1);
  }, 90_000);

  it('refuses the same key with a different body with 409 idempotency_key_reused, and creates nothing', async () => {
    const account = await createSsoAccount();
    const title = `Reused key ${randomUUID()}`;
    const key = randomUUID();
    const first = await client.post(
      '/v1/admin/incidents',
      incidentRequest(title, account.email),
      withKey(key),
    );
    expect(first.status).toBe(201);

    const other = `${title} (edited)`;
    const reused = await client.post(
      '/v1/admin/incidents',
      incidentRequest(other, account.email),
      withKey(key),
    );

    expect(reused.status).toBe(409);
    expect(reused.body).toEqual({ error: 'idempotency_key_reused', message: expect.any(String) });
    expect(await incidentsTitled(other)).toEqual([]);
    // The same key on another route is another request too.
    const elsewhere = await client.post(`/v1/admin/users/${account.id}/force-reset`, {}, withKey(key));
    expect(elsewhere.status).toBe(409);
    expect(elsewhere.body).toMatchObject({ error: 'idempotency_key_reused' });
  });

  it('runs concurrent duplicates once: the others replay it or get 409 idempotency_key_in_use', async () => {
    const account = await createSsoAccount();
    const title = `Concurrent ${randomUUID()}`;
    const key = randomUUID();

    const responses = await Promise.all(
      Array.from({ length: 6 }, () =>
        client.post<{ incident?: IncidentBody; error?: string }>(
          '/v1/admin/incidents',
          incidentRequest(title, account.email),
          withKey(key),
        ),
      ),
    );

    const created = await incidentsTitled(title);
    expect(created).toHaveLength(1);
    for (const response of responses) {
      if (response.status === 201) {
        expect(response.body.incident?.id).toBe(created[0]?.id);
      } else {
        expect({ status: response.status, error: response.body.error }).toEqual({
          status: 409,
          error: 'idempotency_key_in_use',
        });
        expect(response.headers.get('retry-after')).toBe('1');
      }
    }
    expect(responses.filter((response) => response.status === 201).length).toBeGreaterThanOrEqual(1);
    // Once the first has finished, a retry with the key gets its response.
    const retried = await client.post<{ incident: IncidentBody }>(
      '/v1/admin/incidents',
      incidentRequest(title, account.email),
      withKey(key),
    );
    expect(retried.status).toBe(201);
    expect(retried.body.incident.id).toBe(created[0]?.id);
  });

  it('answers 400 invalid_request for a malformed key, and runs nothing', async () => {
    const account = await createSsoAccount();
    const title = `Bad key ${randomUUID()}`;
    for (const key of ['x'.repeat(129), 'caf\u00e9', ' ']) {
      const response = await client.request(
        'POST',
        '/v1/admin/incidents',
        incidentRequest(title, account.email),
        {
          ...admin,
          headers: { 'idempotency-key': key },
        },
      );
      expect({ key, status: response.status, body: response.body }).toMatchObject({
        key,
        status: 400,
        body: { error: 'invalid_request', details: [{ path: 'Idempotency-Key' }] },
      });
    }
    expect(await incidentsTitled(title)).toEqual([]);
  });
});

describe('POST /v1/admin/users and force-reset with an Idempotency-Key', () => {
  it('replays a created user instead of 409 account_exists, and forgets a failed attempt', async () => {
    const email = `${uniqueName('idem-user')}@example.test`;
    const key = randomUUID();
    const body = { email, authMethod: 'sso' };

    const first = await client.post<{ user: { id: string } }>('/v1/admin/users', body, withKey(key));
    const again = await client.post<{ user: { id: string } }>('/v1/admin/users', body, withKey(key));
    const withoutKey = await client.post('/v1/admin/users', body, admin);

    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.text).toBe(first.text);
    expect(withoutKey.status).toBe(409);
    expect(withoutKey.body).toMatchObject({ error: 'account_exists' });

    // An error is not stored: the same key runs again (and fails again the same way here).
    const failingKey = randomUUID();
    const failed = await client.post('/v1/admin/users', body, withKey(failingKey));
    expect(failed.status).toBe(409);
    expect((await client.post('/v1/admin/users', body, withKey(failingKey))).status).toBe(409);
  });

  it('sends the forced-reset notice once for a repeated force-reset with the same key', async () => {
    const email = `${uniqueName('idem-reset')}@example.test`;
    const created = await client.post<{ user: { id: string } }>(
      '/v1/admin/users',
      { email, authMethod: 'password', password: 'violet-harbour-lantern-42' },
      admin,
    );
    expect(created.status).toBe(201);
    const key = randomUUID();
    const path = `/v1/admin/users/${created.body.user.id}/force-reset`;

    const first = await client.post(path, undefined, withKey(key));
    const second = await client.post(path, undefined, withKey(key));

    expect([first.status, second.status]).toEqual([202, 202]);
    expect(second.text).toBe(first.text);
    await stack.ses.waitForMail(email, { timeoutMs: 20_000 });
    await sleep(1_000);
    const notices = (await stack.ses.listMail(email)).filter(
      (mail) => mail.subject === 'You need to reset your password',
    );
    expect(notices).toHaveLength(1);
  });
});
