import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { cancelledConditionIndexes, isConditionFailure } from '../aws/dynamodb-errors.js';
import {
  COUNTER_SHARDS,
  counterName,
  type IncidentRecord,
  type IncidentStatus,
  isIncidentId,
  LeaseLostError,
  type NewIncident,
  type NotifierTotals,
  type SegmentCursor,
  type SettlementView,
} from '../domain/incident.js';
import type { IncidentsStore, WalkPage } from '../ports/incidents-store.js';
import { DUE_INCIDENTS_INDEX, DUE_INDEX_PARTITION } from '../tables.js';
import { conditionalWrite, type TransactItem } from './conditional-write.js';

/**
 * Incidents and the state of their notification campaigns, in the records table
 * (docs/adr/0004-incidents-and-campaigns.md):
 *
 * - pk `incident`, sk `<id>`: the incident as declared (title, scope, actions, notify), its status, and what
 *   the dispatcher owns: the walk of the current round (phase, segment cursors, lease) and the counters it
 *   moves with each cursor save (targeted, queued, skipped).
 * - pk `incident#<id>`, sk `shard#<k>` (k < COUNTER_SHARDS): what the notifiers count (sent, failed, skipped,
 *   claimed, released) and the cancel flag their claim transactions check. Spread over a few small items
 *   because every 50-recipient batch writes one twice: on one item, a large campaign would make it hot and
 *   its transactions would conflict with each other.
 */

/** Where an incident's main item lives (other stores write it in their transactions). */
export const incidentKey = (id: string) => ({ pk: 'incident', sk: id });

const MAIN_PK = 'incident';

/**
 * The value of `dueIndexPk` (shared/tables.ts): every incident with dispatcher work shares this one index
 * partition, sorted by `dueAt`. It stays small (only incidents with work are in it) and is written only when
 * an incident becomes due or stops being due, never by the page saves of a walk.
 */
const DUE_PARTITION_VALUE = 'due';

/** Due-index page size: a run serves a few incidents, so one page is the normal case. */
const DUE_PAGE_SIZE = 100;

/**
 * Aliases for the campaign-state attributes (some of their names are DynamoDB reserved words). DynamoDB
 * rejects unused aliases, so each expression takes only the ones it uses.
 */
const stateNames = (...attributes: ('round' | 'phase' | 'segments' | 'cursors' | 'rounds')[]) =>
  Object.fromEntries(attributes.map((attribute) => [`#${attribute}`, attribute]));

