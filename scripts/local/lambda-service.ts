/**
 * A stand-in for the one call of the Lambda API the functions make: an asynchronous Invoke (InvocationType
 * Event), which the admin function sends the dispatcher when an incident's mail is due at once
 * (shared/aws/lambda-dispatcher-trigger.ts). Locally the same SDK call reaches this server instead of AWS, so
 * the code path is the one deployed, and nothing in shared/ needs to know it runs locally.
 *
 * Like Lambda, it answers 202 as soon as the invocation is queued and runs the function afterwards; a failed
 * run is reported to `logError`, never to the caller (who is long gone, as on AWS).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type AsyncInvoke = (payload: unknown) => Promise<unknown>;

export interface LambdaServiceOptions {
  /** Function name -> what an Event invocation of it runs. */
  readonly functions: Readonly<Record<string, AsyncInvoke>>;
  readonly logError?: (message: string, error: unknown) => void;
}

export interface LambdaService {
  /** The endpoint to give the SDK (LAMBDA_ENDPOINT). */
  readonly url: string;
  close(): Promise<void>;
}

const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;
/** Lambda's own limit for an asynchronous invocation's payload. */
const MAX_ASYNC_PAYLOAD_BYTES = 256 * 1024;

export async function startLambdaService(options: LambdaServiceOptions): Promise<LambdaService> {
  const logError = options.logError ?? ((message: string, error: unknown) => console.error(message, error));
  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      logError('Local Lambda service failed', error);
      if (!response.headersSent) reply(response, 500, 'ServiceException', 'The local Lambda service failed');
    });
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const body = await readBody(request);
    const match = INVOKE_PATH.exec(new URL(request.url ?? '/', 'http://local').pathname);
    if (request.method !== 'POST' || !match) {
      reply(response, 404, 'UnknownOperationException', 'Only Invoke is served here');
      return;
    }
    // The SDK sends the name as given: a bare name, or an ARN whose last part is the name.
    const name = decodeURIComponent(match[1]!).split(':').at(-1)!;
    const run = options.functions[name];
    if (!run) {
      reply(response, 404, 'ResourceNotFoundException', `Function not found: ${name}`);
      return;
    }
    if (request.headers['x-amz-invocation-type'] !== 'Event') {
      reply(response, 400, 'InvalidParameterValueException', 'Only InvocationType Event is served here');
      return;
    }
    if (body.length > MAX_ASYNC_PAYLOAD_BYTES) {
      reply(response, 413, 'RequestTooLargeException', 'Request must be smaller than 262144 bytes');
      return;
    }
    let payload: unknown;
    try {
      payload = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
    } catch {
      reply(response, 400, 'InvalidRequestContentException', 'Could not parse request body into json');
      return;
    }
    response.writeHead(202).end();
    run(payload).catch((error: unknown) => logError(`Asynchronous invocation of ${name} failed`, error));
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function reply(response: ServerResponse, status: number, type: string, message: string): void {
  response
    .writeHead(status, { 'content-type': 'application/json', 'x-amzn-errortype': type })
    .end(JSON.stringify({ Type: 'User', message }));
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    // Keep reading (the client waits for its request to be consumed) but stop keeping past the limit.
    if (size <= MAX_ASYNC_PAYLOAD_BYTES + 1) chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
