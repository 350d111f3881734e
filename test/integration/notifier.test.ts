import { randomUUID } from 'node:crypto';
import { GetQueueAttributesCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { createDeps } from '../../shared/app.js';
import { loadConfig } from '../../shared/config.js';
import { sha256Hex } from '../../shared/crypto/secrets.js';
import { InvalidResetTokenError } from '../../shared/errors.js';
import type { SecurityNoticeMessage } from '../../shared/notifications/messages.js';
import type { Clock } from '../../shared/ports/clock.js';
import type { DeliveriesStore } from '../../shared/ports/deliveries-store.js';
import type { Logger } from '../../shared/ports/logger.js';
import { type Mailer, MailOutcomeUnknownError, MailRejectedError } from '../../shared/ports/mailer.js';
import { deliverSecurityNotice } from '../../shared/use-cases/deliver-notification.js';
import type { Deps } from '../../shared/use-cases/deps.js';
import { resetPassword } from '../../shared/use-cases/password.js';
import { type Api, signUp, sleep, uniqueName } from '../support/fixtures.js';
import { api } from '../support/http.js';
import { startTestStack, type TestStack } from '../support/test-stack.js';

let stack: TestStack;
let client: Api;
let sqs: SQSClient;
/** The same composition root the functions use, on this stack's tables and queue. */
let deps: Deps;

beforeAll(async () => {
  stack = await startTestStack({ queueVisibilityTimeoutSeconds: 1, env: { LOG_LEVEL: 'SILENT' } });
  client = api(stack.apiUrl);
  sqs = new SQSClient({
    endpoint: stack.endpoints.sqs,
    region: 'us-east-1',
    requestHandler: { requestTimeout: 5000 },
  });
  deps = createDeps(loadConfig(process.env));
});
afterAll(async () => {
  sqs?.destroy();
  await stack?.stop();
});

function notice(email: string): SecurityNoticeMessage {
  return {
    version: 1,
    type: 'security_notice',
    notice: 'password_changed',
    deliveryKey: `notice#test#${randomUUID()}`,
    userId: 'user-1',
    email,
    requestedAt: new Date().toISOString(),
    ip: '198.51.100.4',
    userAgent: 'test',
  };
}

const send = (body: string) =>
  sqs.send(new SendMessageCommand({ QueueUrl: stack.queueUrl, MessageBody: body }));

describe('notifier through the queue', () => {
  it('sends one mail for a message that is delivered twice', async () => {
    const email = `${uniqueName('dup')}@example.test`;
    const message = JSON.stringify(notice(email));
    await Promise.all([send(message), send(message)]);
    await stack.ses.waitForMail(email, { timeoutMs: 10_000 });
    await sleep(2500);
    expect(await stack.ses.listMail(email)).toHaveLength(1);
  });

  it('moves a malformed record to the DLQ after the configured receives without blocking the others', async () => {
    const email = `${uniqueName('ok')}@example.test`;
    await send('{"type":"security_notice","version":99}');
    await send('not json at all');
    await send(JSON.stringify(notice(email)));
    await stack.ses.waitForMail(email, { timeoutMs: 10_000 });
    const deadline = Date.now() + 25_000;
    let inDlq = 0;
    while (Date.now() < deadline && inDlq < 2) {
      const attributes = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: stack.dlqUrl,
          AttributeNames: ['ApproximateNumberOfMessages'],
        }),
      );
      inDlq = Number(attributes.Attributes?.ApproximateNumberOfMessages ?? 0);
      await sleep(500);
    }
    expect(inDlq).toBe(2);
  }, 40_000);
});

