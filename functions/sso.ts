import { openIdProviders } from '../shared/composition/identity-providers.js';
import { InvalidRequestError } from '../shared/errors.js';
import { createHttpHandler, route } from '../shared/http/http-api.js';
import { ssoStartQuery } from '../shared/http/query-schemas.js';
import { toErrorDetails } from '../shared/http/request-body.js';
import { json, redirect } from '../shared/http/responses.js';
import { ssoExchangeBody } from '../shared/http/schemas.js';
import type { Deps } from '../shared/use-cases/deps.js';
import {
  completeSsoCallback,
  exchangeSsoCode,
  listSsoLinks,
  listSsoProviders,
  SSO_BINDING_COOKIE,
  SSO_COOKIE_PATH,
  startSsoLink,
  startSsoSignIn,
} from '../shared/use-cases/sso.js';
import { createDepsLoader, logger } from './commons/runtime.js';

/** Only the optional adapters this function's routes use (shared/composition/compose.ts). */
const getDeps = createDepsLoader({ identityProviders: openIdProviders });

/** HttpOnly and SameSite=Lax: sent on the provider's top-level redirect back, never readable by scripts. */
function bindingCookie(deps: Pick<Deps, 'config'>, value: string, maxAgeSeconds: number): string {
  const secure = deps.config.sso.apiBaseUrl.startsWith('https:') ? '; Secure' : '';
  return `${SSO_BINDING_COOKIE}=${value}; Path=${SSO_COOKIE_PATH}; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Lax${secure}`;
}

export const handler = createHttpHandler(
  'sso',
  {
    'GET /v1/auth/sso/providers': route({
      handle: async (_request, deps) => json(200, { providers: listSsoProviders(deps) }),
    }),
    'GET /v1/auth/sso/{id}/start': route({
      handle: async ({ pathParameters, query }, deps) => {
        const parsed = ssoStartQuery.safeParse(query);
        if (!parsed.success)
          throw new InvalidRequestError('The query is invalid.', toErrorDetails(parsed.error));
        const flow = await startSsoSignIn(deps, pathParameters['id'] ?? '', parsed.data);
        return redirect(flow.authorizationUrl, [bindingCookie(deps, flow.browserBinding, 600)]);
      },
    }),
    'GET /v1/auth/sso/{id}/callback': route({
      handle: async ({ pathParameters, query, rawQueryString, cookies, origin }, deps) => {
        const location = await completeSsoCallback(
          deps,
          {
            providerId: pathParameters['id'] ?? '',
            rawQueryString,
            state: query['state'],
            browserBinding: cookies[SSO_BINDING_COOKIE],
          },
          origin,
        );
        return redirect(location, [bindingCookie(deps, '', 0)]);
      },
    }),
    'POST /v1/auth/sso/exchange': route({
      body: ssoExchangeBody,
      handle: async ({ body, origin }, deps) => json(200, await exchangeSsoCode(deps, body, origin)),
    }),
    'POST /v1/auth/sso/{id}/link': route({
      handle: async ({ principal, pathParameters }, deps) => {
        const flow = await startSsoLink(deps, principal, pathParameters['id'] ?? '');
        return {
          ...json(200, { authorizationUrl: flow.authorizationUrl }),
          cookies: [bindingCookie(deps, flow.browserBinding, 600)],
        };
      },
    }),
    'GET /v1/me/sso-links': route({
      handle: async ({ principal }, deps) => json(200, { links: await listSsoLinks(deps, principal) }),
    }),
  },
  getDeps,
  logger,
);
