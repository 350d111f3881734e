import { S3Client } from '@aws-sdk/client-s3';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { z } from 'zod';
import { createAwsClients } from '../shared/aws/clients.js';
import { createS3ImportSource } from '../shared/aws/s3-import-source.js';
import { argon2Hasher } from '../shared/composition/passwords.js';
import { DynamoDbImportJobsStore, ImportJobTakenOverError } from '../shared/stores/import-jobs-store.js';
import { runImportJob } from '../shared/use-cases/run-import-job.js';
import { createDepsLoader, logger } from './commons/runtime.js';

/** Only the optional adapters this function's routes use (shared/composition/compose.ts). */
const getDeps = createDepsLoader({ hasher: argon2Hasher });

const s3 = new S3Client({});
const sqs = new SQSClient({});
/** Stop starting batches a minute before Lambda's limit: a batch of wrapped digests takes seconds. */
const SAFETY_MARGIN_MS = 60_000;
/** Keys under this prefix mark every imported password account for a forced reset (a breached export). */
const MUST_RESET_PREFIX = 'must-reset-password/';

const s3Event = z.object({
  Records: z.array(
    z.object({
      s3: z.object({
        bucket: z.object({ name: z.string() }),
        object: z.object({ key: z.string(), eTag: z.string() }),
      }),
    }),
  ),
});
const continuation = z.object({
  type: z.literal('import-continue'),
  bucket: z.string(),
  key: z.string(),
  etag: z.string(),
});

/** The jobs a queue message names: an S3 event (keys are URL-encoded, spaces as '+') or our own continuation. */
export function jobsOf(body: string): { bucket: string; key: string; etag: string }[] {
  const json = JSON.parse(body) as unknown;
  const next = continuation.safeParse(json);
  if (next.success) return [{ bucket: next.data.bucket, key: next.data.key, etag: next.data.etag }];
  const event = s3Event.safeParse(json);
  // S3's test event on setup, or anything else: nothing to import.
  if (!event.success) return [];
  return event.data.Records.map(({ s3: record }) => ({
    bucket: record.bucket.name,
    key: decodeURIComponent(record.object.key.replace(/\+/g, ' ')),
    etag: record.object.eTag,
  }));
}

let jobsStore: DynamoDbImportJobsStore | undefined;

/**
 * SQS (batch size 1) -> one import job run. Out of time, the job queues its continuation and this message
 * is done; a failure leaves the message to be retried (resuming from the checkpoint) and then the DLQ.
 */
export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  const deps = await getDeps();
  jobsStore ??= new DynamoDbImportJobsStore(
    createAwsClients(deps.config).dynamodb,
    deps.config.tables.records,
  );
  const failures: SQSBatchResponse['batchItemFailures'] = [];
  for (const record of event.Records) {
    try {
      for (const location of jobsOf(record.body)) {
        const outcome = await runImportJob(
          {
            ...deps,
            source: createS3ImportSource(s3),
            jobs: jobsStore,
            logRejected: (entry) => logger.warn('import row rejected', { key: location.key, ...entry }),
          },
          location,
          {
            remainingMs: () => context.getRemainingTimeInMillis(),
            safetyMarginMs: SAFETY_MARGIN_MS,
            mustResetPassword: location.key.startsWith(MUST_RESET_PREFIX),
          },
        );
        logger.info('import job progress', {
          key: location.key,
          status: outcome.status,
          ...outcome.state.counts,
        });
        if (outcome.status === 'continue') {
          await sqs.send(
            new SendMessageCommand({
              QueueUrl: deps.config.importQueueUrl,
              MessageBody: JSON.stringify({ type: 'import-continue', ...location }),
            }),
          );
        }
      }
    } catch (error) {
      if (error instanceof ImportJobTakenOverError) {
        logger.info('import job is held by another worker', { messageId: record.messageId });
        continue;
      }
      logger.error('import job failed; the message will be retried', { messageId: record.messageId, error });
      failures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures: failures };
};
