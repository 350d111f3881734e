import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RangeServer {
  readonly url: string;
  readonly requests: { url: string; padding: string | undefined }[];
  close(): Promise<void>;
}

/** A local server speaking the Pwned Passwords range API, recording what it was asked. */
export function startRangeServer(
  breached: string[],
  options: { delayMs?: number; status?: number } = {},
): Promise<RangeServer> {
  const requests: RangeServer['requests'] = [];
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
  return new Promise((resolve) => {
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
