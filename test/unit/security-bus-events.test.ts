import type { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { createEventBridgeSecurityEventBus } from '../../shared/aws/eventbridge-security-event-bus.js';
import {
  busEventDetailFields,
  busEventJsonSchema,
  busEventTypes,
  MalformedSecurityEventItemError,
  type SecurityBusEvent,
  toSecurityBusEvent,
} from '../../shared/domain/security-bus-events.js';
import { DynamoDbSecurityEventsStore } from '../../shared/stores/security-events-store.js';

const store = new DynamoDbSecurityEventsStore({} as never, 'records');
const at = '2026-12-03T12:00:00.000Z';

describe('toSecurityBusEvent', () => {
  it('publishes the allowlisted facts of the stored item, the IP, and never the user agent or expiry', () => {
    const item = store.eventItem('u-1', {
      type: 'session_revoked',
      at,
      ip: '198.51.100.7',
      userAgent: 'curl/8',
      detail: { sessionId: 's-9', reason: 'authorization_code_reused', note: 'not in the schema' },
    });

    const event = toSecurityBusEvent(item);

    expect(event).toEqual({
      detailType: 'session_revoked',
      time: new Date(at),
      detail: {
        eventId: item['sk'],
        userId: 'u-1',
        type: 'session_revoked',
        at,
        ip: '198.51.100.7',
        detail: { sessionId: 's-9', reason: 'authorization_code_reused' },
      },
    });
  });

  it('leaves out an IP the action did not have and a value of another type than documented', () => {
    const item = store.eventItem('u-2', {
      type: 'recovery_code_used',
      at,
      ip: null,
      userAgent: null,
      detail: { remaining: '7' as unknown as number },
    });

    expect(toSecurityBusEvent(item).detail).toEqual({
      eventId: item['sk'],
      userId: 'u-2',
      type: 'recovery_code_used',
      at,
      detail: {},
    });
  });

  it.each([
    ['another entity', { pk: 'session#u-1', sk: 'x', type: 'logout', at }],
    ['an unknown type', { pk: 'events#u-1', sk: 'x', type: 'made_up', at }],
    ['a time that is not one', { pk: 'events#u-1', sk: 'x', type: 'logout', at: 'yesterday' }],
    ['no sort key', { pk: 'events#u-1', type: 'logout', at }],
  ])('refuses %s', (_name, item) => {
    expect(() => toSecurityBusEvent(item)).toThrow(MalformedSecurityEventItemError);
  });

  it('gives every type a JSON schema whose detail lists exactly its allowlisted fields', () => {
    for (const type of busEventTypes) {
      const schema = busEventJsonSchema(type) as {
        properties: { detail: { properties: { detail: { properties: Record<string, unknown> } } } };
      };
      expect(Object.keys(schema.properties.detail.properties.detail.properties)).toEqual(
        Object.keys(busEventDetailFields[type]),
      );
    }
  });
});

type Entry = { DetailType?: string; Detail?: string; Source?: string; EventBusName?: string };

/** A PutEvents endpoint that refuses the entries `refuse` picks, call by call. */
function fakeEventBridge(refuse: (call: number, entry: Entry) => string | undefined) {
  const calls: Entry[][] = [];
  const client = {
    async send(command: PutEventsCommand) {
      const entries = (command.input.Entries ?? []) as Entry[];
      calls.push(entries);
      const call = calls.length;
      return {
        FailedEntryCount: 0,
        Entries: entries.map((entry) => {
          const errorCode = refuse(call, entry);
          return errorCode ? { ErrorCode: errorCode, ErrorMessage: 'refused' } : { EventId: `e-${call}` };
        }),
      };
    },
  } as unknown as EventBridgeClient;
  return { client, calls };
}

const busEvents = (count: number): SecurityBusEvent[] =>
  Array.from({ length: count }, (_, index) =>
    toSecurityBusEvent(
      store.eventItem('u-1', {
        type: 'logout',
        at,
        ip: null,
        userAgent: null,
        detail: { sessionId: `s-${index}` },
      }),
    ),
  );
const sessionOf = (entry: Entry) =>
  (JSON.parse(entry.Detail ?? '{}') as { detail: { sessionId: string } }).detail.sessionId;

describe('EventBridge security event bus', () => {
  it('sends at most ten entries per PutEvents call, to the configured bus with source account-shield', async () => {
    const { client, calls } = fakeEventBridge(() => undefined);
    const bus = createEventBridgeSecurityEventBus(client, { busName: 'bus-1', sleep: async () => {} });

    const results = await bus.publish(busEvents(23));

    expect(calls.map((entries) => entries.length).sort()).toEqual([10, 10, 3]);
    expect(results).toHaveLength(23);
    expect(results.every((result) => result.ok)).toBe(true);
    expect(
      calls.flat().every((entry) => entry.EventBusName === 'bus-1' && entry.Source === 'account-shield'),
    ).toBe(true);
  });

  it('sends again only the entries EventBridge refused, and reports the ones still refused', async () => {
    // s-1 is throttled once then accepted; s-3 is refused every time.
    const { client, calls } = fakeEventBridge((call, entry) => {
      if (sessionOf(entry) === 's-3') return 'InternalFailure';
      if (sessionOf(entry) === 's-1' && call === 1) return 'ThrottlingException';
      return undefined;
    });
    const delays: number[] = [];
    const bus = createEventBridgeSecurityEventBus(client, {
      busName: 'bus-1',
      maxAttempts: 3,
      baseDelayMs: 50,
      sleep: async (ms) => {
        delays.push(ms);
      },
    });

    const results = await bus.publish(busEvents(5));

    expect(calls.map((entries) => entries.map(sessionOf))).toEqual([
      ['s-0', 's-1', 's-2', 's-3', 's-4'],
      ['s-1', 's-3'],
      ['s-3'],
    ]);
    expect(delays).toEqual([50, 100]);
    expect(results).toEqual([
      { ok: true },
      { ok: true },
      { ok: true },
      { ok: false, errorCode: 'InternalFailure' },
      { ok: true },
    ]);
  });

  it('retries a call that throws, and reports every entry of it failed when it keeps throwing', async () => {
    let calls = 0;
    const client = {
      async send() {
        calls += 1;
        throw Object.assign(new Error('socket hang up'), { name: 'TimeoutError' });
      },
    } as unknown as EventBridgeClient;
    const bus = createEventBridgeSecurityEventBus(client, {
      busName: 'b',
      maxAttempts: 2,
      sleep: async () => {},
    });

    const results = await bus.publish(busEvents(2));

    expect(calls).toBe(2);
    expect(results).toEqual([
      { ok: false, errorCode: 'TimeoutError' },
      { ok: false, errorCode: 'TimeoutError' },
    ]);
  });
});
