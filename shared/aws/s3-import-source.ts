import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ImportObjectSource } from '../ports/import-object-source.js';

/**
 * Reads an import file from S3 from a byte offset (Range), pinned to the ETag the job started with: a file
 * replaced under the same key fails the read (412) instead of mixing two files in one job.
 */
export function createS3ImportSource(s3: S3Client): ImportObjectSource {
  return {
    async *read(location, offset) {
      let body: AsyncIterable<Uint8Array>;
      try {
        const result = await s3.send(
          new GetObjectCommand({
            Bucket: location.bucket,
            Key: location.key,
            IfMatch: location.etag,
            ...(offset > 0 ? { Range: `bytes=${offset}-` } : {}),
          }),
        );
        body = result.Body as AsyncIterable<Uint8Array>;
      } catch (error) {
        // A checkpoint at the very end of the object: nothing is left to read.
        if ((error as { name?: string }).name === 'InvalidRange') return;
        throw error;
      }
      yield* body;
    },
  };
}
