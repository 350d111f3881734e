import { createArgon2Hasher } from '../../shared/crypto/password-hasher.js';
import { identifierGuardKeys } from '../../shared/domain/identifiers.js';
import type { UserRecord } from '../../shared/domain/user.js';
import type { ImportJobState } from '../../shared/ports/import-jobs-store.js';
import type { ImportObjectLocation, ImportObjectSource } from '../../shared/ports/import-object-source.js';
import type { ImportWriteOutcome } from '../../shared/ports/users-store.js';
import { ImportJobTakenOverError } from '../../shared/stores/import-jobs-store.js';
import { type ImportJobDeps, runImportJob } from '../../shared/use-cases/run-import-job.js';

/** An S3 object in memory, served in small chunks from any offset (like a Range GET), recording the offsets. */
function fakeSource(text: string): ImportObjectSource & { offsets: number[] } {
  const bytes = Buffer.from(text, 'utf8');
  const offsets: number[] = [];
  return {
    offsets,
    async *read(_location, offset) {
      offsets.push(offset);
      for (let at = offset; at < bytes.length; at += 777)
        yield bytes.subarray(at, Math.min(at + 777, bytes.length));
    },
  };
}

/** Users with the same guard semantics as the DynamoDB store: an identifier that exists makes the row `exists`. */
function fakeUsers() {
  const guards = new Map<string, string>();
  const users: UserRecord[] = [];
  return {
    users,
    async importMany(records: readonly UserRecord[]): Promise<ImportWriteOutcome[]> {
      return records.map((record) => {
        const keys = identifierGuardKeys(record);
        if (keys.some((key) => guards.has(key))) return 'exists';
        for (const key of keys) guards.set(key, record.userId);
        users.push(record);
        return 'created';
      });
    },
  };
}

function fakeJobs(options: { failSaveAfterBatch?: number } = {}) {
  let stored: ImportJobState | undefined;
  let failed = false;
  return {
    get current() {
      return stored;
    },
    async get() {
      return stored && (JSON.parse(JSON.stringify(stored)) as ImportJobState);
    },
    async save(_location: ImportObjectLocation, state: ImportJobState, previousBatch: number | undefined) {
      if ((stored?.next.batch ?? undefined) !== previousBatch) throw new ImportJobTakenOverError('taken');
      if (
        !failed &&
        options.failSaveAfterBatch !== undefined &&
        state.next.batch === options.failSaveAfterBatch + 1
      ) {
        failed = true;
        throw new Error('the Lambda died before the checkpoint was saved');
      }
      stored = state;
    },
  };
}

const location = { bucket: 'imports', key: 'users.jsonl', etag: 'abc' };
const clock = { now: () => new Date('2026-12-03T09:00:00Z') };
const hasher = createArgon2Hasher({ memoryCost: 19456, timeCost: 2, parallelism: 1 });
const jsonl = (count: number) =>
  Array.from({ length: count }, (_, i) =>
    i === 10
      ? 'not json'
      : JSON.stringify({ email: `user${i}@example.test`, authMethod: 'sso', externalId: `x${i}` }),
  ).join('\n');

function depsFor(source: ImportObjectSource, jobs: ReturnType<typeof fakeJobs>, users = fakeUsers()) {
  const rejected: { line: number; error: string }[] = [];
  const deps = {
    users,
    hasher,
    clock,
    source,
    jobs,
    logRejected: (entry: { line: number; error: string }) => rejected.push(entry),
  } as unknown as ImportJobDeps;
  return { deps, rejected, users };
}

