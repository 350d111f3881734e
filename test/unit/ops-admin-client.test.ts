import { createHash, createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  AdminApiError,
  AdminClient,
  AdminUnreachableError,
  bearerTokenSigner,
  type CreateIncidentRequest,
  InsecureTransportError,
  RequestTooLargeError,
  regionFromApiUrl,
  sigV4Signer,
  UnexpectedResponseError,
} from '../../scripts/ops/admin-client.js';
import { formatError } from '../../scripts/ops/output.js';

interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

interface CannedResponse {
  readonly status: number;
  readonly body?: string;
  readonly headers?: Record<string, string>;
}

/** A real HTTP server on a free port that records what reaches it and answers what the test says. */
class RecordingServer {
  readonly requests: RecordedRequest[] = [];
  respond: (request: RecordedRequest) => CannedResponse | undefined = () => ({ status: 204 });
  private server: Server | undefined;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const recorded = {
          method: req.method ?? '',
          url: req.url ?? '',
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        };
        this.requests.push(recorded);
        const answer = this.respond(recorded);
        if (answer === undefined) return; // never answer: lets a test exercise the client timeout
        res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
        res.end(answer.body);
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}

const incident = {
  id: 'inc-1',
  title: 'Credential stuffing',
  status: 'scheduled',
  createdAt: '2030-01-02T03:04:05.000Z',
  sendAt: '2030-01-02T03:04:05.000Z',
  scope: { type: 'emails', emails: ['a@example.com'] },
  actions: { forcePasswordReset: true, revokeSessions: true },
  counts: { targeted: 0, queued: 0, sent: 0, skipped: 0, failed: 0 },
};

const createRequest: CreateIncidentRequest = {
  title: 'Credential stuffing',
  scope: { type: 'emails', emails: ['a@example.com'] },
  actions: { forcePasswordReset: true, revokeSessions: true },
  notify: { enabled: true, sendAt: '2030-01-02T03:04:05.000Z', remindAfterHours: 48 },
};

// The example credentials from the AWS SigV4 documentation: obviously fake, fixed for the test.
const credentials = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
  sessionToken: 'FAKE-SESSION-TOKEN',
};
const signingDate = new Date('2030-01-02T03:04:05Z');

const sha256Hex = (data: string): string => createHash('sha256').update(data, 'utf8').digest('hex');
const hmac = (key: string | Buffer, data: string): Buffer =>
  createHmac('sha256', key).update(data, 'utf8').digest();

/**
 * Recomputes the SigV4 signature of a request exactly as it arrived, following the AWS specification
 * independently of the signing library: it only matches if what was signed is what went on the wire.
 */
function signatureOf(request: RecordedRequest, secretAccessKey: string): string {
  const match =
    /^AWS4-HMAC-SHA256 Credential=[^/]+\/([^,]+), SignedHeaders=([^,]+), Signature=[0-9a-f]{64}$/.exec(
      String(request.headers.authorization),
    );
  if (match === null) throw new Error('not a SigV4 authorization header');
  const [, scope = '', signedHeaders = ''] = match;
  const [date = '', region = '', service = ''] = scope.split('/');
  const url = new URL(request.url, 'http://placeholder');
  const canonicalHeaders = signedHeaders
    .split(';')
    .map((name) => `${name}:${String(request.headers[name]).trim().replace(/\s+/g, ' ')}\n`)
    .join('');
  const canonicalQuery = [...url.searchParams]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(value)}`)
    .join('&');
  const canonicalRequest = [
    request.method,
    url.pathname,
    canonicalQuery,
    canonicalHeaders,
    signedHeaders,
    sha256Hex(request.body),
  ].join('\n');
  const stringToSign = [
    'AWS4-HMAC-SHA256',
    String(request.headers['x-amz-date']),
    scope,
    sha256Hex(canonicalRequest),
  ].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${secretAccessKey}`, date), region), service), 'aws4_request');
  return hmac(key, stringToSign).toString('hex');
}

