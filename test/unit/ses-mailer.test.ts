import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { createBulkSesClient } from '../../shared/app.js';
import { createSesMailer, isPermanentSesError } from '../../shared/aws/ses-mailer.js';
import { loadConfig } from '../../shared/config.js';
import { MailOutcomeUnknownError, MailRejectedError } from '../../shared/ports/mailer.js';
import { unitTestEnv } from '../support/unit-config.js';

/**
 * The single-mail SES adapter sorts failures the way the bulk path does (ADR 0003): only an answer that says
 * "not taken" may be retried; a timeout after the request left may have sent the mail, and is never resent.
 */
type Answer = { status: number; body: string; errorType?: string } | 'hang';

let server: Server;
let endpoint = '';
let requests = 0;
let answer: Answer = 'hang';

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      requests += 1;
      if (answer === 'hang') return; // SES took the request and its answer never came back
      res.writeHead(answer.status, {
        'content-type': 'application/json',
        ...(answer.errorType === undefined ? {} : { 'x-amzn-errortype': answer.errorType }),
      });
      res.end(answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});
beforeEach(() => {
  requests = 0;
});

function mailerWithOneAttempt() {
  const ses = new SESv2Client({
    region: 'us-east-1',
    endpoint,
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
    maxAttempts: 1,
    requestHandler: { requestTimeout: 300, connectionTimeout: 300, throwOnRequestTimeout: true },
  });
  return createSesMailer(ses, { from: 'security@example.test' });
}

const mail = { to: 'a@example.test', subject: 'Notice', text: 'text', html: '<p>html</p>' };

describe('SES single-mail adapter', () => {
  it('reports a timeout after the request left as MailOutcomeUnknownError, after exactly one request', async () => {
    answer = 'hang';

    const error = await mailerWithOneAttempt()
      .send(mail)
      .catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(MailOutcomeUnknownError);
    expect(requests).toBe(1);
  });

  it('leaves throttling and 5xx retryable: SES said it did not take the mail', async () => {
    for (const [status, type] of [
      [429, 'TooManyRequestsException'],
      [503, 'ServiceUnavailable'],
    ] as const) {
      answer = { status, body: JSON.stringify({ message: 'no' }), errorType: type };
      const error = await mailerWithOneAttempt()
        .send(mail)
        .catch((caught: unknown) => caught);
      // The SDK parsed the stub's answer as that SES error: the assertions below are about it, not a parse failure.
      expect({ type, name: (error as Error).name }).toEqual({ type, name: type });
      expect(error).not.toBeInstanceOf(MailOutcomeUnknownError);
      expect(error).not.toBeInstanceOf(MailRejectedError);
    }
  });

  it('reports a permanent refusal as MailRejectedError', async () => {
    answer = {
      status: 400,
      body: JSON.stringify({ message: 'Address blacklisted.' }),
      errorType: 'MessageRejected',
    };

    await expect(mailerWithOneAttempt().send(mail)).rejects.toBeInstanceOf(MailRejectedError);
  });

  it('sends every mail through an SES client that makes one attempt per call (no SDK retry after a timeout)', async () => {
    const ses = createBulkSesClient(loadConfig({ ...unitTestEnv }));
    try {
      expect(await ses.config.maxAttempts()).toBe(1);
      // smithy only warns about a request timeout unless told to throw: the call would otherwise wait on.
      const handlerConfig = await (
        ses.config.requestHandler as unknown as { configProvider: Promise<Record<string, unknown>> }
      ).configProvider;
      expect(handlerConfig).toMatchObject({ requestTimeout: 10_000, throwOnRequestTimeout: true });
    } finally {
      ses.destroy();
    }
  });
});

describe('isPermanentSesError on what the real SESv2 client makes of SES answers', () => {
  /** The error the SDK throws for `answer`, from a real SendEmail call against the stub. */
  async function sesErrorFor(status: number, errorType: string, message: string): Promise<unknown> {
    answer = { status, body: JSON.stringify({ message }), errorType };
    const ses = new SESv2Client({
      region: 'us-east-1',
      endpoint,
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
      maxAttempts: 1,
      requestHandler: { requestTimeout: 2_000, throwOnRequestTimeout: true },
    });
    try {
      return await ses
        .send(
          new SendEmailCommand({
            FromEmailAddress: 'security@example.test',
            Destination: { ToAddresses: [mail.to] },
            Content: { Simple: { Subject: { Data: mail.subject }, Body: { Text: { Data: mail.text } } } },
          }),
        )
        .then(() => undefined);
    } catch (error) {
      return error;
    } finally {
      ses.destroy();
    }
  }

  it('calls MessageRejected permanent: retrying the same mail cannot help', async () => {
    const error = await sesErrorFor(400, 'MessageRejected', 'Email address is not verified.');
    expect(error).toMatchObject({ name: 'MessageRejected', $metadata: { httpStatusCode: 400 } });
    expect(isPermanentSesError(error)).toBe(true);
    expect(requests).toBe(1);
  });

  it('calls TooManyRequestsException transient: SES did not take the mail, a later try may', async () => {
    const error = await sesErrorFor(429, 'TooManyRequestsException', 'Maximum sending rate exceeded.');
    expect(error).toMatchObject({ name: 'TooManyRequestsException', $metadata: { httpStatusCode: 429 } });
    expect(isPermanentSesError(error)).toBe(false);
    expect(requests).toBe(1);
  });
});
