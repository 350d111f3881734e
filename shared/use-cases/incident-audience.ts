import { createHash } from 'node:crypto';
import { entryRef, parseAudienceEntry } from '../domain/audience-entry.js';
import { isIncidentId } from '../domain/incident.js';
import { InvalidRequestError, NotFoundError } from '../errors.js';
import type { AudienceMember, CampaignAudience } from '../ports/campaign-audience.js';
import type { IncidentAudienceStore } from '../ports/incident-audience-store.js';
import type { IncidentDeliveriesStore } from '../ports/incident-deliveries-store.js';
import type { Logger } from '../ports/logger.js';
import type { Deps } from './deps.js';
import { type IncidentView, viewOf } from './incidents.js';

/**
 * Listed audiences (`scope: {type: "list"}`, docs/adr/0004-incidents-and-campaigns.md): entries arrive in
 * chunks while the incident is `collecting`, are stored as they came (normalised), and are resolved to
 * accounts only by the dispatcher, after the close, page by page. Unknown entries and entries naming an
 * account an earlier entry already named are counted as skipped and listed in the report.
 */

/** The contract's Idempotency-Key: 1-128 printable ASCII characters. */
const IDEMPOTENCY_KEY = /^[\x20-\x7e]{1,128}$/;

export interface AudienceChunkResult {
  readonly received: number;
  readonly total: number;
}

export async function addAudienceChunk(
  deps: Pick<Deps, 'incidents' | 'listedAudience' | 'clock'>,
  id: string,
  entries: readonly string[],
  idempotencyKey: string | undefined,
): Promise<AudienceChunkResult> {
  if (!isIncidentId(id)) throw new NotFoundError('No such incident.');
  if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
    throw new InvalidRequestError('The Idempotency-Key header is invalid.', [
      { path: 'Idempotency-Key', message: 'Must be 1-128 printable ASCII characters.' },
    ]);
  }
  // Without a key, the chunk's own content is its key: resending the same entries never counts them twice.
  const chunkKey =
    idempotencyKey !== undefined
      ? `key:${idempotencyKey}`
      : `body:${createHash('sha256').update(entries.join('\n')).digest('hex')}`;
  const result = await deps.listedAudience.addChunk({
    incidentId: id,
    chunkKey,
    entries,
    nowMs: deps.clock.now().getTime(),
    readTotal: () => deps.incidents.audienceTotal(id),
  });
  return { received: result.received, total: result.total };
}

/**
 * Ends the upload: the incident becomes `scheduled` and the dispatcher starts at once (effects first, then
 * mail). Closing twice answers the incident as it is; a cancelled or non-list incident is a 400.
 */
export async function closeAudience(
  deps: Pick<Deps, 'incidents' | 'clock' | 'dispatcherTrigger'>,
  id: string,
  logger: Pick<Logger, 'warn'>,
): Promise<IncidentView> {
  if (!isIncidentId(id)) throw new NotFoundError('No such incident.');
  const closed = await deps.incidents.closeAudience(id, deps.clock.now().getTime());
  if (closed) {
    await deps.dispatcherTrigger
      .trigger()
      .catch((error: unknown) => logger.warn('could not start the dispatcher', { incidentId: id, error }));
    return viewOf(deps, closed);
  }
  const item = await deps.incidents.get(id);
  if (!item) throw new NotFoundError('No such incident.');
  if (item.scope.type !== 'list' || item.status === 'cancelled') {
    throw new InvalidRequestError(`This incident has no audience to close (it is ${item.status}).`, [
      { path: 'id', message: 'Only an incident with scope "list" that is not cancelled can be closed.' },
    ]);
  }
  return viewOf(deps, item);
}

type EntryResolver = Pick<CampaignAudience, 'getUsers' | 'resolveEmails' | 'resolveExternalIds'>;

/** The account each entry names (same order), undefined for an entry that names none. Batched lookups. */
export async function resolveEntries(
  deps: { readonly audience: EntryResolver },
  entries: readonly string[],
): Promise<(AudienceMember | undefined)[]> {
  const parsed = entries.map(parseAudienceEntry);
  const values = (kind: string) => [
    ...new Set(parsed.filter((entry) => entry.kind === kind).map((entry) => entry.value)),
  ];
  const emails = values('email');
  const externalIds = values('ext');
  const [byEmail, byExternalId] = await Promise.all([
    emails.length > 0 ? deps.audience.resolveEmails(emails) : new Map<string, string>(),
    externalIds.length > 0 ? deps.audience.resolveExternalIds(externalIds) : new Map<string, string>(),
  ]);
  const userIds = parsed.map((entry) => {
    if (entry.kind === 'email') return byEmail.get(entry.value);
    if (entry.kind === 'ext') return byExternalId.get(entry.value);
    return entry.value;
  });
  const known = [...new Set(userIds.filter((userId): userId is string => userId !== undefined))];
  const users = known.length > 0 ? await deps.audience.getUsers(known) : new Map<string, AudienceMember>();
  return userIds.map((userId) => (userId === undefined ? undefined : users.get(userId)));
}

