import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHibpChecker } from '../../shared/aws/hibp-breached-password-checker.js';

/** A local server speaking the Pwned Passwords range API, recording what it was asked. */
function startRangeServer(breached: string[], options: { delayMs?: number; status?: number } = {}) {
  const requests: { url: string; padding: string | undefined }[] = [];
  const hashes = breached.map((p) => createHash('sha1').update(p).digest('hex').toUpperCase());
  const server: Server = createServer((req, res) => {
    requests.push({ url: req.url ?? '', padding: req.headers['add-padding'] as string | undefined });
    const prefix = (req.url ?? '').split('/').pop() ?? '';
    const lines = hashes.filter((h) => h.startsWith(prefix)).map((h) => `${h.slice(5)}:42`);
    lines.push('0000000000000000000000000000000000A:0'); // padding entry
    setTimeout(() => {
      res.writeHead(options.status ?? 200, { 'content-type': 'text/plain' });
      res.end(lines.join('\r\n'));
    }, options.delayMs ?? 0);
  });
  return new Promise<{ url: string; requests: typeof requests; close: () => Promise<void> }>((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        requests,
        close: () => new Promise((done) => server.close(() => done())),
      });
    });
  });
}

describe('breached-password check (HIBP range API)', () => {
  it('finds a breached password while sending only the 5-character SHA-1 prefix', async () => {
    const server = await startRangeServer(['correct horse battery staple']);
    const unavailable: string[] = [];
    const checker = createHibpChecker({
      baseUrl: server.url,
      timeoutMs: 2000,
      onUnavailable: (r) => unavailable.push(r),
    });
    try {
      expect(await checker.isBreached('correct horse battery staple')).toBe(true);
      expect(await checker.isBreached('a never-breached passphrase 7Qz')).toBe(false);
      const digest = createHash('sha1').update('correct horse battery staple').digest('hex').toUpperCase();
      expect(server.requests[0]?.url).toBe(`/range/${digest.slice(0, 5)}`);
      expect(server.requests.every((r) => !r.url.includes(digest.slice(5)))).toBe(true);
      expect(server.requests[0]?.padding).toBe('true');
      expect(unavailable).toEqual([]);
    } finally {
      await server.close();
    }
  });

  it('fails open with a log line when the service is too slow', async () => {
    const server = await startRangeServer(['hunter2hunter2'], { delayMs: 500 });
    const unavailable: string[] = [];
    const checker = createHibpChecker({
      baseUrl: server.url,
      timeoutMs: 50,
      onUnavailable: (r) => unavailable.push(r),
    });
    try {
      expect(await checker.isBreached('hunter2hunter2')).toBe(false);
      expect(unavailable).toEqual(['timed out']);
    } finally {
      await server.close();
    }
  });

  it('fails open when the service answers with an error', async () => {
    const server = await startRangeServer([], { status: 503 });
    const unavailable: string[] = [];
    const checker = createHibpChecker({
      baseUrl: server.url,
      timeoutMs: 2000,
      onUnavailable: (r) => unavailable.push(r),
    });
    try {
      expect(await checker.isBreached('whatever-password')).toBe(false);
      expect(unavailable).toEqual(['range API answered 503']);
    } finally {
      await server.close();
    }
  });
});
