/**
 * Issue 12 benchmark: bulk user import through the import use-case (the same code the HTTP route and the
 * S3 worker run), against DynamoDB Local:
 * - users imported per second, for slow hashes kept as they are (bcrypt) and for fast digests wrapped in
 *   argon2id at import (CPU-bound: one argon2id hash per row);
 * - DynamoDB requests per imported user (target <= 0.1);
 * - a 30M-account projection next to Cognito's options. The emulator is the floor, not DynamoDB: on AWS the
 *   write path scales with concurrent batches until the table's write capacity.
 */
import { createHash, randomBytes } from 'node:crypto';
import bcrypt from 'bcryptjs';
import { importUsers } from '../shared/use-cases/import-users.js';
import { type BenchStack, round } from './support/bench-stack.js';

const ACCOUNTS_30M = 30_000_000;
/** Cognito quotas (AdminCreateUser is in the "UserCreation" category): 50 requests/s by default. Re-check. */
const COGNITO_USER_CREATION_RPS = 50;

async function run(
  stack: BenchStack,
  label: string,
  makeRow: (i: number) => unknown,
  options: { batches: number; concurrency: number },
) {
  const { deps, meter } = stack;
  const batches = Array.from({ length: options.batches }, (_, b) =>
    Array.from({ length: 500 }, (_, i) => makeRow(b * 500 + i)),
  );
  meter.reset();
  const started = performance.now();
  let created = 0;
  let next = 0;
  await Promise.all(
    Array.from({ length: options.concurrency }, async () => {
      while (next < batches.length) {
        const batch = batches[next]!;
        next += 1;
        const results = await importUsers(deps, { users: batch });
        created += results.filter((r) => r.status === 'created').length;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const usersPerSecond = created / seconds;
  return {
    label,
    users: created,
    batchesInFlight: options.concurrency,
    seconds: round(seconds, 1),
    usersPerSecond: round(usersPerSecond, 0),
    dynamodbRequestsPerUser: round(meter.total('dynamodb') / created, 4),
    target: '<= 0.1 DynamoDB requests per user',
    projection30MHours: round(ACCOUNTS_30M / usersPerSecond / 3600, 1),
  };
}

export async function runUserImportBenchmark(stack: BenchStack) {
  const tag = randomBytes(3).toString('hex');
  // One bcrypt hash reused: the import keeps slow hashes as they are, so their cost is not on this path.
  const bcryptHash = bcrypt.hashSync('bench-password', 10);
  const slow = await run(
    stack,
    'bcrypt rows (kept as they are)',
    (i) => ({
      email: `imp-${tag}-${i}@example.test`,
      externalId: `legacy-${tag}-${i}`,
      authMethod: 'password',
      passwordHash: bcryptHash,
    }),
    { batches: 10, concurrency: 2 },
  );
  const wrapped = await run(
    stack,
    'salted SHA-1 rows (wrapped in argon2id at import)',
    (i) => ({
      email: `wrap-${tag}-${i}@example.test`,
      authMethod: 'password',
      passwordHash: {
        algorithm: 'sha1',
        hash: createHash('sha1').update(`salt${i}password`).digest('hex'),
        salt: `salt${i}`,
      },
    }),
    { batches: 1, concurrency: 1 },
  );
  return {
    slowHashes: slow,
    wrappedDigests: wrapped,
    cognitoComparison: {
      perUserAdminCalls: {
        note: `AdminCreateUser at the default ${COGNITO_USER_CREATION_RPS} requests/s (Cognito quotas, "UserCreation" category)`,
        projection30MHours: round(ACCOUNTS_30M / COGNITO_USER_CREATION_RPS / 3600, 1),
      },
      userImportJobs:
        'CSV import jobs import no password hashes: every imported user is RESET_REQUIRED (Cognito developer guide, "Importing users into user pools from a CSV file"); file-size and rows-per-job limits apply',
      source:
        'docs.aws.amazon.com/cognito/latest/developerguide (limits/quotas pages and the CSV import guide), as read on 2026-12-03: must be re-checked before quoting',
    },
  };
}
