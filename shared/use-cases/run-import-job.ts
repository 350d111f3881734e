import { batchEntries, type ImportFileFormat, readImportEntries, splitLines } from '../domain/import-file.js';
import { type ImportJobState, type ImportJobsStore, INITIAL_IMPORT_JOB } from '../ports/import-jobs-store.js';
import type { ImportObjectLocation, ImportObjectSource } from '../ports/import-object-source.js';
import type { Deps } from './deps.js';
import { importUsers } from './import-users.js';

export interface ImportJobDeps extends Pick<Deps, 'users' | 'hasher' | 'clock'> {
  readonly source: ImportObjectSource;
  readonly jobs: Pick<ImportJobsStore, 'get' | 'save'>;
  /** One line per rejected row (line number, error code and message: never the row, it holds a hash). */
  readonly logRejected: (entry: { line: number; error: string; message: string }) => void;
}

export interface ImportJobOptions {
  /** Milliseconds left before the Lambda's timeout. */
  readonly remainingMs: () => number;
  /** Stop starting batches when less than this is left (a batch of wrapped digests takes seconds). */
  readonly safetyMarginMs: number;
  readonly mustResetPassword?: boolean;
}

export type ImportJobOutcome =
  | { readonly status: 'complete'; readonly state: ImportJobState }
  /** Out of time: the caller queues the job again and the next run resumes from the checkpoint. */
  | { readonly status: 'continue'; readonly state: ImportJobState };

export function formatOf(key: string): ImportFileFormat {
  return key.toLowerCase().endsWith('.csv') ? 'csv' : 'jsonl';
}

/**
 * The S3 import job: streams the object from its checkpoint (byte offset and line of the first unfinished
 * batch), imports batch after batch with the same use-case as the HTTP route, and saves the checkpoint after
 * each one. Batches are cut exactly as the CLI cuts them, so a batch redone after a crash answers `exists`
 * for its rows that had landed: nothing is created twice.
 */
export async function runImportJob(
  deps: ImportJobDeps,
  location: ImportObjectLocation,
  options: ImportJobOptions,
): Promise<ImportJobOutcome> {
  const saved = await deps.jobs.get(location);
  let state: ImportJobState = saved ?? INITIAL_IMPORT_JOB;
  if (state.status === 'complete') return { status: 'complete', state };
  let previousBatch: number | undefined = saved?.next.batch;
  let header = state.csvHeader;
  const entries = readImportEntries(
    splitLines(deps.source.read(location, state.next.offset), state.next),
    formatOf(location.key),
    header,
  );
  const batches = batchEntries(entries, {
    firstBatch: state.next.batch,
    onHeader: (fields) => {
      header = fields;
    },
  });
  for await (const batch of batches) {
    const results = await importUsers(deps, {
      users: batch.rows.map((r) => r.row),
      ...(options.mustResetPassword ? { mustResetPassword: true } : {}),
    });
    const counts = { ...state.counts };
    for (const u of batch.unreadable) {
      deps.logRejected({ line: u.line, error: 'unreadable', message: u.error });
      counts.rejected += 1;
    }
    results.forEach((result, position) => {
      if (result.status === 'created') counts.created += 1;
      else if (result.status === 'exists') counts.exists += 1;
      else {
        counts.rejected += 1;
        deps.logRejected({
          line: batch.rows[position]?.line ?? 0,
          error: result.error,
          message: result.message,
        });
      }
    });
    state = {
      next: { batch: batch.number + 1, ...batch.next },
      ...(header ? { csvHeader: header } : {}),
      counts,
      status: 'running',
      updatedAt: deps.clock.now().toISOString(),
    };
    await deps.jobs.save(location, state, previousBatch);
    previousBatch = state.next.batch;
    if (options.remainingMs() < options.safetyMarginMs) return { status: 'continue', state };
  }
  state = { ...state, status: 'complete', updatedAt: deps.clock.now().toISOString() };
  await deps.jobs.save(location, state, previousBatch);
  return { status: 'complete', state };
}
