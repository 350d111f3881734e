import { createHttpHandler, route } from '../shared/http/http-api.js';
import { audienceChunkBody, createIncidentBody, forceResetBody } from '../shared/http/incident-schemas.js';
import { json, jsonLines } from '../shared/http/responses.js';
import { adminCreateUserBody } from '../shared/http/schemas.js';
import { createAccount } from '../shared/use-cases/accounts.js';
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
import { getDeps, logger } from './commons/runtime.js';

export const handler = createHttpHandler(
  {
    'POST /v1/admin/users': route({
      body: adminCreateUserBody,
      handle: async ({ body, origin }, deps) => json(201, { user: await createAccount(deps, body, origin) }),
    }),
    'POST /v1/admin/users/{id}/force-reset': route({
      body: forceResetBody,
      handle: async ({ body, pathParameters }, deps) =>
        json(202, { forcedReset: await forcePasswordReset(deps, pathParameters['id'] ?? '', body) }),
    }),
    'POST /v1/admin/incidents': route({
      body: createIncidentBody,
      handle: async ({ body }, deps) => json(201, { incident: await createIncident(deps, body, logger) }),
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
    'POST /v1/admin/incidents/{id}/audience': route({
      body: audienceChunkBody,
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
