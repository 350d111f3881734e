import { fileURLToPath } from 'node:url';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { loadPageSite, type PageSite, servePage } from '../shared/http/pages.js';

/**
 * The hosted account pages. On AWS the bundle carries them in `pages/` next to this handler (built once by the
 * bundling hook); locally PAGES_DIR points at the directory the local stack built. Read once per cold start.
 */
let site: PageSite | undefined;

export const handler = async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
  site ??= loadPageSite(process.env['PAGES_DIR'] || fileURLToPath(new URL('./pages/', import.meta.url)));
  return servePage(site, event.rawPath);
};
