import { randomUUID } from 'node:crypto';
import type { Config } from '../config.js';
import type { AccessTokens } from '../crypto/access-tokens.js';
import { randomJti, type SetSigner } from '../crypto/security-event-tokens.js';
import {
  EVENTS_SUPPORTED,
  eventsDelivered,
  POLL_METHOD,
  PUSH_METHOD,
  type StreamStatus,
  type SubjectFormat,
  VERIFICATION,
} from '../domain/security-signals.js';
import {
  DependencyUnavailableError,
  ForbiddenError,
  InvalidRequestError,
  InvalidTokenError,
  NotFoundError,
  TooManyRequestsError,
} from '../errors.js';
import type { Clock } from '../ports/clock.js';
import type { OAuthClientsStore } from '../ports/oauth-clients-store.js';
import type { RevocationStateReader } from '../ports/revocation-state.js';
import type { SignalQueue } from '../ports/signal-queue.js';
import {
  type SignalStream,
  type SignalStreamsStore,
  StreamChangedError,
} from '../ports/signal-streams-store.js';
import type { ReceiverUrlChecker } from '../signals/set-push.js';
import { clientTokenIsCurrent } from './oauth-token-status.js';

/** The scope the CAEP interoperability profile reserves for stream management (and, here, polling). */
export const SSF_MANAGE_SCOPE = 'ssf.manage';

export interface SignalStreamDeps {
  readonly config: Config;
  readonly clock: Clock;
  readonly accessTokens: Pick<AccessTokens, 'verifyAny'>;
  readonly revocation: Pick<RevocationStateReader, 'readTenant'>;
  readonly oauthClients: Pick<OAuthClientsStore, 'get'>;
  readonly streams: SignalStreamsStore;
  readonly setSigner: SetSigner;
  readonly signalQueue: SignalQueue;
  readonly receiverUrls: ReceiverUrlChecker;
}

/** A receiver: the confidential client behind an `ssf.manage` client credentials token. */
export interface Receiver {
  readonly clientId: string;
}

const bearer = (header: string | undefined) =>
  header === undefined ? undefined : /^Bearer +([^\s]+) *$/i.exec(header)?.[1];

/**
 * RFC 6750 for the SSF endpoints: a client credentials token (signature, iss, aud, exp), whose client still exists
 * with the same credential version and was issued after any tenant-wide cut-off, carrying `ssf.manage`.
 */
export async function authenticateReceiver(
  deps: Pick<SignalStreamDeps, 'accessTokens' | 'revocation' | 'oauthClients'>,
  authorization: string | undefined,
): Promise<Receiver> {
  const token = bearer(authorization);
  if (!token) throw new InvalidTokenError('An ssf.manage access token is required (authorization: Bearer).');
  const verified = await deps.accessTokens.verifyAny(token);
  if (verified.kind !== 'client')
    throw new InvalidTokenError('Stream management needs a client credentials token.');
  const claims = verified.claims;
  if (!(await clientTokenIsCurrent(deps, claims))) throw new InvalidTokenError();
  if (!claims.scope.split(' ').includes(SSF_MANAGE_SCOPE))
    throw new ForbiddenError(`This token lacks the ${SSF_MANAGE_SCOPE} scope.`);
  return { clientId: claims.client_id };
}

export const ssfPaths = {
  jwks: '/ssf/jwks.json',
  streams: '/ssf/streams',
  status: '/ssf/status',
  verify: '/ssf/verify',
  poll: (streamId: string) => `/ssf/poll/${streamId}`,
} as const;

