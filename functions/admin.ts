import { dispatcherTrigger } from '../shared/composition/dispatcher-trigger.js';
import { argon2Hasher, passwordBlocklist } from '../shared/composition/passwords.js';
import { createHttpHandler, route } from '../shared/http/http-api.js';
import { audienceChunkBody, createIncidentBody, forceResetBody } from '../shared/http/incident-schemas.js';
import { json, jsonLines, noContent } from '../shared/http/responses.js';
import { adminCreateUserBody, createClientBody, importUsersBody } from '../shared/http/schemas.js';
import { createAccount } from '../shared/use-cases/accounts.js';
import { importUsers } from '../shared/use-cases/import-users.js';
import {
  addAudienceChunk,
  closeAudience,
  incidentReportPage,
} from '../shared/use-cases/incident-audience.js';
import {
  cancelIncident,
  createIncident,
  forcePasswordReset,
  getIncident,
  listIncidents,
} from '../shared/use-cases/incidents.js';
import {
  createClient,
  deleteClient,
  listClients,
  rotateClientSecret,
} from '../shared/use-cases/oauth-clients.js';
import { createDepsLoader, logger } from './commons/runtime.js';

/** Only the optional adapters this function's routes use (shared/composition/compose.ts). */
const getDeps = createDepsLoader({ hasher: argon2Hasher, passwordBlocklist, dispatcherTrigger });

export const handler = createHttpHandler(
  'admin',
  {
    'POST /v1/admin/users': route({
      body: adminCreateUserBody,
      handle: async ({ body, origin }, deps) => json(201, { user: await createAccount(deps, body, origin) }),
    }),
    'POST /v1/admin/users/import': route({
      body: importUsersBody,
      // 500 rows with their hashes do not fit the 16 KiB every other route keeps.
      maxBodyBytes: 1024 * 1024,
      handle: async ({ body }, deps) => json(200, { results: await importUsers(deps, body) }),
    }),
    'POST /v1/admin/users/{id}/force-reset': route({
      body: forceResetBody,
      handle: async ({ body, pathParameters }, deps) =>
        json(202, { forcedReset: await forcePasswordReset(deps, pathParameters['id'] ?? '', body) }),
    }),
    'POST /v1/admin/incidents': route({
      body: createIncidentBody,
      handle: async ({ body }, deps) =>
        json(201, { incident: await createIncident(deps, body, deps.logger) }),
    }),
    'GET /v1/admin/incidents': route({
      handle: async ({ query }, deps) =>
        json(200, await listIncidents(deps, { cursor: query['cursor'], limit: query['limit'] })),
    }),
    'GET /v1/admin/incidents/{id}': route({
      handle: async ({ pathParameters }, deps) =>
        json(200, { incident: await getIncident(deps, pathParameters['id'] ?? '') }),
    }),
    'POST /v1/admin/incidents/{id}/cancel': route({
      handle: async ({ pathParameters }, deps) =>
        json(200, { incident: await cancelIncident(deps, pathParameters['id'] ?? '') }),
    }),
    'POST /v1/admin/clients': route({
      body: createClientBody,
      handle: async ({ body }, deps) => json(201, await createClient(deps, body)),
    }),
    'GET /v1/admin/clients': route({
      handle: async (_request, deps) => json(200, { clients: await listClients(deps) }),
    }),
    'DELETE /v1/admin/clients/{id}': route({
      handle: async ({ pathParameters }, deps) => {
        await deleteClient(deps, pathParameters['id'] ?? '');
        return noContent();
      },
    }),
    'POST /v1/admin/clients/{id}/rotate-secret': route({
      handle: async ({ pathParameters }, deps) =>
        json(200, await rotateClientSecret(deps, pathParameters['id'] ?? '')),
    }),
    'POST /v1/admin/incidents/{id}/audience': route({
      body: audienceChunkBody,
      // Chunks of up to 10,000 entries (CONTRACT.md: 1 MiB).
      maxBodyBytes: 1024 * 1024,
      handle: async ({ body, pathParameters, headers }, deps) =>
        json(
          200,
          await addAudienceChunk(deps, pathParameters['id'] ?? '', body.entries, headers['idempotency-key']),
        ),
    }),
    'POST /v1/admin/incidents/{id}/audience/close': route({
      handle: async ({ pathParameters }, deps) =>
        json(200, { incident: await closeAudience(deps, pathParameters['id'] ?? '', logger) }),
    }),
    'GET /v1/admin/incidents/{id}/report': route({
      handle: async ({ pathParameters, query }, deps) => {
        const page = await incidentReportPage(deps, pathParameters['id'] ?? '', query['cursor']);
        // One page per response (Lambda buffers at most 6 MB): the next one is named in a header.
        return jsonLines(page.lines, page.nextCursor ? { 'x-next-cursor': page.nextCursor } : {});
      },
    }),
  },
  getDeps,
  logger,
);
