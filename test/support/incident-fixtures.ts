/**
 * Incidents on a test stack: accounts written straight into its tables, incidents created over HTTP, the
 * dispatcher run as the schedule would, and the incident's mails read back from the SES emulator. Shared by the
 * files that each run incidents on a stack of their own (incidents, the tenant-wide incident).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDeps } from '../../shared/app.js';
import { loadConfig } from '../../shared/config.js';
import { identifierKey } from '../../shared/domain/identifiers.js';
import type { UserRecord } from '../../shared/domain/user.js';
import { NEVER_ASK_LINE } from '../../shared/notifications/templates.js';
import type { Deps } from '../../shared/use-cases/deps.js';
import { type Api, sleep } from './fixtures.js';
import { api } from './http.js';
import { type SentMail, startTestStack, type TestStack } from './test-stack.js';

export interface Counts {
  targeted: number;
  queued: number;
  sent: number;
  skipped: number;
  failed: number;
}
export interface IncidentBody {
  id: string;
  title: string;
  status: 'scheduled' | 'running' | 'completed' | 'cancelled';
  createdAt: string;
  sendAt: string | null;
  scope: Record<string, unknown>;
  actions: { forcePasswordReset: boolean; revokeSessions: boolean };
  counts: Counts;
  reminders: { round: number; status: string; counts: Counts }[];
}

export interface Seeded {
  readonly id: string;
  readonly email: string;
  readonly authMethod: 'password' | 'sso';
}

/** The password of every seeded password account. */
export const PASSWORD = 'violet-harbour-lantern-42';

/**
 * How long the dispatcher waits on silent notifiers before it counts their claims failed: long enough that a
 * notifier slowed down by a loaded machine is never taken for a dead one (a test that needs the grace to pass
 * moves the dispatcher's clock instead of waiting).
 */
export const SETTLE_GRACE_SECONDS = 30;

export interface IncidentStack {
  readonly stack: TestStack;
  readonly client: Api;
  readonly admin: { readonly token: string };
  /** The handlers' configuration and stores, built after the stack set the environment (no caches). */
  readonly deps: Deps;
}

/** A stack for campaigns: the emulators take hundreds of mails per second (the default, 14/s, would make it slow). */
export async function startIncidentStack(): Promise<IncidentStack> {
  const stack = await startTestStack({
    env: {
      SES_MAX_SEND_RATE: '2000',
      CAMPAIGN_PAGE_SIZE: '100',
      CAMPAIGN_SETTLE_GRACE_SECONDS: String(SETTLE_GRACE_SECONDS),
      DISPATCHER_SAFETY_MARGIN_MS: '1000',
    },
  });
  return {
    stack,
    client: api(stack.apiUrl),
    admin: { token: stack.adminToken },
    deps: createDeps(loadConfig(process.env)),
  };
}

export const isCompleted = (incident: IncidentBody) => incident.status === 'completed';

export type IncidentFixtures = ReturnType<typeof incidentFixtures>;

