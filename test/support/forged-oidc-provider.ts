/**
 * A deliberately broken OpenID provider for the ID token checks: it serves discovery and a JWKS, answers the
 * authorization request at once, and its token endpoint returns an ID token signed (with jose) as the test
 * asks: valid, for another audience, expired, with another nonce, or signed by a key not in its JWKS.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';

export type ForgedTokenMode =
  | 'valid'
  | 'wrong-audience'
  | 'expired'
  | 'wrong-nonce'
  | 'foreign-key'
  | 'wrong-issuer';

export interface ForgedProvider {
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  mode: ForgedTokenMode;
  /** The email (verified) the next ID token carries. */
  email: string;
  close(): Promise<void>;
  /** Listens again on the same port after close(): a provider that was down and came back. */
  reopen(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startForgedProvider(): Promise<ForgedProvider> {
  const signing = await generateKeyPair('ES256');
  const foreign = await generateKeyPair('ES256');
  const kid = randomBytes(6).toString('hex');
  const publicJwk: JWK = { ...(await exportJWK(signing.publicKey)), kid, alg: 'ES256', use: 'sig' };
  // Authorization codes this provider issued, with the nonce the client sent for each.
  const codes = new Map<string, { nonce: string; redirectUri: string }>();

  const state: ForgedProvider = {
    issuer: '',
    clientId: 'forged-client',
    clientSecret: randomBytes(16).toString('hex'),
    mode: 'valid',
    email: 'nobody@example.test',
    close: async () => undefined,
    reopen: async () => undefined,
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', state.issuer);
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    void (async () => {
      if (url.pathname === '/.well-known/openid-configuration') {
        return send(200, {
          issuer: state.issuer,
          authorization_endpoint: `${state.issuer}/authorize`,
          token_endpoint: `${state.issuer}/token`,
          jwks_uri: `${state.issuer}/jwks`,
          response_types_supported: ['code'],
          subject_types_supported: ['public'],
          id_token_signing_alg_values_supported: ['ES256'],
          code_challenge_methods_supported: ['S256'],
          token_endpoint_auth_methods_supported: ['client_secret_basic'],
        });
      }
      if (url.pathname === '/jwks') return send(200, { keys: [publicJwk] });
      if (url.pathname === '/authorize') {
        const code = randomBytes(16).toString('hex');
        const redirectUri = url.searchParams.get('redirect_uri') ?? '';
        codes.set(code, { nonce: url.searchParams.get('nonce') ?? '', redirectUri });
        const back = new URL(redirectUri);
        back.searchParams.set('code', code);
        back.searchParams.set('state', url.searchParams.get('state') ?? '');
        res.writeHead(302, { location: back.href });
        res.end();
        return;
      }
      if (url.pathname === '/token' && req.method === 'POST') {
        const form = new URLSearchParams(await readBody(req));
        const issued = codes.get(form.get('code') ?? '');
        // RFC 6749 2.3.1: id and secret are form-urlencoded before they are joined and base64-encoded.
        const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
        const [id = '', secret = ''] = Buffer.from(basic, 'base64')
          .toString('utf8')
          .split(':')
          .map(decodeURIComponent);
        if (!issued || id !== state.clientId || secret !== state.clientSecret) {
          return send(400, { error: 'invalid_grant' });
        }
        codes.delete(form.get('code') ?? '');
        const now = Math.floor(Date.now() / 1000);
        const mode = state.mode;
        const iat = mode === 'expired' ? now - 3600 : now;
        const token = await new SignJWT({
          nonce: mode === 'wrong-nonce' ? 'a-nonce-the-client-never-sent' : issued.nonce,
          email: state.email,
          email_verified: true,
        })
          .setProtectedHeader({ alg: 'ES256', kid })
          .setIssuer(mode === 'wrong-issuer' ? 'https://attacker.example' : state.issuer)
          .setAudience(mode === 'wrong-audience' ? 'some-other-client' : state.clientId)
          .setSubject(`forged-${state.email}`)
          .setIssuedAt(iat)
          .setExpirationTime(mode === 'expired' ? now - 600 : now + 600)
          .sign(mode === 'foreign-key' ? foreign.privateKey : signing.privateKey);
        return send(200, {
          access_token: randomBytes(16).toString('hex'),
          token_type: 'Bearer',
          id_token: token,
        });
      }
      send(404, { error: 'not_found' });
    })().catch(() => send(500, { error: 'server_error' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  (state as { issuer: string }).issuer = `http://127.0.0.1:${port}`;
  state.close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  state.reopen = () => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return state;
}
