import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { createDeps } from '../../shared/app.js';
import { loadConfig } from '../../shared/config.js';
import type { Mailer } from '../../shared/ports/mailer.js';
import type { DeliveriesStore } from '../../shared/stores/deliveries-store.js';
import { deliverSecurityNotice } from '../../shared/use-cases/deliver-notification.js';
import { uniqueName } from '../support/fixtures.js';
import { startTestStack, type TestStack } from '../support/test-stack.js';

const MAX_PER_SECOND = 20;
/** Four notifier instances x 5 lanes x 6 mails: six seconds of demand (20 lanes) well above the limit. */
const NOTIFIERS = 4;
const PER_NOTIFIER = 30;
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
  it('never puts more than the limit in any second, never sends before its second, and uses the rate it has', async () => {
    // Prepare: four notifier "instances", each its own composition root (own clients and caches), sharing only
    // DynamoDB. Each records the slot second its claim got and the time its mail left.
    const slotOf = new Map<string, number>();
    const sentAt = new Map<string, number>();
    const notifiers = Array.from({ length: NOTIFIERS }, () => {
      const deps = createDeps(loadConfig(process.env));
      const store = deps.deliveries;
      const deliveries = new Proxy(store, {
        get(target, property) {
          if (property === 'claimWithSendSlot') {
            const claim: DeliveriesStore['claimWithSendSlot'] = async (deliveryKey, now, maxPerSecond) => {
              const outcome = await target.claimWithSendSlot(deliveryKey, now, maxPerSecond);
              if ('second' in outcome) slotOf.set(deliveryKey, outcome.second);
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

    // Act: each instance works on 5 records at a time, as an SQS batch would arrive.
    await Promise.all(
      notifiers.map((deps, n) =>
        Promise.all(
          Array.from({ length: 5 }, async (_, lane) => {
            for (let i = lane; i < PER_NOTIFIER; i += 5) {
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
    // Throughput floor: with demand far above the limit the seconds used are (all but) full, so the run spans at
    // most one second more than MAILS / limit (>= 85% of the rate); a limiter that wastes seconds or lets through
    // a fraction of the rate needs more. Counted in slot seconds, not elapsed time, so a slow machine is no failure.
    const seconds = [...slots.keys()];
    const spanned = Math.max(...seconds) - Math.min(...seconds) + 1;
    expect(spanned).toBeLessThanOrEqual(Math.ceil(MAILS / MAX_PER_SECOND) + 1);
  }, 60_000);
});
