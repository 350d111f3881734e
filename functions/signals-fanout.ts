import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { Context, DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { createAwsClients } from '../shared/aws/clients.js';
import { loadConfig } from '../shared/config.js';
import { invocationLogger, runInvocation } from '../shared/logging.js';
import { DynamoDbUsersStore } from '../shared/stores/users-store.js';
import { fanOutSecurityEvents, type StreamedSecurityEvent } from '../shared/use-cases/fan-out-signals.js';
import { logger } from './commons/runtime.js';
import { getSignalDeps } from './commons/signals-runtime.js';

const log = invocationLogger(logger);
const EVENTS_PREFIX = 'events#';

let users: DynamoDbUsersStore | undefined;
function usersStore(): DynamoDbUsersStore {
  if (!users) {
    const config = loadConfig(process.env);
    users = new DynamoDbUsersStore(createAwsClients(config).dynamodb, config.tables);
  }
  return users;
}

/** The security events among the stream's records (the event source's filter already keeps only `events#` inserts). */
export function securityEventsOf(event: DynamoDBStreamEvent): StreamedSecurityEvent[] {
  return event.Records.flatMap((record) => {
    const image = record.dynamodb?.NewImage;
    if (record.eventName !== 'INSERT' || !image) return [];
    const item = unmarshall(image as Record<string, AttributeValue>);
    const pk = String(item['pk'] ?? '');
    if (!pk.startsWith(EVENTS_PREFIX) || typeof item['type'] !== 'string' || typeof item['at'] !== 'string')
      return [];
    return [
      {
        key: `${pk}|${String(item['sk'])}`,
        userId: pk.slice(EVENTS_PREFIX.length),
        type: item['type'],
        at: item['at'],
        detail: (item['detail'] as Record<string, unknown> | undefined) ?? {},
      },
    ];
  });
}

/**
 * Records-table stream -> one SET per (event, stream). A failed batch is retried whole by the event source
 * (bisected on AWS), which is safe: SETs keep their jti, held SETs are overwritten in place.
 */
export const handler = (event: DynamoDBStreamEvent, context: Context): Promise<DynamoDBBatchResponse> =>
  runInvocation(logger, context, async () => {
    const events = securityEventsOf(event);
    if (events.length === 0) return { batchItemFailures: [] };
    const signals = await getSignalDeps();
    const config = loadConfig(process.env);
    const result = await fanOutSecurityEvents(
      {
        issuer: config.jwt.issuer.replace(/\/+$/, ''),
        now: Date.now,
        streams: signals.streams,
        users: usersStore(),
        setSigner: signals.setSigner,
        signalQueue: signals.signalQueue,
      },
      events,
    );
    log.info('security events fanned out', { events: events.length, ...result });
    return { batchItemFailures: [] };
  });
