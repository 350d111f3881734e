import { randomUUID } from 'node:crypto';
import { createDeps } from '../../shared/app.js';
import { loadConfig } from '../../shared/config.js';
import type { Mailer } from '../../shared/ports/mailer.js';
import { deliverSecurityNotice } from '../../shared/use-cases/deliver-notification.js';
import { uniqueName } from '../support/fixtures.js';
import { startTestStack, type TestStack } from '../support/test-stack.js';

const MAX_PER_SECOND = 20;

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack({ notifier: false, env: { SES_MAX_SEND_RATE: String(MAX_PER_SECOND) } });
});
afterAll(async () => {
  await stack?.stop();
});

describe('send rate across concurrent notifiers', () => {
  it('keeps concurrent notifiers within 5% of the configured emails per second', async () => {
    const sentAt: number[] = [];
    // Four notifier "instances": each its own composition root (own clients and caches), sharing only DynamoDB.
    const notifiers = Array.from({ length: 4 }, () => {
      const deps = createDeps(loadConfig(process.env));
      const recordingMailer: Mailer = {
        async send(mail) {
          sentAt.push(Date.now());
          return deps.mailer.send(mail);
        },
      };
      return { ...deps, mailer: recordingMailer };
    });
    const tag = uniqueName('rate');
    const perNotifier = 30;
    const started = Date.now();
    await Promise.all(
      notifiers.map((deps, n) =>
        Promise.all(
          // Each instance works on a batch of 5 records at a time, as an SQS batch would arrive.
          Array.from({ length: 5 }, async (_, lane) => {
            for (let i = lane; i < perNotifier; i += 5) {
              await deliverSecurityNotice(deps, {
                version: 1,
                type: 'security_notice',
                notice: 'password_changed',
                deliveryKey: `rate#${randomUUID()}`,
                userId: `user-${n}-${i}`,
                email: `${tag}-${n}-${i}@example.test`,
                requestedAt: new Date().toISOString(),
                ip: null,
                userAgent: null,
              });
            }
          }),
        ),
      ),
    );
    expect(sentAt).toHaveLength(4 * perNotifier);
    // Over the whole run, in whole wall-clock seconds (the limiter's unit): within 5% of the configured rate.
    const firstSecond = Math.floor(started / 1000);
    const seconds = Math.floor(Math.max(...sentAt) / 1000) - firstSecond + 1;
    expect(sentAt.length / seconds).toBeLessThanOrEqual(MAX_PER_SECOND * 1.05);
    // Any 3-second window holds at most 3 seconds of slots plus what a slow claim carried over from the second
    // before: never a burst of twice the rate sustained.
    for (let second = firstSecond; second <= firstSecond + seconds; second += 1) {
      const inWindow = sentAt.filter((at) => at >= second * 1000 && at < (second + 3) * 1000).length;
      expect(inWindow).toBeLessThanOrEqual(4 * MAX_PER_SECOND);
    }
  }, 30_000);
});
