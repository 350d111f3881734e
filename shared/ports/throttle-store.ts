/** Rate-limit counters for requests and mail; checks of secrets use the attempt limiter (AttemptCounters). */
export interface ThrottleStore {
  /** Adds one and returns the new count. */
  increment(scope: string, key: string, windowSeconds: number, nowMs: number): Promise<number>;
  /**
   * Takes one slot if fewer than `limit` were taken in this window: one conditional write, so
   * concurrent callers cannot exceed the limit. Returns false when the limit is reached.
   */
  tryTake(scope: string, key: string, limit: number, windowSeconds: number, nowMs: number): Promise<boolean>;
  /** Gives back a slot taken by tryTake (the attempt turned out to be a right one); best effort. */
  giveBack(scope: string, key: string, windowSeconds: number, nowMs: number): Promise<void>;
  /** Whether a sliding-window limit has room, without taking anything. */
  hasRoomSliding(
    scope: string,
    key: string,
    limit: number,
    windowSeconds: number,
    nowMs: number,
  ): Promise<boolean>;
  /**
   * Sliding-window limit ("at most `limit` in any `windowSeconds`"), for mail limits where a fixed
   * window would let twice the limit through around a window boundary. The item keeps the recent
   * timestamps and a version; the write is conditional on the version read (optimistic locking).
   */
  tryTakeSliding(
    scope: string,
    key: string,
    limit: number,
    windowSeconds: number,
    nowMs: number,
  ): Promise<boolean>;
}
