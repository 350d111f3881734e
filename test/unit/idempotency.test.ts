import {
  IdempotencyItemAlreadyExistsError,
  IdempotencyItemNotFoundError,
} from '@aws-lambda-powertools/idempotency';
import { BasePersistenceLayer, type IdempotencyRecord } from '@aws-lambda-powertools/idempotency/persistence';
import type { Context } from 'aws-lambda';
import {
  IdempotencyKeyInUseError,
  IdempotencyKeyReusedError,
  InvalidRequestError,
} from '../../shared/errors.js';
import { errorToHttpResult } from '../../shared/http/error-response.js';
import { idempotencyKeyOf, runIdempotent } from '../../shared/http/idempotency.js';

/** Powertools' persistence contract in memory, with a switch that makes DynamoDB "throttle". */
class MemoryPersistence extends BasePersistenceLayer {
  readonly records = new Map<string, IdempotencyRecord>();
  failWith: Error | undefined;

  protected async _deleteRecord(record: IdempotencyRecord): Promise<void> {
    this.records.delete(record.idempotencyKey);
  }
  protected async _getRecord(key: string): Promise<IdempotencyRecord> {
    const record = this.records.get(key);
    if (!record) throw new IdempotencyItemNotFoundError();
    return record;
  }
  protected async _putRecord(record: IdempotencyRecord): Promise<void> {
    if (this.failWith) throw this.failWith;
    const existing = this.records.get(record.idempotencyKey);
    if (existing && !existing.isExpired()) throw new IdempotencyItemAlreadyExistsError('exists', existing);
    this.records.set(record.idempotencyKey, record);
  }
  protected async _updateRecord(record: IdempotencyRecord): Promise<void> {
    this.records.set(record.idempotencyKey, record);
  }
}

const context = { getRemainingTimeInMillis: () => 10_000 } as unknown as Context;
const request = (body: unknown) => ({ routeKey: 'POST /v1/admin/incidents', pathParameters: {}, body });
const silent = { error: () => undefined, warn: () => undefined };

describe('Idempotency-Key handling', () => {
  it('accepts 1-128 printable ASCII characters and refuses anything else with 400 invalid_request', () => {
    expect(idempotencyKeyOf({ 'idempotency-key': 'a'.repeat(128) })).toBe('a'.repeat(128));
    expect(idempotencyKeyOf({ 'Idempotency-Key': 'run 7/line-3' })).toBe('run 7/line-3');
    expect(idempotencyKeyOf({})).toBeUndefined();
    for (const bad of ['', ' ', 'a'.repeat(129), 'caf\u00e9', 'tab\there']) {
      expect(() => idempotencyKeyOf({ 'idempotency-key': bad })).toThrow(InvalidRequestError);
    }
  });

  it('runs once per key and request, and refuses another body with the same key', async () => {
    const store = new MemoryPersistence();
    let runs = 0;
    const execute = async () => ({ status: 201, body: { run: ++runs }, headers: {} });
    const options = { key: 'k-1', keyPrefix: 'admin', request: request({ title: 'A' }), context };

    const first = await runIdempotent(store, options, execute);
    const again = await runIdempotent(store, options, execute);

    expect(first).toEqual({ status: 201, body: { run: 1 }, headers: {} });
    expect(again).toEqual({ status: 201, body: { run: 1 }, headers: { 'idempotent-replayed': 'true' } });
    expect(runs).toBe(1);
    await expect(
      runIdempotent(store, { ...options, request: request({ title: 'B' }) }, execute),
    ).rejects.toBeInstanceOf(IdempotencyKeyReusedError);
    expect(runs).toBe(1);
  });

  it('answers 409 idempotency_key_in_use to a duplicate while the first is running, then replays it', async () => {
    const store = new MemoryPersistence();
    let release: () => void = () => undefined;
    const running = new Promise<void>((resolve) => {
      release = resolve;
    });
    const options = { key: 'k-2', keyPrefix: 'admin', request: request({ title: 'A' }), context };
    const slow = runIdempotent(store, options, async () => {
      await running;
      return { status: 201, body: { id: 'inc-1' } };
    });
    await new Promise((resolve) => setImmediate(resolve));

    const duplicate = await runIdempotent(store, options, async () => ({
      status: 201,
      body: { id: 'inc-2' },
    })).catch((error: unknown) => error);
    release();

    expect(duplicate).toBeInstanceOf(IdempotencyKeyInUseError);
    expect((await slow).body).toEqual({ id: 'inc-1' });
    expect((await runIdempotent(store, options, async () => ({ status: 500 }))).body).toEqual({
      id: 'inc-1',
    });
  });

  it('forgets a failed request, so the same key runs it again', async () => {
    const store = new MemoryPersistence();
    const options = { key: 'k-3', keyPrefix: 'admin', request: request({}), context };

    await expect(
      runIdempotent(store, options, async () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const retried = await runIdempotent(store, options, async () => ({ status: 202, body: { ok: true } }));

    expect(retried).toEqual({ status: 202, body: { ok: true } });
  });

  it('turns a DynamoDB failure of the record into the AWS error itself, which the API answers with 503', async () => {
    const store = new MemoryPersistence();
    store.failWith = Object.assign(new Error('Rate exceeded'), {
      name: 'ThrottlingException',
      $metadata: { httpStatusCode: 400 },
    });
    let ran = false;

    const error = await runIdempotent(
      store,
      { key: 'k-4', keyPrefix: 'admin', request: request({}), context },
      async () => {
        ran = true;
        return { status: 201 };
      },
    ).catch((caught: unknown) => caught);

    expect(ran).toBe(false);
    expect(error).toBe(store.failWith);
    expect(errorToHttpResult(error, silent).status).toBe(503);
  });
});
