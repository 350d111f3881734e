import { randomUUID } from 'node:crypto';
import {
  CreateEventBusCommand,
  EventBridgeClient,
  PutRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { Context, DynamoDBStreamEvent } from 'aws-lambda';
import { createEventBridgeSecurityEventBus } from '../../shared/aws/eventbridge-security-event-bus.js';
import { BUS_EVENT_SOURCE, toSecurityBusEvent } from '../../shared/domain/security-bus-events.js';
import type { SecurityEvent } from '../../shared/domain/security-event.js';
import type { Logger } from '../../shared/ports/logger.js';
import { DynamoDbSecurityEventsStore } from '../../shared/stores/security-events-store.js';
import { publishSecurityEvents } from '../../shared/use-cases/publish-security-events.js';
import { type MotoServer, startMotoServer } from '../support/moto-server.js';

/**
 * The publisher against moto's EventBridge: a rule on the bus forwards every account-shield event to an SQS
 * queue, as an internal consumer would subscribe, and the test reads back what arrived.
 */
let moto: MotoServer;
let eventBridge: EventBridgeClient;
let sqs: SQSClient;
let handler: (event: DynamoDBStreamEvent, context: Context) => Promise<{ batchItemFailures: unknown[] }>;
const busName = `security-events-${randomUUID().slice(0, 8)}`;
let queueUrl: string;

const client = <T>(Client: new (config: object) => T, endpoint: string): T =>
  new Client({ endpoint, region: 'us-east-1', requestHandler: { requestTimeout: 5_000 } });

beforeAll(async () => {
  moto = await startMotoServer();
  eventBridge = client(EventBridgeClient, moto.endpoint);
  sqs = client(SQSClient, moto.endpoint);
  await eventBridge.send(new CreateEventBusCommand({ Name: busName }));
  queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: `consumer-${randomUUID().slice(0, 8)}` })))
    .QueueUrl!;
  const queueArn = (
    await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }))
  ).Attributes!['QueueArn']!;
  // The README's example subscription: everything account-shield publishes.
  await eventBridge.send(
    new PutRuleCommand({
      Name: 'all-security-events',
      EventBusName: busName,
      EventPattern: JSON.stringify({ source: [BUS_EVENT_SOURCE] }),
    }),
  );
  await eventBridge.send(
    new PutTargetsCommand({
      Rule: 'all-security-events',
      EventBusName: busName,
      Targets: [{ Id: 'queue', Arn: queueArn }],
    }),
  );
  process.env['SECURITY_EVENT_BUS_NAME'] = busName;
  process.env['EVENTBRIDGE_ENDPOINT'] = moto.endpoint;
  process.env['LOG_LEVEL'] = 'SILENT';
  ({ handler } = await import('../../functions/security-events-publisher.js'));
}, 60_000);

afterAll(async () => {
  eventBridge?.destroy();
  sqs?.destroy();
  await moto?.stop();
});

const store = new DynamoDbSecurityEventsStore({} as never, 'records');
const context = { awsRequestId: 'test', functionName: 'publisher' } as Context;

function event(
  type: SecurityEvent['type'],
  detail: SecurityEvent['detail'],
  ip: string | null,
): SecurityEvent {
  return { type, at: new Date().toISOString(), ip, userAgent: 'Mozilla/5.0 (secret-ish UA)', detail };
}

/** A stream record exactly as Lambda hands it over: the item SecurityEventsStore writes, in DynamoDB JSON. */
function streamRecord(
  sequenceNumber: string,
  item: Record<string, unknown>,
  eventName: 'INSERT' | 'MODIFY' = 'INSERT',
): DynamoDBStreamEvent['Records'][number] {
  return {
    eventName,
    eventSource: 'aws:dynamodb',
    dynamodb: {
      SequenceNumber: sequenceNumber,
      Keys: marshall({ pk: item['pk'], sk: item['sk'] }) as never,
      NewImage: marshall(item, { removeUndefinedValues: true }) as never,
      StreamViewType: 'NEW_IMAGE',
    },
  };
}

/** Reads (and deletes) what reached the consumer's queue; stops after `expected` plus one more empty poll. */
async function receiveAll(expected: number): Promise<Record<string, unknown>[]> {
  const received: Record<string, unknown>[] = [];
  const deadline = Date.now() + 15_000;
  const poll = async () => {
    const response = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
    );
    for (const message of response.Messages ?? []) {
      received.push(JSON.parse(message.Body!));
      await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle! }));
    }
  };
  while (received.length < expected && Date.now() < deadline) await poll();
  // Anything beyond `expected` would be a duplicate or a record that should have been ignored.
  await poll();
  return received;
}

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };

