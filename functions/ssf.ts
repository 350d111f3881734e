import type { HttpRequest } from '../shared/http/http-api.js';
import { createHttpHandler, route } from '../shared/http/http-api.js';
import { json, noContent } from '../shared/http/responses.js';
import {
  pollBody,
  streamConfigurationBody,
  streamStatusBody,
  verificationBody,
} from '../shared/http/ssf-schemas.js';
import type { Deps } from '../shared/use-cases/deps.js';
import {
  authenticateReceiver,
  createStream,
  deleteStream,
  pollStream,
  readStatus,
  readStreams,
  requestVerification,
  transmitterConfiguration,
  updateStatus,
  updateStream,
} from '../shared/use-cases/signal-streams.js';
import { createDepsLoader, logger } from './commons/runtime.js';
import { getSignalDeps } from './commons/signals-runtime.js';

/** The use-cases' dependencies and the receiver behind the request's ssf.manage token. */
async function receiverContext(request: HttpRequest<unknown>, deps: Deps) {
  const signals = await getSignalDeps();
  const all = { ...deps, ...signals };
  return { deps: all, receiver: await authenticateReceiver(all, request.headers['authorization']) };
}

const getDeps = createDepsLoader({});

export const handler = createHttpHandler(
  'ssf',
  {
    'GET /.well-known/ssf-configuration': route({
      handle: async (_request, deps) => json(200, transmitterConfiguration(deps.config)),
    }),
    'GET /ssf/jwks.json': route({
      handle: async () =>
        json(200, { keys: (await (await getSignalDeps()).setPublicKeys.load()).publicJwks }),
    }),
    'POST /ssf/streams': route({
      body: streamConfigurationBody,
      handle: async (request, deps) => {
        const context = await receiverContext(request, deps);
        return json(201, await createStream(context.deps, context.receiver, request.body));
      },
    }),
    'GET /ssf/streams': route({
      handle: async (request, deps) => {
        const context = await receiverContext(request, deps);
        return json(200, await readStreams(context.deps, context.receiver, request.query['stream_id']));
      },
    }),
    'PATCH /ssf/streams': route({
      body: streamConfigurationBody,
      handle: async (request, deps) => {
        const context = await receiverContext(request, deps);
        return json(200, await updateStream(context.deps, context.receiver, request.body, 'update'));
      },
    }),
    'PUT /ssf/streams': route({
      body: streamConfigurationBody,
      handle: async (request, deps) => {
        const context = await receiverContext(request, deps);
        return json(200, await updateStream(context.deps, context.receiver, request.body, 'replace'));
      },
    }),
    'DELETE /ssf/streams': route({
      handle: async (request, deps) => {
        const context = await receiverContext(request, deps);
        await deleteStream(context.deps, context.receiver, request.query['stream_id']);
        return noContent();
      },
    }),
    'GET /ssf/status': route({
      handle: async (request, deps) => {
        const context = await receiverContext(request, deps);
        return json(200, await readStatus(context.deps, context.receiver, request.query['stream_id']));
      },
    }),
    'POST /ssf/status': route({
      body: streamStatusBody,
      handle: async (request, deps) => {
        const context = await receiverContext(request, deps);
        return json(200, await updateStatus(context.deps, context.receiver, request.body));
      },
    }),
    'POST /ssf/verify': route({
      body: verificationBody,
      handle: async (request, deps) => {
        const context = await receiverContext(request, deps);
        await requestVerification(context.deps, context.receiver, request.body);
        return noContent();
      },
    }),
    'POST /ssf/poll/{id}': route({
      body: pollBody,
      handle: async (request, deps) => {
        const context = await receiverContext(request, deps);
        return json(
          200,
          await pollStream(context.deps, context.receiver, request.pathParameters['id'] ?? '', request.body),
        );
      },
    }),
  },
  getDeps,
  logger,
);
