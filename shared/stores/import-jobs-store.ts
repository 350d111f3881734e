import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { isConditionFailure } from '../aws/dynamodb-errors.js';
import type { ImportJobState, ImportJobsStore } from '../ports/import-jobs-store.js';
import type { ImportObjectLocation } from '../ports/import-object-source.js';

/** Thrown when another worker moved the same job on first (a duplicated queue message): stop, it carries on. */
export class ImportJobTakenOverError extends Error {
  override readonly name = 'ImportJobTakenOverError';
}

/** Import job checkpoints in the records table, one item per object version (pk `import-job#<bucket>/<key>#<etag>`). */
export class DynamoDbImportJobsStore implements ImportJobsStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  private key(location: ImportObjectLocation) {
    return { pk: `import-job#${location.bucket}/${location.key}#${location.etag}`, sk: 'job' };
  }

  async get(location: ImportObjectLocation): Promise<ImportJobState | undefined> {
    const result = await this.db.send(
      new GetCommand({ TableName: this.table, Key: this.key(location), ConsistentRead: true }),
    );
    if (!result.Item) return undefined;
    const { pk: _pk, sk: _sk, ...state } = result.Item;
    return state as ImportJobState;
  }

  /**
   * Saves the checkpoint only if nobody else moved it since `previousBatch`: two workers holding the same
   * job (SQS delivers at least once) cannot both advance it.
   */
  async save(
    location: ImportObjectLocation,
    state: ImportJobState,
    previousBatch: number | undefined,
  ): Promise<void> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: { ...this.key(location), ...state },
          ConditionExpression:
            previousBatch === undefined ? 'attribute_not_exists(pk)' : '#next.#batch = :previous',
          ...(previousBatch === undefined
            ? {}
            : {
                ExpressionAttributeNames: { '#next': 'next', '#batch': 'batch' },
                ExpressionAttributeValues: { ':previous': previousBatch },
              }),
        }),
      );
    } catch (error) {
      if (isConditionFailure(error))
        throw new ImportJobTakenOverError('another worker holds this import job');
      throw error;
    }
  }
}