export class DynamoDbIncidentsStore implements IncidentsStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  private key(id: string) {
    return { pk: MAIN_PK, sk: id };
  }

  shardKey(id: string, shard: number) {
    return { pk: `incident#${id}`, sk: `shard#${shard}` };
  }

  async create(incident: NewIncident): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.table,
        Item: {
          ...this.key(incident.id),
          ...incident,
          ...(incident.dueAt === undefined ? {} : { [DUE_INDEX_PARTITION]: DUE_PARTITION_VALUE }),
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  async get(id: string): Promise<IncidentRecord | undefined> {
    if (!isIncidentId(id)) return undefined;
    const result = await this.db.send(
      new GetCommand({ TableName: this.table, Key: this.key(id), ConsistentRead: true }),
    );
    return result.Item as IncidentRecord | undefined;
  }

  /** What a notifier needs to write the mail; immutable after creation, so callers may cache it. */
  async getContent(
    id: string,
  ): Promise<Pick<IncidentRecord, 'id' | 'title' | 'createdAt' | 'actions'> | undefined> {
    if (!isIncidentId(id)) return undefined;
    const result = await this.db.send(
      new GetCommand({
        TableName: this.table,
        Key: this.key(id),
        ProjectionExpression: '#id, #title, createdAt, #actions',
        ExpressionAttributeNames: { '#id': 'id', '#title': 'title', '#actions': 'actions' },
        // An immediate send reaches a notifier within a second of the incident's creation.
        ConsistentRead: true,
      }),
    );
    return result.Item as Pick<IncidentRecord, 'id' | 'title' | 'createdAt' | 'actions'> | undefined;
  }

  /** One page, newest first, after the incident `afterId` (exclusive); `lastId` names the next page's start. */
  async listNewestFirst(
    limit: number,
    afterId?: string,
  ): Promise<{ items: IncidentRecord[]; lastId: string | undefined }> {
    const result = await this.db.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': MAIN_PK },
        ScanIndexForward: false,
        Limit: limit,
        ...(afterId === undefined ? {} : { ExclusiveStartKey: this.key(afterId) }),
      }),
    );
    const items = (result.Items ?? []) as IncidentRecord[];
    return { items, lastId: result.LastEvaluatedKey ? (result.LastEvaluatedKey['sk'] as string) : undefined };
  }

  /** Total of a listed audience so far, read strongly (the answer to an audience chunk). */
  async audienceTotal(id: string): Promise<{ status: IncidentStatus; total: number } | undefined> {
    const item = await this.get(id);
    return item ? { status: item.status, total: item.audienceTotal ?? 0 } : undefined;
  }

  /**
   * Ends the upload of a listed audience: the incident becomes due at once (effects, then mail). Returns
   * undefined when it is not collecting (closed twice, cancelled): the caller reports the current state.
   */
  async closeAudience(id: string, nowMs: number): Promise<IncidentRecord | undefined> {
    try {
      const result = await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: this.key(id),
          UpdateExpression: 'SET #status = :scheduled, dueAt = :now, #due = :due, sendAt = :sendAt',
          ConditionExpression: '#status = :collecting',
          ExpressionAttributeNames: { '#status': 'status', '#due': DUE_INDEX_PARTITION },
          ExpressionAttributeValues: {
            ':due': DUE_PARTITION_VALUE,
            ':scheduled': 'scheduled',
            ':collecting': 'collecting',
            ':now': nowMs,
            ':sendAt': new Date(nowMs).toISOString(),
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return result.Attributes as IncidentRecord;
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  /** All notifier counters of an incident: one Query over its few shard items. */
  async settlement(id: string): Promise<SettlementView> {
    const result = await this.db.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :shard)',
        ExpressionAttributeValues: { ':pk': `incident#${id}`, ':shard': 'shard#' },
        ConsistentRead: true,
      }),
    );
    const byRound = new Map<
      number,
      { sent: number; failed: number; skipped: number; claimed: number; released: number }
    >();
    let lastActivityAt = 0;
    for (const item of result.Items ?? []) {
      lastActivityAt = Math.max(lastActivityAt, (item['activityAt'] as number | undefined) ?? 0);
      for (const [name, value] of Object.entries(item)) {
        const match = /^c(\d+)_(sent|failed|skipped|claimed|released)$/.exec(name);
        if (!match || typeof value !== 'number') continue;
        const round = Number(match[1]);
        const totals = byRound.get(round) ?? { sent: 0, failed: 0, skipped: 0, claimed: 0, released: 0 };
        totals[match[2] as keyof NotifierTotals] += value;
        byRound.set(round, totals);
      }
    }
    return { byRound, lastActivityAt };
  }

  /**
   * Ids with dispatcher work due, oldest due first, through the sparse due index: the reads grow with the
   * incidents that have work, never with the incidents ever declared. The index is eventually consistent;
   * an incident that became due a moment ago is found by the next run, and `takeLease` re-checks `dueAt` on
   * the item itself, so a stale index entry never starts work that is not due.
   */
  async findDue(nowMs: number): Promise<string[]> {
    const ids: string[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const result = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          IndexName: DUE_INCIDENTS_INDEX,
          KeyConditionExpression: '#due = :due AND dueAt <= :now',
          ExpressionAttributeNames: { '#due': DUE_INDEX_PARTITION },
          ExpressionAttributeValues: { ':due': DUE_PARTITION_VALUE, ':now': nowMs },
          Limit: DUE_PAGE_SIZE,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of result.Items ?? []) {
        if (item['pk'] === MAIN_PK) ids.push(item['sk'] as string);
      }
      startKey = result.LastEvaluatedKey;
    } while (startKey);
    return ids;
  }

  /**
   * One conditional update makes this dispatcher the only one working on the incident until `untilMs` (or
   * until it releases it): two dispatchers never walk the same incident. Returns the whole item, or
   * undefined when it is not due any more or another dispatcher holds a live lease.
   */
  async takeLease(
    id: string,
    owner: string,
    nowMs: number,
    untilMs: number,
  ): Promise<IncidentRecord | undefined> {
    try {
      const result = await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: this.key(id),
          UpdateExpression: 'SET leaseOwner = :owner, leaseUntil = :until',
          ConditionExpression:
            'dueAt <= :now AND (attribute_not_exists(leaseUntil) OR leaseUntil < :now OR leaseOwner = :owner)',
          ExpressionAttributeValues: { ':owner': owner, ':until': untilMs, ':now': nowMs },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return result.Attributes as IncidentRecord;
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  async releaseLease(id: string, owner: string): Promise<void> {
    await conditionalWrite(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: this.key(id),
          UpdateExpression: 'REMOVE leaseOwner, leaseUntil',
          ConditionExpression: 'leaseOwner = :owner',
          ExpressionAttributeValues: { ':owner': owner },
        }),
      ),
    );
  }

  /**
   * Starts the walk of `round` (0: the notification, n: the n-th reminder) from fresh cursors. Round 0 also
   * turns a scheduled incident into a running one.
   */
  async startRound(
    item: IncidentRecord,
    owner: string,
    input: { segments: number; nowMs: number },
  ): Promise<IncidentRecord> {
    const cursors: Record<string, SegmentCursor> = {};
    for (let segment = 0; segment < input.segments; segment += 1)
      cursors[String(segment)] = { done: false, page: 0 };
    const names: Record<string, string> = {
      ...stateNames('round', 'phase', 'segments', 'cursors', 'rounds'),
      '#rkey': String(item.round),
      '#status': 'status',
    };
    const values: Record<string, unknown> = {
      ':owner': owner,
      ':round': item.round,
      ':waiting': 'waiting',
      ':walking': 'walking',
      ':segments': input.segments,
      ':cursors': cursors,
      ':times': { startedAt: input.nowMs },
    };
    let update = 'SET #phase = :walking, #segments = :segments, #cursors = :cursors, #rounds.#rkey = :times';
    let condition = 'leaseOwner = :owner AND #round = :round AND #phase = :waiting';
    if (item.round === 0) {
      update += ', #status = :running';
      condition += ' AND #status IN (:scheduled, :running)';
      values[':running'] = 'running';
      values[':scheduled'] = 'scheduled';
    } else {
      condition += ' AND #status = :completed AND attribute_not_exists(remindersCancelled)';
      values[':completed'] = 'completed';
    }
    return this.leasedUpdate(item.id, update, condition, names, values);
  }

  /**
   * Saves one page of the walk: the segment's new cursor and what the page added to the counters, in one
   * update guarded by the lease. Idempotent on `page`, so an SDK retry of a save that did land is recognised
   * instead of counting the page twice. Returns the item as it is now (the caller stops on a cancel).
   */
  async savePage(id: string, owner: string, input: WalkPage): Promise<IncidentRecord> {
    const names = {
      ...stateNames('round', 'phase', 'cursors'),
      '#seg': String(input.segment),
      '#targeted': counterName(input.round, 'targeted'),
      '#queued': counterName(input.round, 'queued'),
      '#skipped': counterName(input.round, 'skipped'),
      '#effects': counterName(input.round, 'effects'),
    };
    const values = {
      ':owner': owner,
      ':round': input.round,
      ':walking': 'walking',
      ':cursor': input.cursor,
      ':previous': input.previousPage,
      ':targeted': input.targeted,
      ':queued': input.queued,
      ':skipped': input.skipped,
      ':effects': input.effects ?? 0,
    };
    try {
      const result = await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: this.key(id),
          UpdateExpression:
            'SET #cursors.#seg = :cursor ADD #targeted :targeted, #queued :queued, #skipped :skipped, #effects :effects',
          ConditionExpression:
            'leaseOwner = :owner AND #round = :round AND #phase = :walking AND #cursors.#seg.page = :previous',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return result.Attributes as IncidentRecord;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const current = await this.get(id);
      const saved = current?.cursors?.[String(input.segment)];
      // Our own save, retried by the SDK after it landed: the page is counted once, carry on.
      if (
        current &&
        current.leaseOwner === owner &&
        current.round === input.round &&
        saved?.page === input.cursor.page
      ) {
        return current;
      }
      throw new LeaseLostError(`Lost the lease on incident ${id}`);
    }
  }

  async finishWalk(id: string, owner: string, round: number, nowMs: number): Promise<IncidentRecord> {
    return this.leasedUpdate(
      id,
      'SET #phase = :settling, #rounds.#rkey.walkDoneAt = :now',
      'leaseOwner = :owner AND #round = :round AND #phase = :walking',
      { ...stateNames('round', 'phase', 'rounds'), '#rkey': String(round) },
      { ':owner': owner, ':round': round, ':walking': 'walking', ':settling': 'settling', ':now': nowMs },
    );
  }

  /**
   * Closes a settled round. `unknown` recipients (claimed, never settled: a notifier died between SES and its
   * settle) are counted as failed so that targeted = sent + skipped + failed holds exactly. Then either the
   * next reminder is scheduled or the campaign is done.
   */
  async finishRound(
    item: IncidentRecord,
    owner: string,
    input: { nowMs: number; unknown: number; nextRoundAt: number | undefined },
  ): Promise<IncidentRecord> {
    const names: Record<string, string> = {
      ...stateNames('round', 'phase', 'rounds'),
      '#rkey': String(item.round),
      '#failed': counterName(item.round, 'failed'),
      '#status': 'status',
    };
    const values: Record<string, unknown> = {
      ':owner': owner,
      ':round': item.round,
      ':settling': 'settling',
      ':unknown': input.unknown,
      ':now': input.nowMs,
    };
    let update = 'SET #rounds.#rkey.completedAt = :now';
    let condition = 'leaseOwner = :owner AND #round = :round AND #phase = :settling';
    if (item.round === 0) {
      update += ', #status = :completed, completedAt = :completedAt';
      condition += ' AND #status = :running';
      values[':completed'] = 'completed';
      values[':running'] = 'running';
      values[':completedAt'] = new Date(input.nowMs).toISOString();
    } else {
      condition += ' AND #status = :completed AND attribute_not_exists(remindersCancelled)';
      values[':completed'] = 'completed';
    }
    if (input.nextRoundAt === undefined) {
      update += ', #phase = :done REMOVE dueAt, #due';
      names['#due'] = DUE_INDEX_PARTITION;
      values[':done'] = 'done';
    } else {
      update += ', #phase = :waiting, #round = :next, dueAt = :nextAt';
      values[':waiting'] = 'waiting';
      values[':next'] = item.round + 1;
      values[':nextAt'] = input.nextRoundAt;
    }
    update += ' ADD #failed :unknown';
    return this.leasedUpdate(item.id, update, condition, names, values);
  }

  /**
   * Cancel: a scheduled or running incident becomes cancelled; a completed one keeps its status and loses its
   * pending reminders. Either way the shards get the flag that every notifier claim checks, in the same
   * transaction, so no mail of this incident is sent after this returns. Idempotent.
   */
  async cancel(id: string, now: Date): Promise<IncidentRecord | undefined> {
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const item = await this.get(id);
      if (!item) return undefined;
      const active = item.status === 'collecting' || item.status === 'scheduled' || item.status === 'running';
      const remindersPending =
        item.status === 'completed' && item.dueAt !== undefined && !item.remindersCancelled;
      if (!active && !remindersPending) return item;
      const main: TransactItem = active
        ? {
            Update: {
              TableName: this.table,
              Key: this.key(id),
              UpdateExpression: 'SET #status = :cancelled, cancelledAt = :now REMOVE dueAt, #due',
              ConditionExpression: '#status IN (:collecting, :scheduled, :running)',
              ExpressionAttributeNames: { '#status': 'status', '#due': DUE_INDEX_PARTITION },
              ExpressionAttributeValues: {
                ':cancelled': 'cancelled',
                ':now': now.toISOString(),
                ':collecting': 'collecting',
                ':scheduled': 'scheduled',
                ':running': 'running',
              },
            },
          }
        : {
            Update: {
              TableName: this.table,
              Key: this.key(id),
              UpdateExpression: 'SET remindersCancelled = :true, cancelledAt = :now REMOVE dueAt, #due',
              ConditionExpression: '#status = :completed AND attribute_exists(dueAt)',
              ExpressionAttributeNames: { '#status': 'status', '#due': DUE_INDEX_PARTITION },
              ExpressionAttributeValues: {
                ':true': true,
                ':now': now.toISOString(),
                ':completed': 'completed',
              },
            },
          };
      const shards: TransactItem[] = Array.from({ length: COUNTER_SHARDS }, (_, shard) => ({
        Update: {
          TableName: this.table,
          Key: this.shardKey(id, shard),
          UpdateExpression: 'SET cancelled = :true',
          ExpressionAttributeValues: { ':true': true },
        },
      }));
      try {
        await this.db.send(new TransactWriteCommand({ TransactItems: [main, ...shards] }));
        return await this.get(id);
      } catch (error) {
        // The dispatcher moved the incident on meanwhile (e.g. it just completed): decide again on fresh state.
        if (!cancelledConditionIndexes(error)) throw error;
      }
    }
    return this.get(id);
  }

  private async leasedUpdate(
    id: string,
    update: string,
    condition: string,
    names: Record<string, string>,
    values: Record<string, unknown>,
  ): Promise<IncidentRecord> {
    try {
      const result = await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: this.key(id),
          UpdateExpression: update,
          ConditionExpression: condition,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return result.Attributes as IncidentRecord;
    } catch (error) {
      if (isConditionFailure(error))
        throw new LeaseLostError(`Incident ${id} changed under the dispatcher's lease`);
      throw error;
    }
  }
}
