/**
 * Serves the hosted account pages that web/build.ts produced: read once from their directory (at cold start),
 * answered from memory. The pages get a strict content-security-policy of their own: scripts, styles and
 * requests only to this origin, no inline script, no framing, no referrer.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { SECURITY_HEADERS } from './responses.js';

export const PAGE_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Page path -> the HTML file web/build.ts writes for it. */
export const PAGE_FILES: Readonly<Record<string, string>> = {
  '/login': 'login.html',
  '/forgot-password': 'forgot-password.html',
  '/reset-password': 'reset-password.html',
  '/security': 'security.html',
  '/security/report': 'security-report.html',
  '/device': 'device.html',
};

const contentTypes: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

export interface PageSite {
  readonly files: ReadonlyMap<string, { readonly body: string; readonly contentType: string }>;
}

export function loadPageSite(dir: string): PageSite {
  const files = new Map<string, { body: string; contentType: string }>();
  const read = (relative: string) => {
    const contentType = contentTypes[extname(relative)];
    if (contentType) files.set(relative, { body: readFileSync(join(dir, relative), 'utf8'), contentType });
  };
  for (const file of Object.values(PAGE_FILES)) read(file);
  for (const file of readdirSync(join(dir, 'assets'))) read(`assets/${file}`);
  return { files };
}

const pageHeaders: Readonly<Record<string, string>> = {
  ...SECURITY_HEADERS,
  'content-security-policy': PAGE_CONTENT_SECURITY_POLICY,
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=(), payment=()',
};

/** `path` is the request's path; `/assets/<name>` files have content-hashed names, so they may be cached. */
export function servePage(site: PageSite, path: string): APIGatewayProxyStructuredResultV2 {
  const assetName = path.startsWith('/assets/') ? path.slice('/assets/'.length) : undefined;
  const relative = assetName !== undefined ? `assets/${assetName}` : PAGE_FILES[path];
  const file = relative && !relative.includes('..') ? site.files.get(relative) : undefined;
  if (!file) {
    return {
      statusCode: 404,
      headers: { ...pageHeaders, 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify({ error: 'not_found', message: 'Not found.' }),
    };
  }
  const { pragma: _noCachePragma, ...cacheable } = pageHeaders;
  return {
    statusCode: 200,
    headers:
      assetName !== undefined
        ? {
            ...cacheable,
            'cache-control': 'public, max-age=31536000, immutable',
            'content-type': file.contentType,
          }
        : { ...pageHeaders, 'content-type': file.contentType },
    body: file.body,
  };
}