/** GET /.well-known/ssf-configuration (SSF 1.0 section 7.1, CAEP interoperability profile 2.3). */
export function transmitterConfiguration(config: Pick<Config, 'jwt'>) {
  const issuer = config.jwt.issuer.replace(/\/+$/, '');
  return {
    spec_version: '1_0',
    issuer,
    jwks_uri: `${issuer}${ssfPaths.jwks}`,
    delivery_methods_supported: [PUSH_METHOD, POLL_METHOD],
    configuration_endpoint: `${issuer}${ssfPaths.streams}`,
    status_endpoint: `${issuer}${ssfPaths.status}`,
    verification_endpoint: `${issuer}${ssfPaths.verify}`,
    authorization_schemes: [{ spec_urn: 'urn:ietf:rfc:6749' }],
    // Receivers get every account's events without adding subjects (interoperability profile 2.5.2).
    default_subjects: 'ALL',
  };
}

/** What the receiver may set (SSF 1.0 8.1.1); transmitter-supplied members are checked, never taken. */
export interface StreamRequest {
  readonly stream_id?: string | undefined;
  readonly iss?: string | undefined;
  readonly aud?: string | readonly string[] | undefined;
  readonly events_supported?: readonly string[] | undefined;
  readonly events_delivered?: readonly string[] | undefined;
  readonly min_verification_interval?: number | undefined;
  readonly events_requested?: readonly string[] | undefined;
  readonly delivery?:
    | {
        readonly method: string;
        readonly endpoint_url?: string | undefined;
        readonly authorization_header?: string | undefined;
      }
    | undefined;
  readonly description?: string | undefined;
  /** Which RFC 9493 subject the stream's SETs carry: `iss_sub` (default, stable) or `email`. */
  readonly format?: SubjectFormat | undefined;
}

/** The stream as the receiver sees it (never the authorization header it gave us). */
export function streamConfiguration(config: Pick<Config, 'jwt' | 'signals'>, stream: SignalStream) {
  const issuer = config.jwt.issuer.replace(/\/+$/, '');
  return {
    stream_id: stream.streamId,
    iss: issuer,
    aud: stream.audience,
    events_supported: [...EVENTS_SUPPORTED],
    ...(stream.eventsRequested === undefined ? {} : { events_requested: stream.eventsRequested }),
    events_delivered: stream.eventsDelivered,
    delivery:
      stream.delivery.method === PUSH_METHOD
        ? { method: PUSH_METHOD, endpoint_url: stream.delivery.endpointUrl }
        : { method: POLL_METHOD, endpoint_url: `${issuer}${ssfPaths.poll(stream.streamId)}` },
    ...(stream.description === undefined ? {} : { description: stream.description }),
    format: stream.subjectFormat,
    min_verification_interval: config.signals.minVerificationIntervalSeconds,
  };
}

async function ownStream(deps: Pick<SignalStreamDeps, 'streams'>, receiver: Receiver, streamId: unknown) {
  if (typeof streamId !== 'string' || streamId === '')
    throw new InvalidRequestError('stream_id is required.', [{ path: 'stream_id', message: 'Required.' }]);
  const stream = await deps.streams.get(streamId);
  // Another receiver's stream is answered exactly like a missing one (SSF 1.0: 404 "for this Event Receiver").
  if (!stream || stream.clientId !== receiver.clientId) throw new NotFoundError('No such stream.');
  return stream;
}

/** Transmitter-supplied members a receiver echoes back must match (SSF 1.0 8.1.1.3). */
function checkTransmitterSupplied(
  config: Pick<Config, 'jwt' | 'signals'>,
  request: StreamRequest,
  current: SignalStream | undefined,
) {
  const problems: { path: string; message: string }[] = [];
  const issuer = config.jwt.issuer.replace(/\/+$/, '');
  if (request.iss !== undefined && request.iss !== issuer)
    problems.push({ path: 'iss', message: 'Not this issuer.' });
  if (current) {
    if (request.stream_id !== undefined && request.stream_id !== current.streamId)
      problems.push({ path: 'stream_id', message: 'Does not match.' });
    const aud = request.aud;
    if (
      aud !== undefined &&
      !(aud === current.audience || (Array.isArray(aud) && aud.length === 1 && aud[0] === current.audience))
    )
      problems.push({ path: 'aud', message: 'The audience cannot be changed.' });
    if (
      request.events_delivered !== undefined &&
      [...request.events_delivered].sort().join() !== [...current.eventsDelivered].sort().join()
    )
      problems.push({ path: 'events_delivered', message: 'Does not match the current value.' });
  }
  if (problems.length > 0)
    throw new InvalidRequestError('A transmitter-supplied member does not match.', problems);
}

