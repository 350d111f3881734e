import type { DeliveryMethod, StreamStatus, SubjectFormat } from '../domain/security-signals.js';

/** One SSF event stream: the receiver (an OAuth client) that owns it and how its SETs reach it. */
export interface SignalStream {
  readonly streamId: string;
  /** The confidential client that created it; only that client may read or change it. */
  readonly clientId: string;
  /** The SETs' `aud` (the receiver's client id). */
  readonly audience: string;
  readonly eventsRequested: readonly string[] | undefined;
  readonly eventsDelivered: readonly string[];
  readonly delivery: {
    readonly method: DeliveryMethod;
    /** Push: the receiver's endpoint. Poll: ours (built from the stream id, not stored). */
    readonly endpointUrl?: string;
    /** Push: sent as the `authorization` header of each delivery (RFC 8935 2.1); never shown back. */
    readonly authorizationHeader?: string;
  };
  readonly subjectFormat: SubjectFormat;
  readonly description: string | undefined;
  readonly status: StreamStatus;
  readonly statusReason: string | undefined;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** Epoch ms of the last verification request (min_verification_interval). */
  readonly lastVerificationAtMs: number;
}

/** A signed SET waiting for a poll (RFC 8936) or for a paused push stream to be enabled again. */
export interface HeldSet {
  readonly jti: string;
  readonly set: string;
}

/** Another request changed the stream between our read and write; the receiver may retry. */
export class StreamChangedError extends Error {
  override readonly name = 'StreamChangedError';
}

/** SSF event streams and their held SETs (docs/adr/0011-security-signals.md). */
export interface SignalStreamsStore {
  create(stream: SignalStream): Promise<void>;
  get(streamId: string): Promise<SignalStream | undefined>;
  list(): Promise<SignalStream[]>;
  /**
   * Replaces a stream only while it still belongs to `clientId` and was last written at `expectedUpdatedAt`: two
   * concurrent PATCHes cannot both win, and a stream deleted meanwhile is not brought back.
   */
  replace(stream: SignalStream, expectedUpdatedAt: string): Promise<void>;
  delete(streamId: string, clientId: string): Promise<void>;
  /**
   * Records a verification request unless the previous one is younger than `minIntervalMs` (SSF 1.0
   * min_verification_interval): one conditional write, so concurrent requests cannot both pass.
   */
  markVerification(
    streamId: string,
    clientId: string,
    nowMs: number,
    minIntervalMs: number,
  ): Promise<boolean>;
  hold(streamId: string, sets: readonly HeldSet[], nowMs: number): Promise<void>;
  /** Oldest first (jti sort order is creation order, see the SET builder), at most `limit`. */
  held(
    streamId: string,
    limit: number,
  ): Promise<{
    sets: HeldSet[];
    moreAvailable: boolean;
  }>;
  /** Acknowledged (or moved to the push queue): each jti is one delete; unknown ones are ignored. */
  release(streamId: string, jtis: readonly string[]): Promise<void>;
}
