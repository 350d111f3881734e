import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:net';
import { api } from '../support/http.js';
import { startTestStack, type TestStack } from '../support/test-stack.js';

/** A port that accepts connections and then drops them: DynamoDB "down" mid-request. */
function startBlackHole(): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer((socket) => socket.destroy());
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        close: () => new Promise((done) => server.close(() => done())),
      });
    });
  });
}

let stack: TestStack;
let blackHole: Awaited<ReturnType<typeof startBlackHole>>;

beforeAll(async () => {
  blackHole = await startBlackHole();
  stack = await startTestStack({
    notifier: false,
    env: { DYNAMODB_ENDPOINT: blackHole.url, LOG_LEVEL: 'SILENT' },
  });
});
afterAll(async () => {
  await stack?.stop();
  await blackHole?.close();
});

describe('when DynamoDB is unreachable', () => {
  it('answers 503 unavailable with retry-after, and leaks no AWS or stack details', async () => {
    const client = api(stack.apiUrl);
    for (const response of [
      await client.post('/v1/auth/login', { login: 'someone@example.test', password: 'some-password' }),
      await client.post('/v1/accounts', {
        email: 'new@example.test',
        username: 'newbie',
        password: 'violet-river-canyon',
      }),
    ]) {
      expect(response.status).toBe(503);
      expect(response.body).toEqual({ error: 'unavailable', message: expect.any(String) });
      expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(response.text).not.toMatch(/ECONN|socket|at \w+ \(|Exception|dynamodb/i);
    }
  });
});
