/**
 * Records every command an AWS SDK client sends (SDK middleware at the initialize step: once per command, whatever
 * its retries), with its start and end, so a caller can tell how many round trips an action waited on one after
 * another, not only how many it sent. Used by the bench (bench/auth.ts) and by the equal-work test of sign-in.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';

export interface RecordedRequest {
  readonly command: string;
  readonly startedAt: number;
  readonly endedAt: number;
}

export interface RequestRecorder {
  readonly requests: readonly RecordedRequest[];
  reset(): void;
  /** Commands sent since the last reset, by name (e.g. `GetItemCommand: 2`). */
  countsByCommand(): Record<string, number>;
  /** The longest chain of requests each of which started only after the one before it had ended. */
  sequentialDepth(): number;
}

export function recordRequests(
  client: Pick<DynamoDBClient, 'middlewareStack'>,
  name = 'requestRecorder',
): RequestRecorder {
  const requests: RecordedRequest[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const startedAt = performance.now();
      try {
        return await next(args);
      } finally {
        requests.push({ command: context.commandName ?? 'unknown', startedAt, endedAt: performance.now() });
      }
    },
    { step: 'initialize', name },
  );
  return {
    requests,
    reset: () => {
      requests.length = 0;
    },
    countsByCommand: () => {
      const counts: Record<string, number> = {};
      for (const request of requests) counts[request.command] = (counts[request.command] ?? 0) + 1;
      return counts;
    },
    sequentialDepth: () => sequentialDepth(requests),
  };
}

/** Longest chain of non-overlapping requests (each starts at or after the previous one's end). */
export function sequentialDepth(requests: readonly Pick<RecordedRequest, 'startedAt' | 'endedAt'>[]): number {
  const byStart = [...requests].sort((a, b) => a.startedAt - b.startedAt);
  const depth: number[] = [];
  let longest = 0;
  byStart.forEach((request, i) => {
    let before = 0;
    for (let j = 0; j < i; j += 1) {
      if (byStart[j]!.endedAt <= request.startedAt) before = Math.max(before, depth[j]!);
    }
    depth[i] = before + 1;
    longest = Math.max(longest, depth[i]!);
  });
  return longest;
}
