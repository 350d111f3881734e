import { z } from 'zod';

/** Event type URIs and ids are short; the limits keep a stream item far below DynamoDB's 400 KB. */
const uri = z.string().min(1).max(256);
const MAX_EVENT_TYPES = 20;

/** SSF 1.0 8.1.1 stream configuration as a receiver sends it (POST create, PATCH update, PUT replace). */
export const streamConfigurationBody = z.strictObject({
  stream_id: z.string().min(1).max(64).optional(),
  iss: z.string().max(512).optional(),
  aud: z.union([z.string().max(512), z.array(z.string().max(512)).max(10)]).optional(),
  events_supported: z.array(uri).max(MAX_EVENT_TYPES).optional(),
  events_requested: z.array(uri).max(MAX_EVENT_TYPES).optional(),
  events_delivered: z.array(uri).max(MAX_EVENT_TYPES).optional(),
  delivery: z
    .strictObject({
      method: uri,
      endpoint_url: z.string().min(1).max(2048).optional(),
      /** RFC 8935 push: the value we send as `authorization` with every SET (the receiver's own credential). */
      authorization_header: z.string().min(1).max(4096).optional(),
    })
    .optional(),
  description: z.string().max(256).optional(),
  min_verification_interval: z.number().int().min(0).optional(),
  inactivity_timeout: z.number().int().min(0).optional(),
  /** Subject format of this stream's SETs (RFC 9493): `iss_sub` (default) or `email`. */
  format: z.enum(['iss_sub', 'email']).optional(),
});

export const streamStatusBody = z.strictObject({
  stream_id: z.string().min(1).max(64),
  status: z.enum(['enabled', 'paused', 'disabled']),
  reason: z.string().max(256).optional(),
});

export const verificationBody = z.strictObject({
  stream_id: z.string().min(1).max(64),
  state: z.string().max(256).optional(),
});

const jti = z.string().min(1).max(64);

/** RFC 8936 2.1 poll request. */
export const pollBody = z.strictObject({
  maxEvents: z.number().int().min(0).max(100).optional(),
  returnImmediately: z.boolean().optional(),
  ack: z.array(jti).max(100).optional(),
  setErrs: z
    .record(
      jti,
      z.strictObject({ err: z.string().min(1).max(64), description: z.string().max(256).optional() }),
    )
    .optional(),
});