/** `passwordHash`: one real argon2id hash of PASSWORD, computed once per file (logins verify it like any other). */
function incidentFixtures(stack: TestStack, client: Api, passwordHash: string) {
  const admin = { token: stack.adminToken };
  const seeder = DynamoDBDocumentClient.from(
    new DynamoDBClient({ endpoint: stack.endpoints.dynamodb, region: 'us-east-1', maxAttempts: 5 }),
  );

  /** Writes accounts straight into the tables: hundreds in a second, without an argon2 hash each. */
  async function seedAccounts(
    counts: { password: number; sso: number },
    createdAt = new Date(),
  ): Promise<Seeded[]> {
    const tag = randomBytes(4).toString('hex');
    const seeded: Seeded[] = [];
    const make = (authMethod: 'password' | 'sso', index: number): UserRecord => ({
      userId: randomUUID(),
      email: `camp-${tag}-${authMethod}-${index}@example.test`,
      authMethod,
      ...(authMethod === 'password' ? { passwordHash, passwordSetAt: createdAt.getTime() } : {}),
      tokenVersion: 0,
      mustResetPassword: false,
      createdAt: createdAt.toISOString(),
      updatedAt: createdAt.toISOString(),
    });
    const records = [
      ...Array.from({ length: counts.password }, (_, i) => make('password', i)),
      ...Array.from({ length: counts.sso }, (_, i) => make('sso', i)),
    ];
    // BatchWriteItem, 25 at a time: the users and their email guards, in the layout UsersStore.create writes.
    const writes = records.flatMap((record) => [
      { table: stack.tables.users, item: record as unknown as Record<string, unknown> },
      {
        table: stack.tables.identifiers,
        item: { identifier: identifierKey({ kind: 'email', value: record.email }), userId: record.userId },
      },
    ]);
    const chunks = Array.from({ length: Math.ceil(writes.length / 25) }, (_, i) =>
      writes.slice(i * 25, i * 25 + 25),
    );
    await Promise.all(
      chunks.map(async (chunk) => {
        let pending: Record<string, { PutRequest: { Item: Record<string, unknown> } }[]> = {};
        for (const { table, item } of chunk) {
          pending[table] = [...(pending[table] ?? []), { PutRequest: { Item: item } }];
        }
        while (Object.keys(pending).length > 0) {
          const result = await seeder.send(new BatchWriteCommand({ RequestItems: pending }));
          pending = (result.UnprocessedItems ?? {}) as typeof pending;
        }
      }),
    );
    for (const record of records)
      seeded.push({ id: record.userId, email: record.email, authMethod: record.authMethod });
    return seeded;
  }

  async function createIncident(body: Record<string, unknown>): Promise<IncidentBody> {
    const response = await client.post<{ incident: IncidentBody }>('/v1/admin/incidents', body, admin);
    if (response.status !== 201)
      throw new Error(`incident creation failed: ${response.status} ${response.text}`);
    return response.body.incident;
  }

  async function getIncident(id: string): Promise<IncidentBody> {
    const response = await client.get<{ incident: IncidentBody }>(`/v1/admin/incidents/${id}`, admin);
    expect(response.status).toBe(200);
    return response.body.incident;
  }

  /** Runs the dispatcher (as the schedule would) until the incident satisfies `done`. */
  async function dispatchUntil(id: string, done: (incident: IncidentBody) => boolean, timeoutMs = 20_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await stack.runDispatcher();
      const incident = await getIncident(id);
      if (done(incident)) return incident;
      if (Date.now() > deadline)
        throw new Error(`incident ${id} did not get there: ${JSON.stringify(incident)}`);
      await sleep(150);
    }
  }

  /** The incident's mails (found by its unique title) per recipient, from the SES emulator's store. */
  async function incidentMails(title: string): Promise<Map<string, SentMail[]>> {
    const byRecipient = new Map<string, SentMail[]>();
    for (const mail of await stack.ses.listMail()) {
      if (!mail.body.text?.includes(title)) continue;
      for (const to of mail.destination.to) {
        const address = to.toLowerCase();
        byRecipient.set(address, [...(byRecipient.get(address) ?? []), mail]);
      }
    }
    return byRecipient;
  }

  async function waitForMailWhere(to: string, matches: (mail: SentMail) => boolean, timeoutMs = 10_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = (await stack.ses.listMail(to)).find(matches);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no matching mail to ${to} within ${timeoutMs} ms`);
      await sleep(100);
    }
  }

  async function sessionStatus(accessToken: string): Promise<number> {
    return (await client.get('/v1/auth/session', { token: accessToken })).status;
  }

  return {
    admin,
    seedAccounts,
    createIncident,
    getIncident,
    dispatchUntil,
    incidentMails,
    waitForMailWhere,
    sessionStatus,
    close: () => seeder.destroy(),
  };
}

/** An incident stack with its fixtures, and the one argon2id hash of PASSWORD its seeded accounts have. */
export interface IncidentTestStack extends IncidentStack {
  readonly passwordHash: string;
  readonly fixtures: IncidentFixtures;
}

/**
 * One incident stack for the test file, with its fixtures: started before the file's tests and handed to `use`
 * (which keeps them in the file's variables), closed after them. Call it at the top level of the test file.
 */
export function useIncidentStack(use: (started: IncidentTestStack) => void): void {
  let stack: TestStack | undefined;
  let fixtures: IncidentFixtures | undefined;
  beforeAll(async () => {
    const started = await startIncidentStack();
    stack = started.stack;
    const passwordHash = await started.deps.hasher.hash(PASSWORD);
    fixtures = incidentFixtures(started.stack, started.client, passwordHash);
    use({ ...started, passwordHash, fixtures });
  }, 60_000);
  afterAll(async () => {
    fixtures?.close();
    await stack?.stop();
  });
}

export function expectAudienceContent(mail: SentMail, audience: 'password' | 'sso') {
  const text = mail.body.text ?? '';
  const html = mail.body.html ?? '';
  expect(text).toContain(NEVER_ASK_LINE);
  expect(`${text}${html}`).not.toMatch(/token=|reset-password/);
  expect(text).toContain('https://app.account-shield.test/security');
  if (audience === 'password') {
    expect(text).toContain('https://app.account-shield.test/forgot-password');
    expect(text).toContain('"Sign out connected devices"');
    expect(text).toMatch(/two-factor authentication/);
  } else {
    expect(text).toMatch(/single sign-on/);
    expect(text).toContain('"Sign out of all devices"');
    expect(text).toMatch(/two-factor authentication at your identity provider/);
    // SSO accounts have no password with us: never send them to a reset.
    expect(`${mail.subject}\n${text}`).not.toMatch(/reset your password|forgot-password|new password/i);
  }
}