describe('admin API client', () => {
  const server = new RecordingServer();

  beforeAll(() => server.start());
  afterAll(() => server.stop());
  beforeEach(() => {
    server.requests.length = 0;
    server.respond = () => ({ status: 204 });
  });

  const clientWith = (
    signer = bearerTokenSigner('local-admin-token-123'),
    baseUrl = server.url,
    timeoutMs?: number,
  ) =>
    new AdminClient({
      baseUrl,
      fetch: globalThis.fetch,
      signer,
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
    });

  describe('with the local runner bearer token', () => {
    it('posts the incident body exactly as the contract shapes it, with the bearer header', async () => {
      // Prepare
      server.respond = () => ({ status: 201, body: JSON.stringify({ incident }) });

      // Act
      const created = await clientWith().createIncident(createRequest);

      // Assess
      expect(created).toMatchObject({ id: 'inc-1', status: 'scheduled' });
      const [request] = server.requests;
      expect(request?.method).toBe('POST');
      expect(request?.url).toBe('/v1/admin/incidents');
      expect(request?.headers.authorization).toBe('Bearer local-admin-token-123');
      expect(request?.headers['content-type']).toBe('application/json');
      expect(JSON.parse(request?.body ?? '')).toEqual({
        title: 'Credential stuffing',
        scope: { type: 'emails', emails: ['a@example.com'] },
        actions: { forcePasswordReset: true, revokeSessions: true },
        notify: { enabled: true, sendAt: '2030-01-02T03:04:05.000Z', remindAfterHours: 48 },
      });
    });

    it('keeps a stage prefix of the base URL and escapes path parameters', async () => {
      server.respond = () => ({ status: 202 });

      await clientWith(undefined, `${server.url}/prod/`).forceReset('a/b', {
        revokeSessions: false,
        notify: true,
      });

      expect(server.requests[0]?.url).toBe('/prod/v1/admin/users/a%2Fb/force-reset');
      expect(JSON.parse(server.requests[0]?.body ?? '')).toEqual({ revokeSessions: false, notify: true });
    });

    it('refuses to send the token over plain HTTP to another machine', async () => {
      const calls: string[] = [];
      const client = new AdminClient({
        baseUrl: 'http://admin.example.com',
        fetch: async (url) => {
          calls.push(url);
          return new Response('{}');
        },
        signer: bearerTokenSigner('local-admin-token-123'),
      });

      await expect(client.listIncidents()).rejects.toBeInstanceOf(InsecureTransportError);
      expect(calls).toEqual([]);
    });
  });

  describe('Idempotency-Key on writes', () => {
    const keyedClient = (waits: number[], timeoutMs = 30_000) =>
      new AdminClient({
        baseUrl: server.url,
        fetch: globalThis.fetch,
        signer: bearerTokenSigner('local-admin-token-123'),
        timeoutMs,
        sleep: async (ms) => {
          waits.push(ms);
        },
      });

    it('retries an incident create whose answer never came with the same key, and returns the replayed incident', async () => {
      // Prepare: the first attempt reaches the API but its answer is lost (timeout); the retry gets the replay.
      server.respond = (request) =>
        server.requests.indexOf(request) === 0
          ? undefined
          : { status: 201, body: JSON.stringify({ incident }), headers: { 'idempotent-replayed': 'true' } };
      const waits: number[] = [];

      // Act
      const created = await keyedClient(waits, 200).createIncident(createRequest, {
        idempotencyKey: 'run-7f3c',
      });

      // Assess
      expect(created.id).toBe('inc-1');
      expect(server.requests.map((request) => request.headers['idempotency-key'])).toEqual([
        'run-7f3c',
        'run-7f3c',
      ]);
      expect(server.requests[1]?.body).toBe(server.requests[0]?.body);
      expect(waits).toEqual([1000]);
    });

    it('waits out idempotency_key_in_use and 503 with retry-after, then stops after four attempts', async () => {
      const answers = [
        { status: 503, body: JSON.stringify({ error: 'unavailable', message: 'Later.' }) },
        { status: 409, body: JSON.stringify({ error: 'idempotency_key_in_use', message: 'In progress.' }) },
      ];
      server.respond = (request) => {
        const answer = answers[server.requests.indexOf(request) % 2];
        return answer && { ...answer, headers: { 'retry-after': '2' } };
      };
      const waits: number[] = [];

      const error = await keyedClient(waits)
        .forceReset('u-1', { revokeSessions: true, notify: true }, { idempotencyKey: 'k-1' })
        .catch((caught: unknown) => caught);

      expect(error).toMatchObject({ status: 409, code: 'idempotency_key_in_use' });
      expect(server.requests).toHaveLength(4);
      expect(new Set(server.requests.map((request) => request.headers['idempotency-key']))).toEqual(
        new Set(['k-1']),
      );
      expect(waits).toEqual([2000, 2000, 2000]);
    });

    it('never repeats a write refused for good, nor one sent without a key', async () => {
      server.respond = () => ({
        status: 409,
        body: JSON.stringify({ error: 'idempotency_key_reused', message: 'Different request.' }),
      });
      const waits: number[] = [];
      await expect(
        keyedClient(waits).createIncident(createRequest, { idempotencyKey: 'k-2' }),
      ).rejects.toMatchObject({ code: 'idempotency_key_reused' });
      expect(server.requests).toHaveLength(1);

      server.requests.length = 0;
      server.respond = () => ({ status: 503, body: JSON.stringify({ error: 'unavailable', message: 'x' }) });
      await expect(keyedClient(waits).createIncident(createRequest)).rejects.toMatchObject({ status: 503 });
      expect(server.requests).toHaveLength(1);
      expect(server.requests[0]?.headers['idempotency-key']).toBeUndefined();
      expect(waits).toEqual([]);
    });

    it('signs the Idempotency-Key with SigV4, so a gateway cannot swap it', async () => {
      server.respond = () => ({ status: 201, body: JSON.stringify({ incident }) });
      const client = new AdminClient({
        baseUrl: server.url,
        fetch: globalThis.fetch,
        signer: sigV4Signer({ region: 'eu-west-1', credentials, now: () => signingDate }),
      });

      await client.createIncident(createRequest, { idempotencyKey: 'k-3' });

      const [request] = server.requests;
      expect(String(request?.headers.authorization)).toMatch(/SignedHeaders=[^,]*idempotency-key/);
      expect(String(request?.headers.authorization)).toContain(
        `Signature=${signatureOf(request!, credentials.secretAccessKey)}`,
      );
    });
  });

  describe('with SigV4 (IAM-authorised admin routes)', () => {
    const iamSigner = sigV4Signer({ region: 'eu-west-1', credentials, now: () => signingDate });

    it('signs a POST for execute-api with a valid signature over what arrives', async () => {
      server.respond = () => ({ status: 201, body: JSON.stringify({ incident }) });

      await clientWith(iamSigner).createIncident(createRequest);

      const [request] = server.requests;
      if (request === undefined) throw new Error('no request reached the server');
      expect(request.headers.authorization).toMatch(
        /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/20300102\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=[a-z0-9;-]+, Signature=[0-9a-f]{64}$/,
      );
      const signedHeaders = /SignedHeaders=([^,]+)/
        .exec(String(request.headers.authorization))?.[1]
        ?.split(';');
      expect(signedHeaders).toEqual(
        expect.arrayContaining(['host', 'x-amz-date', 'x-amz-content-sha256', 'x-amz-security-token']),
      );
      expect(request.headers['x-amz-date']).toBe('20300102T030405Z');
      expect(request.headers['x-amz-security-token']).toBe('FAKE-SESSION-TOKEN');
      expect(request.headers['x-amz-content-sha256']).toBe(sha256Hex(request.body));
      expect(
        String(request.headers.authorization).endsWith(
          `Signature=${signatureOf(request, credentials.secretAccessKey)}`,
        ),
      ).toBe(true);
    });

    it('signs a GET under a stage prefix, host and port included', async () => {
      server.respond = () => ({ status: 200, body: JSON.stringify({ incidents: [incident] }) });

      const incidents = await clientWith(iamSigner, `${server.url}/prod`).listIncidents();

      expect(incidents).toHaveLength(1);
      const [request] = server.requests;
      if (request === undefined) throw new Error('no request reached the server');
      expect(request.url).toBe('/prod/v1/admin/incidents');
      expect(request.headers.host).toBe(new URL(server.url).host);
      expect(String(request.headers.authorization)).toContain(
        `Signature=${signatureOf(request, credentials.secretAccessKey)}`,
      );
    });

    it('sends no bearer token', async () => {
      server.respond = () => ({ status: 200, body: JSON.stringify({ incidents: [] }) });

      await clientWith(iamSigner).listIncidents();

      expect(String(server.requests[0]?.headers.authorization)).not.toContain('Bearer');
    });
  });

  describe('errors', () => {
    it('carries the API error code, message and field details, formatted in two lines', async () => {
      server.respond = () => ({
        status: 400,
        body: JSON.stringify({
          error: 'invalid_request',
          message: 'The request body is invalid.',
          details: [
            { path: 'email', message: 'Must be an email address.' },
            { path: 'password', message: 'Required for password accounts.' },
          ],
        }),
      });

      const error = await clientWith()
        .createUser({ email: 'nope', authMethod: 'password' })
        .catch((caught: unknown) => caught);

      expect(error).toBeInstanceOf(AdminApiError);
      expect(error).toMatchObject({ status: 400, code: 'invalid_request' });
      expect(formatError(error)).toEqual([
        'The request body is invalid. (HTTP 400 invalid_request)',
        'email: Must be an email address.; password: Required for password accounts.',
      ]);
    });

    it('shows weak_password reasons and retry-after', async () => {
      server.respond = () => ({
        status: 422,
        body: JSON.stringify({
          error: 'weak_password',
          message: 'Choose another password.',
          reasons: ['too_short', 'common'],
        }),
      });
      const weak = await clientWith()
        .createUser({ email: 'a@example.com', authMethod: 'password', password: 'x' })
        .catch((caught: unknown) => caught);
      server.respond = () => ({
        status: 429,
        headers: { 'retry-after': '7' },
        body: JSON.stringify({ error: 'too_many_requests', message: 'Slow down.' }),
      });
      const throttled = await clientWith()
        .getIncident('inc-1')
        .catch((caught: unknown) => caught);

      expect(formatError(weak)).toEqual([
        'Choose another password. (HTTP 422 weak_password)',
        'reasons: too_short, common',
      ]);
      expect(throttled).toMatchObject({ status: 429, retryAfterSeconds: 7 });
      expect(formatError(throttled)[1]).toBe('retry after 7 s');
    });

    it("explains API Gateway's own authorisation failures", async () => {
      server.respond = () => ({ status: 403, body: JSON.stringify({ message: 'Forbidden' }) });

      const error = await clientWith()
        .listIncidents()
        .catch((caught: unknown) => caught);

      const [summary, hint] = formatError(error);
      expect(summary).toBe('Forbidden (HTTP 403 http_403)');
      expect(hint).toContain('--iam');
    });

    it('summarises a non-JSON error page in one line', async () => {
      server.respond = () => ({ status: 502, body: '<html>\n<body>Bad   gateway</body>\n</html>' });

      const lines = formatError(
        await clientWith()
          .listIncidents()
          .catch((caught: unknown) => caught),
      );

      expect(lines).toEqual(['<html> <body>Bad gateway</body> </html> (HTTP 502 http_502)']);
    });

    it('neutralises control characters in messages from the server', async () => {
      server.respond = () => ({
        status: 404,
        body: JSON.stringify({ error: 'not_found', message: 'gone\u001b[2J\rnow' }),
      });

      const [summary] = formatError(
        await clientWith()
          .getIncident('x')
          .catch((caught: unknown) => caught),
      );

      expect(summary).toBe('gone [2J now (HTTP 404 not_found)');
    });

    it('rejects a 2xx body that is not the promised shape', async () => {
      server.respond = () => ({ status: 200, body: JSON.stringify({ hello: 'world' }) });

      await expect(clientWith().getIncident('inc-1')).rejects.toBeInstanceOf(UnexpectedResponseError);
    });

    it('names the URL when nothing listens there', async () => {
      const closed = new RecordingServer();
      await closed.start();
      const url = closed.url;
      await closed.stop();

      const error = await clientWith(undefined, url)
        .listIncidents()
        .catch((caught: unknown) => caught);

      expect(error).toBeInstanceOf(AdminUnreachableError);
      expect(formatError(error)).toEqual([
        `could not reach ${url}/v1/admin/incidents: connection refused (ECONNREFUSED)`,
      ]);
    });

    it('gives up on a server that never answers', async () => {
      server.respond = () => undefined;

      const error = await clientWith(undefined, server.url, 200)
        .listIncidents()
        .catch((caught: unknown) => caught);

      expect(error).toBeInstanceOf(AdminUnreachableError);
      expect(String((error as Error).message)).toContain('no answer within');
    });

    it('refuses a body over the 16 KiB contract limit without sending it', async () => {
      const emails = Array.from({ length: 1000 }, (_, index) => `user${index}@example.com`);

      await expect(
        clientWith().createIncident({ ...createRequest, scope: { type: 'emails', emails } }),
      ).rejects.toBeInstanceOf(RequestTooLargeError);
      expect(server.requests).toEqual([]);
    });
  });
});

describe('region for --iam', () => {
  it('comes from an execute-api default endpoint, and from nothing else', () => {
    expect(regionFromApiUrl('https://abc123.execute-api.eu-west-3.amazonaws.com/prod')).toBe('eu-west-3');
    expect(regionFromApiUrl('https://admin.example.com')).toBeUndefined();
  });
});