describe('notifier delivery rules', () => {
  /** The real SES mailer behind a port that can fail on demand, as SES does under throttling. */
  function flakyMailer(failures: Error[]): Mailer & { attempts: number } {
    const mailer = {
      attempts: 0,
      async send(mail: Parameters<Mailer['send']>[0]) {
        mailer.attempts += 1;
        const failure = failures.shift();
        if (failure) throw failure;
        return deps.mailer.send(mail);
      },
    };
    return mailer;
  }

  const throttling = () =>
    Object.assign(new Error('Maximum sending rate exceeded.'), { name: 'TooManyRequestsException' });

  it('retries SES throttling and still sends exactly one mail', async () => {
    const email = `${uniqueName('throttled')}@example.test`;
    const message = notice(email);
    const mailer = flakyMailer([throttling(), throttling()]);
    const withFlakySes = { ...deps, mailer };
    await expect(deliverSecurityNotice(withFlakySes, message)).rejects.toThrow('Maximum sending rate');
    await expect(deliverSecurityNotice(withFlakySes, message)).rejects.toThrow('Maximum sending rate');
    expect(await deliverSecurityNotice(withFlakySes, message)).toBe('sent');
    expect(await deliverSecurityNotice(withFlakySes, message)).toBe('duplicate');
    expect(mailer.attempts).toBe(3);
    await stack.ses.waitForMail(email, { timeoutMs: 5000 });
    expect(await stack.ses.listMail(email)).toHaveLength(1);
  });

  it('records a permanent rejection and never retries it', async () => {
    const email = `${uniqueName('rejected')}@example.test`;
    const message = notice(email);
    const mailer = flakyMailer([new MailRejectedError('Email address is on the suppression list')]);
    const withRejectingSes = { ...deps, mailer };
    expect(await deliverSecurityNotice(withRejectingSes, message)).toBe('rejected');
    expect(await deliverSecurityNotice(withRejectingSes, message)).toBe('duplicate');
    expect(mailer.attempts).toBe(1);
    expect(await deps.deliveries.status(message.deliveryKey)).toBe('rejected');
  });

  /** The real deliveries store, except that recording `sent` fails the first `failures` times (a DynamoDB blip). */
  function deliveriesFailingSentSettle(failures: number): DeliveriesStore & { sentSettles: number } {
    const real = deps.deliveries;
    let left = failures;
    const wrapper = Object.assign(Object.create(real) as DeliveriesStore, {
      sentSettles: 0,
      settle: async (...args: Parameters<DeliveriesStore['settle']>) => {
        if (args[1] === 'sent') {
          wrapper.sentSettles += 1;
          if (left > 0) {
            left -= 1;
            throw Object.assign(new Error('Rate of requests exceeds the allowed throughput.'), {
              name: 'ThrottlingException',
              $metadata: { httpStatusCode: 400 },
            });
          }
        }
        return real.settle(...args);
      },
    });
    return wrapper;
  }

  function capturingLogger(): Logger & { lines: { level: string; message: string; extra: unknown }[] } {
    const lines: { level: string; message: string; extra: unknown }[] = [];
    const at =
      (level: string) =>
      (message: string, extra: Record<string, unknown>): void => {
        lines.push({ level, message, extra });
      };
    return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
  }

  it('never resends a mail SES took when recording "sent" keeps failing: the claim stays "sending"', async () => {
    const email = `${uniqueName('settle-fails')}@example.test`;
    const message = notice(email);
    const deliveries = deliveriesFailingSentSettle(Number.POSITIVE_INFINITY);
    const logger = capturingLogger();
    const withFailingSettle = { ...deps, deliveries, logger };

    expect(await deliverSecurityNotice(withFailingSettle, message)).toBe('sent');
    // SQS delivers the message again (or the queue retries it): the claim must hold.
    expect(await deliverSecurityNotice(withFailingSettle, message)).toBe('duplicate');

    expect(await deps.deliveries.status(message.deliveryKey)).toBe('sending');
    expect(deliveries.sentSettles).toBe(3);
    expect(logger.lines).toContainEqual(
      expect.objectContaining({
        level: 'error',
        extra: expect.objectContaining({ deliveryKey: message.deliveryKey }),
      }),
    );
    await stack.ses.waitForMail(email, { timeoutMs: 5000 });
    await sleep(300);
    expect(await stack.ses.listMail(email)).toHaveLength(1);
  });

  it('records "sent" on a second try after a brief DynamoDB error, and sends once', async () => {
    const email = `${uniqueName('settle-blip')}@example.test`;
    const message = notice(email);
    const deliveries = deliveriesFailingSentSettle(1);

    expect(await deliverSecurityNotice({ ...deps, deliveries }, message)).toBe('sent');

    expect(await deps.deliveries.status(message.deliveryKey)).toBe('sent');
    expect(deliveries.sentSettles).toBe(2);
    await stack.ses.waitForMail(email, { timeoutMs: 5000 });
    expect(await stack.ses.listMail(email)).toHaveLength(1);
  });

  it('settles a timeout after SES may have taken the mail as "unknown" and never resends it', async () => {
    const email = `${uniqueName('ses-timeout')}@example.test`;
    const message = notice(email);
    // SES takes the mail, then the answer is lost: the adapter reports the outcome as unknown.
    const mailer: Mailer & { attempts: number } = {
      attempts: 0,
      async send(mail) {
        mailer.attempts += 1;
        await deps.mailer.send(mail);
        throw new MailOutcomeUnknownError('SES may have accepted the mail: TimeoutError');
      },
    };
    const withTimeout = { ...deps, mailer };

    expect(await deliverSecurityNotice(withTimeout, message)).toBe('unknown');
    expect(await deliverSecurityNotice(withTimeout, message)).toBe('duplicate');

    expect(await deps.deliveries.status(message.deliveryKey)).toBe('unknown');
    expect(mailer.attempts).toBe(1);
    await stack.ses.waitForMail(email, { timeoutMs: 5000 });
    await sleep(300);
    expect(await stack.ses.listMail(email)).toHaveLength(1);
  });

  it('lets only one of several racing notifiers send a message', async () => {
    const email = `${uniqueName('race')}@example.test`;
    const message = notice(email);
    const outcomes = await Promise.all(Array.from({ length: 5 }, () => deliverSecurityNotice(deps, message)));
    expect(outcomes.filter((o) => o === 'sent')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'duplicate')).toHaveLength(4);
    await stack.ses.waitForMail(email, { timeoutMs: 5000 });
    await sleep(300);
    expect(await stack.ses.listMail(email)).toHaveLength(1);
  });

  it('never sends again after a crash between sending and recording', async () => {
    const email = `${uniqueName('crash')}@example.test`;
    const message = notice(email);
    // The claim was taken and the sender died before settling: the claim stays "sending".
    expect(await deps.deliveries.claim(message.deliveryKey, new Date())).toEqual({ claimed: true });
    expect(await deliverSecurityNotice(deps, message)).toBe('duplicate');
    expect(await deps.deliveries.status(message.deliveryKey)).toBe('sending');
  });
});

describe('reset token expiry', () => {
  it('refuses a reset token older than 30 minutes, checked in code', async () => {
    const account = await signUp(client);
    let now = new Date();
    const clock: Clock = { now: () => now };
    const timed = createDeps(loadConfig(process.env), undefined, clock);
    const user = await timed.users.findByIdentifier({ kind: 'email', value: account.email });
    const token = `expiry-test-${randomUUID()}`;
    // Minted a moment after the account's password was set, as the notifier would.
    now = new Date(Date.now() + 1000);
    await timed.resetTokens.create(sha256Hex(token), user!.userId, now);
    now = new Date(now.getTime() + 30 * 60 * 1000 + 1000);
    await expect(
      resetPassword(
        timed,
        { token, newPassword: 'too-late-passphrase', signOutAllDevices: true },
        { ip: null, userAgent: null },
      ),
    ).rejects.toBeInstanceOf(InvalidResetTokenError);
    now = new Date(now.getTime() - 2000);
    await expect(
      resetPassword(
        timed,
        { token, newPassword: 'just-in-time-passphrase', signOutAllDevices: true },
        { ip: null, userAgent: null },
      ),
    ).resolves.toEqual({ signedOutAllDevices: true });
  });
});