async function deliveryOf(
  deps: Pick<SignalStreamDeps, 'receiverUrls'>,
  delivery: StreamRequest['delivery'],
): Promise<SignalStream['delivery']> {
  // SSF 1.0 8.1.1.1: without `delivery`, the receiver polls.
  if (delivery === undefined || delivery.method === POLL_METHOD) return { method: POLL_METHOD };
  if (delivery.method !== PUSH_METHOD) {
    throw new InvalidRequestError('Unsupported delivery method.', [
      { path: 'delivery.method', message: `Use ${PUSH_METHOD} (push) or ${POLL_METHOD} (poll).` },
    ]);
  }
  if (!delivery.endpoint_url)
    throw new InvalidRequestError('Push delivery needs an endpoint_url.', [
      { path: 'delivery.endpoint_url', message: 'Required for push.' },
    ]);
  const problem = await deps.receiverUrls.problem(delivery.endpoint_url);
  if (problem)
    throw new InvalidRequestError('This receiver endpoint is not allowed.', [
      { path: 'delivery.endpoint_url', message: `The endpoint ${problem}.` },
    ]);
  return {
    method: PUSH_METHOD,
    endpointUrl: delivery.endpoint_url,
    ...(delivery.authorization_header ? { authorizationHeader: delivery.authorization_header } : {}),
  };
}

export async function createStream(deps: SignalStreamDeps, receiver: Receiver, request: StreamRequest) {
  checkTransmitterSupplied(deps.config, request, undefined);
  const delivery = await deliveryOf(deps, request.delivery);
  const existing = (await deps.streams.list()).filter((stream) => stream.clientId === receiver.clientId);
  if (existing.length >= deps.config.signals.maxStreamsPerClient) {
    throw new InvalidRequestError(
      `A receiver may have at most ${deps.config.signals.maxStreamsPerClient} streams; delete one first.`,
    );
  }
  const now = deps.clock.now().toISOString();
  const stream: SignalStream = {
    streamId: randomUUID(),
    clientId: receiver.clientId,
    audience: receiver.clientId,
    eventsRequested: request.events_requested,
    eventsDelivered: eventsDelivered(request.events_requested),
    delivery,
    subjectFormat: request.format ?? 'iss_sub',
    description: request.description,
    status: 'enabled',
    statusReason: undefined,
    createdAt: now,
    updatedAt: now,
    lastVerificationAtMs: 0,
  };
  await deps.streams.create(stream);
  return streamConfiguration(deps.config, stream);
}

export async function readStreams(deps: SignalStreamDeps, receiver: Receiver, streamId: string | undefined) {
  if (streamId !== undefined)
    return streamConfiguration(deps.config, await ownStream(deps, receiver, streamId));
  // SSF 1.0 8.1.1.2: without stream_id, every stream of this receiver, as an array.
  return (await deps.streams.list())
    .filter((stream) => stream.clientId === receiver.clientId)
    .map((stream) => streamConfiguration(deps.config, stream));
}

/** Read, change, conditional write; a concurrent change makes us read again (a few times). */
async function changeStream(
  deps: SignalStreamDeps,
  receiver: Receiver,
  streamId: unknown,
  change: (current: SignalStream) => Promise<SignalStream>,
): Promise<{ before: SignalStream; after: SignalStream }> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const current = await ownStream(deps, receiver, streamId);
    const next = { ...(await change(current)), updatedAt: deps.clock.now().toISOString() };
    // Two writes in the same millisecond would share updatedAt; the condition must still tell them apart.
    const after = next.updatedAt === current.updatedAt ? { ...next, updatedAt: `${next.updatedAt}~` } : next;
    try {
      await deps.streams.replace(after, current.updatedAt);
      return { before: current, after };
    } catch (error) {
      if (!(error instanceof StreamChangedError)) throw error;
    }
  }
  throw new DependencyUnavailableError();
}