export type ReportOutcome = 'sent' | 'skipped_unknown' | 'skipped_duplicate' | 'failed';

export interface ReportLine {
  readonly entry: string;
  readonly userId?: string;
  readonly outcome: ReportOutcome;
  readonly at?: string;
}

/** Parts per report page: 20 x 500 entries of ~150 bytes a line stay far below Lambda's 6 MB response. */
const REPORT_PARTS_PER_PAGE = 20;

/** The report's cursor: the last part's sort key, opaque to clients (base64url JSON) and validated. */
function encodeReportCursor(sk: string): string {
  return Buffer.from(JSON.stringify({ v: 1, sk }), 'utf8').toString('base64url');
}

function decodeReportCursor(cursor: string): string {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (
      typeof parsed === 'object' &&
      parsed !== null &&
      (parsed as { v?: unknown }).v === 1 &&
      typeof (parsed as { sk?: unknown }).sk === 'string' &&
      /^part#\d{13}#[0-9a-f]{16}#\d{3}$/.test((parsed as { sk: string }).sk)
    ) {
      return (parsed as { sk: string }).sk;
    }
  } catch {
    // Falls through to the 400 below.
  }
  throw new InvalidRequestError('The cursor is invalid.', [
    { path: 'cursor', message: 'Use the value of a previous response.' },
  ]);
}

/**
 * One page of the per-entry report of a listed incident, in upload order: each entry's account and
 * outcome. `sent` / `failed` come from the notifier's delivery record (no record, or a failed one, is
 * `failed`); an entry whose account an earlier entry named is `skipped_duplicate`. Outcomes are final only
 * once the campaign is over, so the report is served for completed and cancelled incidents only.
 */
export async function incidentReportPage(
  deps: Pick<Deps, 'incidents' | 'audience'> & {
    readonly listedAudience: Pick<IncidentAudienceStore, 'readPart' | 'getClaims' | 'batchGet'>;
    readonly incidentDeliveries: Pick<IncidentDeliveriesStore, 'claimKey'>;
  },
  id: string,
  cursor: string | undefined,
): Promise<{ lines: ReportLine[]; nextCursor: string | undefined }> {
  const afterSk = cursor === undefined ? undefined : decodeReportCursor(cursor);
  const item = await deps.incidents.get(id);
  if (!item) throw new NotFoundError('No such incident.');
  if (item.scope.type !== 'list') {
    throw new InvalidRequestError('Only an incident with scope "list" has a per-entry report.', [
      { path: 'id', message: 'Not a listed incident.' },
    ]);
  }
  if (item.status !== 'completed' && item.status !== 'cancelled') {
    throw new InvalidRequestError(
      `The report is ready once the incident is completed (it is ${item.status}).`,
      [{ path: 'id', message: 'Wait until the status is "completed".' }],
    );
  }
  const lines: ReportLine[] = [];
  let lastKey: Record<string, unknown> | undefined =
    afterSk === undefined ? undefined : { pk: `incident#${id}#aud`, sk: afterSk };
  let lastSk: string | undefined;
  for (let parts = 0; parts < REPORT_PARTS_PER_PAGE; parts += 1) {
    const read = await deps.listedAudience.readPart(id, lastKey);
    if (!read.part) {
      lastKey = undefined;
      break;
    }
    const { part } = read;
    lastSk = part.sk;
    lastKey = read.lastKey;
    const members = await resolveEntries(deps, part.entries);
    const userIds = members.flatMap((member) => (member ? [member.userId] : []));
    const claims = await deps.listedAudience.getClaims(id, userIds);
    const deliveries = await deps.listedAudience.batchGet(
      [...new Set(userIds)].map((userId) => deps.incidentDeliveries.claimKey(id, 0, userId)),
      ['pk', 'status', 'settledAt', 'claimedAt'],
    );
    const deliveryByUser = new Map(
      deliveries.map((delivery) => [(delivery['pk'] as string).split('#').pop() ?? '', delivery]),
    );
    part.entries.forEach((entry, index) => {
      const member = members[index];
      if (!member) {
        lines.push({ entry, outcome: 'skipped_unknown' });
        return;
      }
      const claim = claims.get(member.userId);
      if (claim !== undefined && claim !== entryRef(part.sk, index)) {
        lines.push({ entry, userId: member.userId, outcome: 'skipped_duplicate' });
        return;
      }
      const delivery = deliveryByUser.get(member.userId);
      const status = delivery?.['status'];
      const at = (delivery?.['settledAt'] ?? delivery?.['claimedAt']) as string | undefined;
      const outcome: ReportOutcome = status === 'sent' ? 'sent' : 'failed';
      lines.push({ entry, userId: member.userId, outcome, ...(at !== undefined ? { at } : {}) });
    });
    if (!lastKey) break;
  }
  return { lines, nextCursor: lastKey && lastSk !== undefined ? encodeReportCursor(lastSk) : undefined };
}