describe('S3 import job (worker use-case)', () => {
  it('imports the whole object in batches of 500 and records where it ended', async () => {
    const source = fakeSource(jsonl(1200));
    const jobs = fakeJobs();
    const { deps, rejected, users } = depsFor(source, jobs);
    const outcome = await runImportJob(deps, location, { remainingMs: () => 60_000, safetyMarginMs: 5_000 });
    expect(outcome.status).toBe('complete');
    expect(outcome.state.counts).toEqual({ created: 1199, exists: 0, rejected: 1 });
    expect(outcome.state.next.batch).toBe(3);
    expect(users.users).toHaveLength(1199);
    expect(rejected).toEqual([{ line: 11, error: 'unreadable', message: 'Not valid JSON.' }]);
  });

  it('stops before its deadline and resumes from the byte offset of the checkpoint, without duplicates', async () => {
    const source = fakeSource(jsonl(1200));
    const jobs = fakeJobs();
    const users = fakeUsers();
    const { deps } = depsFor(source, jobs, users);
    let remaining = 60_000;
    const first = await runImportJob(deps, location, {
      remainingMs: () => (remaining -= 30_000),
      safetyMarginMs: 10_000,
    });
    expect(first.status).toBe('continue');
    expect(first.state.next.batch).toBe(2);
    const resumed = await runImportJob(deps, location, { remainingMs: () => 60_000, safetyMarginMs: 10_000 });
    expect(resumed.status).toBe('complete');
    expect(source.offsets).toEqual([0, first.state.next.offset]);
    expect(first.state.next.offset).toBeGreaterThan(0);
    expect(resumed.state.counts).toEqual({ created: 1199, exists: 0, rejected: 1 });
    expect(new Set(users.users.map((u) => u.email)).size).toBe(1199);
    // A message delivered again after completion does nothing.
    const again = await runImportJob(deps, location, { remainingMs: () => 60_000, safetyMarginMs: 10_000 });
    expect(again.status).toBe('complete');
    expect(source.offsets).toHaveLength(2);
  });

  it('redoes a batch whose checkpoint was lost: its rows answer exists, nothing is created twice', async () => {
    const source = fakeSource(jsonl(1200));
    const jobs = fakeJobs({ failSaveAfterBatch: 1 });
    const users = fakeUsers();
    const { deps } = depsFor(source, jobs, users);
    await expect(
      runImportJob(deps, location, { remainingMs: () => 60_000, safetyMarginMs: 5_000 }),
    ).rejects.toThrow('died');
    expect(jobs.current?.next.batch).toBe(1);
    const resumed = await runImportJob(deps, location, { remainingMs: () => 60_000, safetyMarginMs: 5_000 });
    expect(resumed.status).toBe('complete');
    expect(users.users).toHaveLength(1199);
    expect(resumed.state.counts.exists).toBe(500);
    // Batch 0 (500) before the crash, batch 1 redone as `exists`, batch 2 (199) after.
    expect(resumed.state.counts.created).toBe(699);
  });

  it('carries the CSV header across a resume', async () => {
    const csv = [
      'email,authMethod,externalId',
      ...Array.from({ length: 700 }, (_, i) => `c${i}@example.test,sso,c${i}`),
    ].join('\n');
    const source = fakeSource(csv);
    const jobs = fakeJobs();
    const users = fakeUsers();
    const { deps } = depsFor(source, jobs, users);
    let calls = 0;
    const csvLocation = { ...location, key: 'users.csv' };
    const first = await runImportJob(deps, csvLocation, {
      remainingMs: () => (calls++ === 0 ? 0 : 60_000),
      safetyMarginMs: 1,
    });
    expect(first.status).toBe('continue');
    expect(first.state.csvHeader).toEqual(['email', 'authMethod', 'externalId']);
    const second = await runImportJob(deps, csvLocation, { remainingMs: () => 60_000, safetyMarginMs: 1 });
    expect(second.state.counts).toEqual({ created: 700, exists: 0, rejected: 0 });
    expect(users.users.at(-1)?.externalId).toBe('c699');
  });

  it('a second worker holding the same job stops instead of advancing it twice', async () => {
    const source = fakeSource(jsonl(600));
    const jobs = fakeJobs();
    const { deps } = depsFor(source, jobs);
    const original = jobs.save.bind(jobs);
    let sneaked = false;
    jobs.save = async (loc, state, previous) => {
      if (!sneaked) {
        sneaked = true;
        await original(loc, { ...state, next: { ...state.next, batch: 7 } }, previous);
      }
      return original(loc, state, previous);
    };
    await expect(
      runImportJob(deps, location, { remainingMs: () => 60_000, safetyMarginMs: 5_000 }),
    ).rejects.toBeInstanceOf(ImportJobTakenOverError);
  });
});

describe('import worker messages', () => {
  it('reads S3 event notifications (URL-encoded keys) and its own continuations, and ignores S3 test events', async () => {
    const { jobsOf } = await import('../../functions/import-worker.js');
    const s3Event = {
      Records: [
        {
          eventSource: 'aws:s3',
          s3: {
            bucket: { name: 'account-shield-imports' },
            object: { key: 'must-reset-password/breach+2026%2B1.csv', size: 1024, eTag: 'd41d8cd9' },
          },
        },
      ],
    };
    expect(jobsOf(JSON.stringify(s3Event))).toEqual([
      { bucket: 'account-shield-imports', key: 'must-reset-password/breach 2026+1.csv', etag: 'd41d8cd9' },
    ]);
    const next = { type: 'import-continue', bucket: 'b', key: 'users.jsonl', etag: 'e' };
    expect(jobsOf(JSON.stringify(next))).toEqual([{ bucket: 'b', key: 'users.jsonl', etag: 'e' }]);
    expect(jobsOf(JSON.stringify({ Service: 'Amazon S3', Event: 's3:TestEvent' }))).toEqual([]);
  });
});