describe('GIVEN security events written to the records table WHEN the stream reaches the publisher', () => {
  test('THEN a consumer subscribed with a rule receives each one, typed and without the user agent', async () => {
    const userId = randomUUID();
    const login = store.eventItem(
      userId,
      event('login_succeeded', { sessionId: 's-1', deviceName: 'Pixel', secretLooking: 'x' }, '203.0.113.9'),
    );
    const incident = store.eventItem(
      userId,
      event(
        'incident_action',
        { incidentId: 'inc-1', forcedPasswordReset: true, revokedSessions: true },
        null,
      ),
    );
    const notAnEvent = { pk: `session-token#${userId}`, sk: 'x', tokenHash: 'h' };
    const result = await handler(
      {
        Records: [
          streamRecord('100', login),
          streamRecord('101', notAnEvent),
          streamRecord('102', incident),
          streamRecord('103', login, 'MODIFY'),
        ],
      },
      context,
    );
    expect(result.batchItemFailures).toEqual([]);

    const received = await receiveAll(2);
    expect(received).toHaveLength(2);
    const byType = new Map(received.map((message) => [message['detail-type'], message]));
    expect(byType.get('login_succeeded')).toMatchObject({
      source: 'account-shield',
      time: `${(login['at'] as string).slice(0, 19)}Z`,
      detail: {
        eventId: login['sk'],
        userId,
        type: 'login_succeeded',
        at: login['at'],
        ip: '203.0.113.9',
        detail: { sessionId: 's-1', deviceName: 'Pixel' },
      },
    });
    const incidentDetail = byType.get('incident_action')?.['detail'] as Record<string, unknown>;
    expect(incidentDetail).toEqual({
      eventId: incident['sk'],
      userId,
      type: 'incident_action',
      at: incident['at'],
      detail: { incidentId: 'inc-1', forcedPasswordReset: true, revokedSessions: true },
    });
    const wire = JSON.stringify(received);
    expect(wire).not.toContain('Mozilla');
    expect(wire).not.toContain('secretLooking');
    expect(wire).not.toContain('expiresAt');
  });

  test('THEN more than ten events in one batch all arrive (PutEvents takes ten per call)', async () => {
    // moto delivers to an SQS target in ~0.4 s per event, over the handler's 3 s AWS request timeout for a full
    // chunk: this case drives the same adapter and use-case with a client that waits longer.
    const patient = new EventBridgeClient({
      endpoint: moto.endpoint,
      region: 'us-east-1',
      requestHandler: { requestTimeout: 30_000 },
    });
    const slowBus = createEventBridgeSecurityEventBus(patient, { busName });
    const userId = randomUUID();
    const records = Array.from({ length: 12 }, (_, index) => ({
      sequenceNumber: String(200 + index),
      eventName: 'INSERT' as const,
      newImage: store.eventItem(userId, event('logout', { sessionId: `s-${index}` }, null)),
    }));
    const report = await publishSecurityEvents({ bus: slowBus, logger: silent }, records);
    expect(report).toEqual({ published: 12, ignored: 0, failed: [] });
    const received = await receiveAll(12);
    expect(received).toHaveLength(12);
    const sessions = received.map(
      (message) => (message['detail'] as { detail: { sessionId: string } }).detail.sessionId,
    );
    expect(new Set(sessions).size).toBe(12);
    patient.destroy();
  }, 60_000);

  test('THEN records the bus refuses are reported for retry by sequence number, and nothing is lost', async () => {
    // A bus that does not exist refuses every entry, as EventBridge does during an outage of the target bus.
    const missingBus = createEventBridgeSecurityEventBus(eventBridge, {
      busName: 'no-such-bus',
      maxAttempts: 2,
      baseDelayMs: 1,
    });
    const userId = randomUUID();
    const records = ['300', '301'].map((sequenceNumber) => ({
      sequenceNumber,
      eventName: 'INSERT' as const,
      newImage: store.eventItem(userId, event('mfa_enabled', {}, '198.51.100.1')),
    }));
    const report = await publishSecurityEvents({ bus: missingBus, logger: silent }, records);
    expect(report).toEqual({ published: 0, ignored: 0, failed: ['300', '301'] });
  });

  test('THEN a stored item that is not a valid security event fails its record instead of vanishing', async () => {
    const userId = randomUUID();
    const good = store.eventItem(userId, event('mfa_disabled', {}, null));
    const unknownType = { ...good, sk: `${good['sk']}x`, type: 'made_up_event' };
    const result = await handler(
      { Records: [streamRecord('400', good), streamRecord('401', unknownType)] },
      context,
    );
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: '401' }]);
    const received = await receiveAll(1);
    expect(received.map((message) => message['detail-type'])).toEqual(['mfa_disabled']);
    expect(toSecurityBusEvent(good).detail.eventId).toBe(good['sk']);
  });
});
