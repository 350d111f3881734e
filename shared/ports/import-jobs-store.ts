import type { ResumePoint } from '../domain/import-file.js';
import type { ImportObjectLocation } from './import-object-source.js';

export interface ImportJobCounts {
  readonly created: number;
  readonly exists: number;
  readonly rejected: number;
}

/** The checkpoint of one S3 import job: every batch before `next.batch` is done. */
export interface ImportJobState {
  readonly next: ResumePoint & { readonly batch: number };
  readonly csvHeader?: readonly string[];
  readonly counts: ImportJobCounts;
  readonly status: 'running' | 'complete';
  readonly updatedAt: string;
}

export const INITIAL_IMPORT_JOB: ImportJobState = {
  next: { batch: 0, offset: 0, line: 1 },
  counts: { created: 0, exists: 0, rejected: 0 },
  status: 'running',
  updatedAt: new Date(0).toISOString(),
};

/** Checkpoints of S3 import jobs, one per object version. */
export interface ImportJobsStore {
  get(location: ImportObjectLocation): Promise<ImportJobState | undefined>;
  /**
   * Saves the checkpoint only if nobody else moved it since `previousBatch`: two workers holding the same
   * job (SQS delivers at least once) cannot both advance it.
   */
  save(
    location: ImportObjectLocation,
    state: ImportJobState,
    previousBatch: number | undefined,
  ): Promise<void>;
}
