import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import {
  endpointUrlProblem,
  forbiddenAddressReason,
  type ReceiverAddressPolicy,
} from '../domain/receiver-address.js';

/** How one push went (RFC 8935 2.2 / 2.3). */
export type PushOutcome =
  | { readonly kind: 'accepted' }
  /** The receiver answered 400 with an `err` code: it will refuse this SET however often it is sent. */
  | { readonly kind: 'rejected'; readonly err: string; readonly description: string | undefined }
  /** Network error, timeout, refused address, 5xx, 401/403/429...: worth sending again later. */
  | { readonly kind: 'retry'; readonly reason: string };

/** Port: sends one SET to a receiver's endpoint. */
export interface SetPusher {
  push(endpointUrl: string, set: string, authorizationHeader: string | undefined): Promise<PushOutcome>;
}

/** Port: checks a receiver URL and the addresses its host resolves to, when a stream is created or changed. */
export interface ReceiverUrlChecker {
  problem(endpointUrl: string): Promise<string | undefined>;
}

/** RFC 8935 error bodies are tiny; anything beyond this is not read. */
const MAX_RESPONSE_BYTES = 4096;

function lookupAll(hostname: string): Promise<LookupAddress[]> {
  return new Promise((resolve, reject) =>
    dnsLookup(hostname, { all: true, verbatim: true }, (error, addresses) =>
      error ? reject(error) : resolve(addresses),
    ),
  );
}

/**
 * A lookup for the socket that refuses the connection when ANY address of the host is forbidden, and connects
 * to the address it checked (no second resolution between the check and the connect: DNS rebinding).
 */
function guardedLookup(policy: ReceiverAddressPolicy): LookupFunction {
  return (hostname, options, callback) => {
    lookupAll(hostname).then(
      (addresses) => {
        const bad = addresses.find((entry) => forbiddenAddressReason(entry.address, policy) !== undefined);
        if (addresses.length === 0 || bad) {
          callback(
            Object.assign(new Error(`Receiver address refused for ${hostname}`), { code: 'EREFUSED' }),
            '',
            4,
          );
          return;
        }
        if (options.all) callback(null, addresses);
        else callback(null, addresses[0]!.address, addresses[0]!.family);
      },
      (error: NodeJS.ErrnoException) => callback(error, '', 4),
    );
  };
}

export function createReceiverUrlChecker(policy: ReceiverAddressPolicy): ReceiverUrlChecker {
  return {
    async problem(endpointUrl) {
      const syntax = endpointUrlProblem(endpointUrl, policy);
      if (syntax) return syntax;
      const host = new URL(endpointUrl).hostname.replace(/^\[|\]$/g, '');
      let addresses: LookupAddress[];
      try {
        addresses = await lookupAll(host);
      } catch {
        return 'host does not resolve';
      }
      for (const entry of addresses) {
        const reason = forbiddenAddressReason(entry.address, policy);
        if (reason) return `host resolves to an address that ${reason}`;
      }
      return undefined;
    },
  };
}

/**
 * RFC 8935 push over node's http(s) with the address guard, a hard deadline for the whole exchange and a bounded
 * read of the answer. Redirects are not followed (a 3xx is a failed delivery), so a receiver cannot bounce us to
 * a forbidden address.
 */
export function createSetPusher(policy: ReceiverAddressPolicy, timeoutMs: number): SetPusher {
  const lookup = guardedLookup(policy);
  return {
    push(endpointUrl, set, authorizationHeader) {
      const problem = endpointUrlProblem(endpointUrl, policy);
      if (problem) return Promise.resolve({ kind: 'retry', reason: `endpoint ${problem}` });
      const url = new URL(endpointUrl);
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
      return new Promise<PushOutcome>((resolve) => {
        let settled = false;
        const finish = (outcome: PushOutcome) => {
          if (settled) return;
          settled = true;
          clearTimeout(deadline);
          resolve(outcome);
        };
        const req = send(
          url,
          {
            method: 'POST',
            lookup,
            headers: {
              'content-type': 'application/secevent+jwt',
              accept: 'application/json',
              'content-length': Buffer.byteLength(set),
              ...(authorizationHeader ? { authorization: authorizationHeader } : {}),
            },
          },
          (res: IncomingMessage) => {
            const chunks: Buffer[] = [];
            let size = 0;
            res.on('data', (chunk: Buffer) => {
              size += chunk.length;
              if (size <= MAX_RESPONSE_BYTES) chunks.push(chunk);
              else res.destroy();
            });
            const done = () => finish(outcomeOf(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8')));
            res.on('end', done);
            res.on('close', done);
            res.on('error', () => done());
          },
        );
        const deadline = setTimeout(() => {
          req.destroy();
          finish({ kind: 'retry', reason: `no answer within ${timeoutMs} ms` });
        }, timeoutMs);
        req.on('error', (error: NodeJS.ErrnoException) =>
          finish({ kind: 'retry', reason: error.code ?? error.name }),
        );
        req.end(set);
      });
    },
  };
}

function outcomeOf(status: number, body: string): PushOutcome {
  // RFC 8935 2.2: 202 Accepted; some receivers answer 200 or 204, which we take as accepted too.
  if (status >= 200 && status < 300) return { kind: 'accepted' };
  if (status === 400) {
    try {
      const parsed = JSON.parse(body) as { err?: unknown; description?: unknown };
      if (typeof parsed.err === 'string') {
        return {
          kind: 'rejected',
          err: parsed.err.slice(0, 64),
          description: typeof parsed.description === 'string' ? parsed.description.slice(0, 256) : undefined,
        };
      }
    } catch {
      // Not an RFC 8935 error body: treated as a transient failure below.
    }
  }
  return { kind: 'retry', reason: `HTTP ${status}` };
}
