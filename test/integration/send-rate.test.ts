import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { createDeps } from '../../shared/app.js';
import { loadConfig } from '../../shared/config.js';
import { sendSlotSecond } from '../../shared/domain/send-slots.js';
import type { DeliveriesStore } from '../../shared/ports/deliveries-store.js';
import type { Mailer } from '../../shared/ports/mailer.js';
import { deliverSecurityNotice } from '../../shared/use-cases/deliver-notification.js';
import { uniqueName } from '../support/fixtures.js';
import { startTestStack, type TestStack } from '../support/test-stack.js';

const MAX_PER_SECOND = 10;
/** Four notifier instances x 5 lanes x 3 mails: 20 lanes, twice the limit, for six seconds at full rate. */
const NOTIFIERS = 4;
const LANES = 5;
const PER_NOTIFIER = 15;
const MAILS = NOTIFIERS * PER_NOTIFIER;

let stack: TestStack;
let db: DynamoDBDocumentClient;

beforeAll(async () => {
  stack = await startTestStack({ notifier: false, env: { SES_MAX_SEND_RATE: String(MAX_PER_SECOND) } });
  db = DynamoDBDocumentClient.from(
    new DynamoDBClient({ endpoint: stack.endpoints.dynamodb, region: 'us-east-1' }),
  );
});
afterAll(async () => {
  db?.destroy();
  await stack?.stop();
});

/** The per-second send counters the notifiers share (pk `send-rate`, sk `<epoch second>`), from DynamoDB. */
async function slotCounts(): Promise<Map<number, number>> {
  const counts = new Map<number, number>();
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await db.send(
      new QueryCommand({
        TableName: stack.tables.records,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': 'send-rate' },
        ConsistentRead: true,
        ExclusiveStartKey: startKey,
      }),
    );
    for (const item of page.Items ?? []) counts.set(Number(item['sk']), item['count'] as number);
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return counts;
}

describe('send rate across concurrent notifiers', () => {
  it('never puts more than the limit in any second, never sends before its second, and refuses only full seconds', async () => {
    // Prepare: four notifier "instances", each its own composition root (own clients and caches), sharing only
    // DynamoDB. Each records the slot second its claim got and the time its mail left.
    const slotOf = new Map<string, number>();
    const sentAt = new Map<string, number>();
    /** Seconds for which some claim was refused because the slot was full. */
    const refusedSeconds = new Set<number>();
    // The first claim of every lane waits for all the others and then all go with the same time: one burst of
    // twice the limit into one second, whatever the machine's speed (later claims come as they come). The burst
    // goes 760 ms into a second, inside the slot lead time: its slots are for the next second, which its mail
    // must wait for.
    const lanes = NOTIFIERS * LANES;
    let waiting = 0;
    let releaseBurst!: (at: Date) => void;
    const burstAt = new Promise<Date>((resolve) => {
      releaseBurst = resolve;
    });
    const burst = async (now: Date): Promise<Date> => {
      if (waiting >= lanes) return now;
      waiting += 1;
      if (waiting === lanes) {
        const intoSecond = Date.now() % 1000;
        const delay = (760 - intoSecond + 1000) % 1000;
        setTimeout(() => releaseBurst(new Date()), delay);
      }
      return burstAt;
    };
    const notifiers = Array.from({ length: NOTIFIERS }, () => {
      const deps = createDeps(loadConfig(process.env));
      const store = deps.deliveries;
      const deliveries = new Proxy(store, {
        get(target, property) {
          if (property === 'claimWithSendSlot') {
            const claim: DeliveriesStore['claimWithSendSlot'] = async (deliveryKey, now, maxPerSecond) => {
              const at = await burst(now);
              const outcome = await target.claimWithSendSlot(deliveryKey, at, maxPerSecond);
              if ('second' in outcome) slotOf.set(deliveryKey, outcome.second);
              if ('slotFull' in outcome) refusedSeconds.add(sendSlotSecond(at.getTime()));
              return outcome;
            };
            return claim;
          }
          const value = Reflect.get(target, property, target);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
      const recordingMailer: Mailer = {
        async send(mail) {
          sentAt.set(mail.to, Date.now());
          return deps.mailer.send(mail);
        },
      };
      return { ...deps, deliveries, mailer: recordingMailer };
    });
    const tag = uniqueName('rate');
    const keyOf = (n: number, i: number) => `rate#${tag}#${n}-${i}`;
    const emailOf = (n: number, i: number) => `${tag}-${n}-${i}@example.test`;

    // Act: each instance works on LANES records at a time, as an SQS batch would arrive.
    await Promise.all(
      notifiers.map((deps, n) =>
        Promise.all(
          Array.from({ length: LANES }, async (_, lane) => {
            for (let i = lane; i < PER_NOTIFIER; i += LANES) {
              await deliverSecurityNotice(deps, {
                version: 1,
                type: 'security_notice',
                notice: 'password_changed',
                deliveryKey: keyOf(n, i),
                userId: `user-${n}-${i}-${randomUUID()}`,
                email: emailOf(n, i),
                requestedAt: new Date().toISOString(),
                ip: null,
                userAgent: null,
              });
            }
          }),
        ),
      ),
    );

    // Assess: every mail went out once, holding one slot...
    expect(sentAt.size).toBe(MAILS);
    expect(slotOf.size).toBe(MAILS);
    const slots = await slotCounts();
    expect([...slots.values()].reduce((sum, count) => sum + count, 0)).toBe(MAILS);
    // ...no second's counter ever went over the limit (a single 21st mail in any second fails here)...
    const overfull = [...slots].filter(([, count]) => count > MAX_PER_SECOND);
    expect(overfull).toEqual([]);
    // ...and no mail left before the second its slot counts it in (a mail sent early lands in the second before).
    for (let n = 0; n < NOTIFIERS; n += 1) {
      for (let i = 0; i < PER_NOTIFIER; i += 1) {
        const slot = slotOf.get(keyOf(n, i))!;
        expect({ mail: keyOf(n, i), early: sentAt.get(emailOf(n, i))! < slot * 1000 }).toEqual({
          mail: keyOf(n, i),
          early: false,
        });
      }
    }
    // Throughput floor, independent of how loaded the machine is: a claim was only ever refused for a second that
    // really was full, so no second's capacity was left unused while mail waited (a limiter that lets through a
    // fraction of the rate refuses claims in seconds that are not full).
    expect(refusedSeconds.size).toBeGreaterThan(0); // the burst at least
    const refusedBelowLimit = [...refusedSeconds].filter((second) => slots.get(second) !== MAX_PER_SECOND);
    expect(refusedBelowLimit).toEqual([]);
  }, 60_000);
});