/** PATCH (update: only the members present change) and PUT (replace: every receiver-supplied member). */
export async function updateStream(
  deps: SignalStreamDeps,
  receiver: Receiver,
  request: StreamRequest,
  mode: 'update' | 'replace',
) {
  const { after } = await changeStream(deps, receiver, request.stream_id, async (current) => {
    checkTransmitterSupplied(deps.config, request, current);
    const replace = mode === 'replace';
    const requested =
      replace || request.events_requested !== undefined ? request.events_requested : current.eventsRequested;
    return {
      ...current,
      eventsRequested: requested,
      eventsDelivered: eventsDelivered(requested),
      delivery:
        replace || request.delivery !== undefined
          ? await deliveryOf(deps, request.delivery)
          : current.delivery,
      description: replace || request.description !== undefined ? request.description : current.description,
      subjectFormat: replace ? (request.format ?? 'iss_sub') : (request.format ?? current.subjectFormat),
    };
  });
  return streamConfiguration(deps.config, after);
}

export async function deleteStream(deps: SignalStreamDeps, receiver: Receiver, streamId: string | undefined) {
  const stream = await ownStream(deps, receiver, streamId);
  await deps.streams.delete(stream.streamId, receiver.clientId);
}

export async function readStatus(deps: SignalStreamDeps, receiver: Receiver, streamId: string | undefined) {
  const stream = await ownStream(deps, receiver, streamId);
  return statusOf(stream);
}

const statusOf = (stream: SignalStream) => ({
  stream_id: stream.streamId,
  status: stream.status,
  ...(stream.statusReason === undefined ? {} : { reason: stream.statusReason }),
});

/**
 * Enabled streams transmit; paused ones hold their SETs (7 days) and send them when enabled again; disabled ones
 * neither transmit nor hold (SSF 1.0 8.1.2), so disabling drops whatever was held.
 */
export async function updateStatus(
  deps: SignalStreamDeps,
  receiver: Receiver,
  request: { stream_id: string; status: StreamStatus; reason?: string | undefined },
) {
  const { before, after } = await changeStream(deps, receiver, request.stream_id, async (current) => ({
    ...current,
    status: request.status,
    statusReason: request.reason,
  }));
  if (after.delivery.method === PUSH_METHOD && after.status !== before.status) {
    if (after.status === 'enabled') await flushHeld(deps, after.streamId);
    if (after.status === 'disabled') await dropHeld(deps, after.streamId);
  } else if (after.status === 'disabled' && before.status !== 'disabled') {
    await dropHeld(deps, after.streamId);
  }
  return statusOf(after);
}

const FLUSH_PAGE = 100;

/** Held SETs of a push stream go to the delivery queue in event order, then leave the hold. */
async function flushHeld(deps: Pick<SignalStreamDeps, 'streams' | 'signalQueue'>, streamId: string) {
  for (;;) {
    const { sets } = await deps.streams.held(streamId, FLUSH_PAGE);
    if (sets.length === 0) return;
    await deps.signalQueue.enqueue(sets.map((held) => ({ streamId, jti: held.jti, set: held.set })));
    await deps.streams.release(
      streamId,
      sets.map((held) => held.jti),
    );
  }
}

async function dropHeld(deps: Pick<SignalStreamDeps, 'streams'>, streamId: string) {
  for (;;) {
    const { sets } = await deps.streams.held(streamId, FLUSH_PAGE);
    if (sets.length === 0) return;
    await deps.streams.release(
      streamId,
      sets.map((held) => held.jti),
    );
  }
}

