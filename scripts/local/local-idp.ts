/**
 * The development OpenID provider of `npm start` and the integration tests ("Local IdP"): a real, certified
 * OpenID provider library (oidc-provider) on loopback, whose sign-in page asks only for an email. Any email
 * signs in as that identity, with `email_verified: true`. Never part of a Lambda bundle: only scripts/ and
 * test/ import it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';

export const LOCAL_IDP_DISPLAY_NAME = 'Local IdP';

export interface LocalIdpClient {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly redirectUris: readonly string[];
}

export interface LocalIdpOptions {
  /** 0 picks a free port. */
  readonly port: number;
  readonly clients: readonly LocalIdpClient[];
}

export interface LocalIdp {
  /** `http://127.0.0.1:<port>`: also the `iss` of its ID tokens. */
  readonly issuer: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Loopback only: this provider signs anyone in as anyone. */
const HOST = '127.0.0.1';
const MAX_FORM_BYTES = 4 * 1024;

const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

const escapeHtml = (value: string): string => value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A stable `sub` per email, so signing in again with the same email is the same identity. */
export const localSubjectFor = (email: string): string =>
  `local-${createHash('sha256').update(email).digest('hex').slice(0, 32)}`;

function signInPage(uid: string, clientId: string, error?: string): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Sign in - ${LOCAL_IDP_DISPLAY_NAME}</title></head>
<body>
<main>
<h1>${LOCAL_IDP_DISPLAY_NAME}</h1>
<p>Development identity provider: any email signs in as that identity. Signing in to <strong>${escapeHtml(clientId)}</strong>.</p>
${error ? `<p role="alert">${escapeHtml(error)}</p>` : ''}
<form method="post" action="/interaction/${escapeHtml(uid)}/login">
<label for="email">Email</label>
<input id="email" name="email" type="email" autocomplete="email" required>
<button type="submit">Sign in</button>
</form>
<form method="post" action="/interaction/${escapeHtml(uid)}/abort">
<button type="submit">Cancel</button>
</form>
</main>
</body>
</html>`;
}

function messagePage(status: number, res: ServerResponse, title: string, message: string): void {
  res.writeHead(status, PAGE_HEADERS);
  res.end(
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head><body><main><h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p></main></body></html>`,
  );
}

function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_FORM_BYTES) {
        reject(new Error('form too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.once('end', () => resolve(new URLSearchParams(Buffer.concat(chunks).toString('utf8'))));
    req.once('error', reject);
  });
}

export async function startLocalIdp(options: LocalIdpOptions): Promise<LocalIdp> {
  // The issuer contains the port, so the server listens first and the provider is built once it is known.
  let provider: Provider | undefined;
  let providerCallback: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const accounts = new Map<string, string>();

  const handleInteraction = async (
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
  ): Promise<void> => {
    if (!provider) throw new Error('provider not ready');
    const match = /^\/interaction\/([A-Za-z0-9_-]+)(\/login|\/abort)?$/.exec(path);
    if (!match) return messagePage(404, res, 'Not found', 'No such page.');
    const action = match[2];
    const details = await provider.interactionDetails(req, res);
    if (req.method === 'GET' && !action) {
      if (details.prompt.name === 'consent') {
        // A development provider has nobody to ask: every client gets what it asked for.
        const existing = details.grantId ? await provider.Grant.find(details.grantId) : undefined;
        const grant =
          existing ??
          new provider.Grant({
            accountId: details.session?.accountId ?? '',
            clientId: String(details.params['client_id']),
          });
        const missing = details.prompt.details;
        if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
        if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
        for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
          grant.addResourceScope(indicator, scopes.join(' '));
        }
        const grantId = await grant.save();
        await provider.interactionFinished(
          req,
          res,
          { consent: { grantId } },
          { mergeWithLastSubmission: true },
        );
        return;
      }
      res.writeHead(200, PAGE_HEADERS);
      res.end(signInPage(details.uid, String(details.params['client_id'] ?? '')));
      return;
    }
    if (req.method === 'POST' && action === '/abort') {
      await provider.interactionFinished(
        req,
        res,
        { error: 'access_denied', error_description: 'The user cancelled the sign-in.' },
        { mergeWithLastSubmission: false },
      );
      return;
    }
    if (req.method === 'POST' && action === '/login') {
      const form = await readForm(req);
      const email = (form.get('email') ?? '').trim().toLowerCase();
      if (!/^[^\s@]{1,64}@[^\s@]{1,189}$/.test(email)) {
        res.writeHead(400, PAGE_HEADERS);
        res.end(
          signInPage(details.uid, String(details.params['client_id'] ?? ''), 'Enter an email address.'),
        );
        return;
      }
      const accountId = localSubjectFor(email);
      accounts.set(accountId, email);
      // remember: false keeps no long-lived session, so the next sign-in asks for an email again.
      await provider.interactionFinished(
        req,
        res,
        { login: { accountId, remember: false } },
        { mergeWithLastSubmission: false },
      );
      return;
    }
    messagePage(405, res, 'Not allowed', 'This page does not accept that method.');
  };

  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const work = path.startsWith('/interaction/')
      ? handleInteraction(req, res, path)
      : Promise.resolve(providerCallback?.(req, res));
    work.catch((error: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const name = (error as { name?: string }).name;
      // An expired or unknown interaction (its cookie gone) is the user's to restart, not a crash.
      if (name === 'SessionNotFound' || name === 'InvalidRequest') {
        messagePage(
          400,
          res,
          'Sign-in expired',
          'This sign-in is no longer valid. Start again from the app.',
        );
      } else {
        messagePage(500, res, 'Error', 'The local identity provider failed.');
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, HOST, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const issuer = `http://${HOST}:${port}`;

  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const signingKey = {
    ...(await exportJWK(privateKey)),
    kid: randomBytes(8).toString('hex'),
    alg: 'RS256',
    use: 'sig',
  };
  provider = new Provider(issuer, {
    clients: options.clients.map((c) => ({
      client_id: c.clientId,
      client_secret: c.clientSecret,
      redirect_uris: [...c.redirectUris],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    })),
    jwks: { keys: [signingKey] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    claims: { openid: ['sub'], email: ['email', 'email_verified'] },
    // The ID token itself carries email and email_verified (not only the userinfo endpoint).
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    findAccount: async (_ctx: unknown, sub: string) => {
      const email = accounts.get(sub);
      if (email === undefined) return undefined;
      return { accountId: sub, claims: async () => ({ sub, email, email_verified: true }) };
    },
    ttl: {
      AuthorizationCode: 60,
      AccessToken: 600,
      IdToken: 600,
      Interaction: 600,
      Session: 3600,
      Grant: 3600,
    },
    renderError: async (ctx: { type: string; body: string }, out: Record<string, string>) => {
      ctx.type = 'html';
      ctx.body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Error</title></head><body><main><h1>${escapeHtml(out['error'] ?? 'error')}</h1><p>${escapeHtml(out['error_description'] ?? '')}</p></main></body></html>`;
    },
  });
  providerCallback = provider.callback();

  let closing: Promise<void> | undefined;
  return {
    issuer,
    port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
