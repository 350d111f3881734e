/**
 * `npx tsx bench/signals.ts`: Shared Signals delivery latency on the local stack (DynamoDB Local stream ->
 * fan-out -> signals queue (fauxqs) -> push to a receiver on this machine). For each of N revoke-alls, the time
 * from the API's 204 to the receiver holding the session-revoked SET; p50 and p95. Writes
 * bench/results/signals.json. Emulators and pollers are the floor here, not AWS (see README "Benchmarks").
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeJwt } from 'jose';
import { startLocalStack } from '../scripts/local/local-stack.js';

const EVENTS = Number(process.env['SIGNALS_BENCH_EVENTS'] ?? 40);
const here = dirname(fileURLToPath(import.meta.url));

async function main() {
  const arrivals = new Map<string, number>();
  const receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const claims = decodeJwt(Buffer.concat(chunks).toString('utf8'));
      const sub = (claims['sub_id'] as { sub?: string } | undefined)?.sub;
      if (sub && !arrivals.has(sub)) arrivals.set(sub, performance.now());
      res.writeHead(202).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/events`;
  const stack = await startLocalStack({
    prefix: `bench-signals-${randomBytes(3).toString('hex')}`,
    emulatorPorts: { dynamodbPort: 0, sqsPort: 0, sesPort: 0 },
    signingKeyFile: join(mkdtempSync(join(tmpdir(), 'signals-bench-')), 'signing-key.json'),
    dispatcher: false,
    env: { LOG_LEVEL: 'ERROR' },
  });
  try {
    const call = async (method: string, path: string, body?: unknown, token?: string) => {
      const response = await fetch(`${stack.apiUrl}${path}`, {
        method,
        headers: {
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
    };
    const registered = await call(
      'POST',
      '/v1/admin/clients',
      {
        name: 'Bench receiver',
        type: 'confidential',
        grantTypes: ['client_credentials'],
        scopes: ['ssf.manage'],
      },
      stack.adminToken,
    );
    const clientId = (registered.body['client'] as { clientId: string }).clientId;
    const tokenResponse = await fetch(`${stack.apiUrl}/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: clientId,
        client_secret: String(registered.body['clientSecret']),
      }).toString(),
    });
    const receiverToken = ((await tokenResponse.json()) as { access_token: string }).access_token;
    await call(
      'POST',
      '/ssf/streams',
      { delivery: { method: 'urn:ietf:rfc:8935', endpoint_url: receiverUrl } },
      receiverToken,
    );

    const latencies: number[] = [];
    for (let i = 0; i < EVENTS; i++) {
      const email = `bench-${i}-${randomBytes(3).toString('hex')}@example.test`;
      const password = `bench-${randomBytes(8).toString('hex')}-pass`;
      const created = await call('POST', '/v1/accounts', {
        email,
        username: `b${randomBytes(5).toString('hex')}`,
        password,
      });
      const userId = (created.body['user'] as { id: string }).id;
      const login = await call('POST', '/v1/auth/login', { login: email, password });
      const revoked = await call('POST', '/v1/auth/revoke-all', undefined, String(login.body['accessToken']));
      if (revoked.status !== 204) throw new Error(`revoke-all answered ${revoked.status}`);
      const answeredAt = performance.now();
      const deadline = answeredAt + 30_000;
      while (!arrivals.has(userId)) {
        if (performance.now() > deadline) throw new Error('A SET did not arrive within 30 s');
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      latencies.push(arrivals.get(userId)! - answeredAt);
    }
    latencies.sort((a, b) => a - b);
    const at = (q: number) =>
      Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!);
    const results = {
      measuredAt: new Date().toISOString(),
      events: EVENTS,
      deliveryLatencyMs: { p50: at(0.5), p95: at(0.95), max: Math.round(latencies.at(-1)!) },
      note: 'From the revoke-all 204 to the SET at the receiver, on DynamoDB Local + fauxqs with 100 ms stream polling.',
    };
    mkdirSync(join(here, 'results'), { recursive: true });
    writeFileSync(join(here, 'results', 'signals.json'), `${JSON.stringify(results, null, 2)}\n`);
    console.log(JSON.stringify(results, null, 2));
  } finally {
    await stack.stop();
    receiver.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