/** POST verification_endpoint: one verification SET (SSF 1.0 8.1.4), at most one per min_verification_interval. */
export async function requestVerification(
  deps: SignalStreamDeps,
  receiver: Receiver,
  request: { stream_id: string; state?: string | undefined },
): Promise<void> {
  const stream = await ownStream(deps, receiver, request.stream_id);
  const nowMs = deps.clock.now().getTime();
  const intervalMs = deps.config.signals.minVerificationIntervalSeconds * 1000;
  if (!(await deps.streams.markVerification(stream.streamId, receiver.clientId, nowMs, intervalMs))) {
    throw new TooManyRequestsError(
      deps.config.signals.minVerificationIntervalSeconds,
      'Verification was requested too recently.',
    );
  }
  if (stream.status === 'disabled') return;
  const jti = randomJti(nowMs);
  const set = await deps.setSigner.sign({
    jti,
    audience: stream.audience,
    subject: { format: 'opaque', id: stream.streamId },
    eventType: VERIFICATION,
    payload: request.state === undefined ? {} : { state: request.state },
    subjectInEvent: false,
  });
  if (stream.delivery.method === PUSH_METHOD && stream.status === 'enabled')
    await deps.signalQueue.enqueue([{ streamId: stream.streamId, jti, set }]);
  else await deps.streams.hold(stream.streamId, [{ jti, set }], nowMs);
}

export interface PollRequest {
  readonly maxEvents?: number | undefined;
  readonly returnImmediately?: boolean | undefined;
  readonly ack?: readonly string[] | undefined;
  readonly setErrs?: Readonly<Record<string, { err: string; description?: string | undefined }>> | undefined;
}

/** How long a poll without `returnImmediately` waits for a first SET (RFC 8936 2.4: long polling). */
const LONG_POLL_MS = 10_000;
const LONG_POLL_STEP_MS = 500;
const DEFAULT_MAX_EVENTS = 100;

/**
 * RFC 8936: acknowledgements and errors first (each removes that SET from the stream), then up to `maxEvents`
 * SETs, oldest first. A SET stays until acknowledged, so a poll lost on the way is answered again by the next.
 */
export async function pollStream(
  deps: SignalStreamDeps & {
    readonly logger?: { warn(message: string, fields?: Record<string, unknown>): void };
  },
  receiver: Receiver,
  streamId: string,
  request: PollRequest,
) {
  const stream = await ownStream(deps, receiver, streamId);
  if (stream.delivery.method !== POLL_METHOD)
    throw new NotFoundError('This stream is not delivered by polling.');
  const errored = Object.entries(request.setErrs ?? {});
  for (const [jti, error] of errored) {
    deps.logger?.warn('receiver reported a SET error', { streamId, jti, err: error.err.slice(0, 64) });
  }
  const done = [...(request.ack ?? []), ...errored.map(([jti]) => jti)];
  if (done.length > 0) await deps.streams.release(streamId, done);
  // A paused or disabled stream transmits nothing (SSF 1.0 8.1.2); acknowledgements above still count.
  if (stream.status !== 'enabled') return { sets: {}, moreAvailable: false };
  const maxEvents = request.maxEvents ?? DEFAULT_MAX_EVENTS;
  if (maxEvents === 0)
    return { sets: {}, moreAvailable: (await deps.streams.held(streamId, 1)).sets.length > 0 };
  // RFC 8936 2.4: returnImmediately defaults to false, i.e. a long poll.
  const deadline = Date.now() + (request.returnImmediately === true ? 0 : LONG_POLL_MS);
  for (;;) {
    const page = await deps.streams.held(streamId, maxEvents);
    if (page.sets.length > 0 || Date.now() >= deadline) {
      return {
        sets: Object.fromEntries(page.sets.map((held) => [held.jti, held.set])),
        moreAvailable: page.moreAvailable,
      };
    }
    await new Promise((resolve) => setTimeout(resolve, LONG_POLL_STEP_MS));
  }
}
