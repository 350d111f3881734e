import { randomBytes } from 'node:crypto';
import type { SecurityEvent } from '../../../shared/domain/security-event.js';
import type { TenantPolicy, TenantPolicyField } from '../../../shared/domain/tenant-policy.js';
import type { NotificationMessage } from '../../../shared/notifications/messages.js';
import type { NotificationQueue } from '../../../shared/ports/notification-queue.js';
import type { ResetTokenRecord, ResetTokensStore } from '../../../shared/ports/reset-tokens-store.js';
import type { SecurityEventsStore } from '../../../shared/ports/security-events-store.js';
import type { TenantPolicyStore } from '../../../shared/ports/tenant-policy-store.js';
import type { ThrottleStore } from '../../../shared/ports/throttle-store.js';
import type { TransactItem } from '../../../shared/ports/transaction.js';
import { RESET_TOKEN_LIFETIME_SECONDS } from '../../../shared/stores/reset-tokens-store.js';
import { memoryItem } from './transaction.js';

/** The tenant-wide policy item (shared/stores/tenant-policy-store.ts): cut-offs only move forward. */
export class InMemoryTenantPolicy implements TenantPolicyStore {
  policy: TenantPolicy = {};
  /** Runs just before each read returns: lets a test move a cut-off while a use-case is between its steps. */
  onRead: (() => void) | undefined;
  reads = 0;

  async get(): Promise<TenantPolicy> {
    this.reads += 1;
    const policy = { ...this.policy };
    this.onRead?.();
    return policy;
  }

  unchangedItem(seen: TenantPolicy): TransactItem {
    return memoryItem('tenant policy unchanged', {
      check: () =>
        this.policy.revokeTokensIssuedBefore === seen.revokeTokensIssuedBefore &&
        this.policy.forceResetPasswordsSetBefore === seen.forceResetPasswordsSetBefore,
      apply: () => undefined,
    });
  }

  async raise(field: TenantPolicyField, atMs: number): Promise<void> {
    const current = this.policy[field];
    if (current === undefined || current < atMs) this.policy = { ...this.policy, [field]: atMs };
  }
}

/** Per-user audit trail (shared/stores/security-events-store.ts). */
export class InMemoryEvents implements SecurityEventsStore {
  readonly items: { userId: string; event: SecurityEvent }[] = [];

  async record(userId: string, event: SecurityEvent): Promise<void> {
    this.items.push({ userId, event: structuredClone(event) });
  }
  recordItem(userId: string, event: SecurityEvent): TransactItem {
    return memoryItem('record event', { check: () => true, apply: () => void this.record(userId, event) });
  }
  async recordMany(events: readonly { userId: string; event: SecurityEvent }[]): Promise<void> {
    for (const { userId, event } of events) await this.record(userId, event);
  }
  eventItem(userId: string, event: SecurityEvent): Record<string, unknown> {
    return { pk: `events#${userId}`, sk: `${event.at}#${randomBytes(4).toString('hex')}`, ...event };
  }
  async listNewestFirst(userId: string): Promise<SecurityEvent[]> {
    return this.of(userId).reverse().slice(0, 100);
  }
  /** The events of one account, oldest first. */
  of(userId: string): SecurityEvent[] {
    return this.items.filter((item) => item.userId === userId).map((item) => item.event);
  }
  types(userId: string): string[] {
    return this.of(userId).map((event) => event.type);
  }
}

/** Fixed- and sliding-window counters (shared/stores/throttle-store.ts). */
export class InMemoryThrottles implements ThrottleStore {
  private readonly counts = new Map<string, number>();
  private readonly sliding = new Map<string, number[]>();
  private key(scope: string, key: string, windowSeconds: number, nowMs: number) {
    return `${scope}#${key}#${Math.floor(nowMs / 1000 / windowSeconds) * windowSeconds}`;
  }
  async increment(scope: string, key: string, windowSeconds: number, nowMs: number) {
    const id = this.key(scope, key, windowSeconds, nowMs);
    const count = (this.counts.get(id) ?? 0) + 1;
    this.counts.set(id, count);
    return count;
  }
  async tryTake(scope: string, key: string, limit: number, windowSeconds: number, nowMs: number) {
    const id = this.key(scope, key, windowSeconds, nowMs);
    const count = this.counts.get(id) ?? 0;
    if (count >= limit) return false;
    this.counts.set(id, count + 1);
    return true;
  }
  async giveBack(scope: string, key: string, windowSeconds: number, nowMs: number) {
    const id = this.key(scope, key, windowSeconds, nowMs);
    const count = this.counts.get(id) ?? 0;
    if (count > 0) this.counts.set(id, count - 1);
  }
  async hasRoomSliding(scope: string, key: string, limit: number, windowSeconds: number, nowMs: number) {
    const taken = this.sliding.get(`${scope}#${key}`) ?? [];
    return taken.filter((at) => at > nowMs - windowSeconds * 1000).length < limit;
  }
  async tryTakeSliding(scope: string, key: string, limit: number, windowSeconds: number, nowMs: number) {
    const recent = (this.sliding.get(`${scope}#${key}`) ?? []).filter(
      (at) => at > nowMs - windowSeconds * 1000,
    );
    if (recent.length >= limit) return false;
    this.sliding.set(`${scope}#${key}`, [...recent, nowMs]);
    return true;
  }
}

/** Password reset tokens by hash (shared/stores/reset-tokens-store.ts): single use, checked at consumption. */
export class InMemoryResetTokens implements ResetTokensStore {
  readonly tokens = new Map<string, ResetTokenRecord>();

  async create(tokenHash: string, userId: string, now: Date): Promise<void> {
    if (this.tokens.has(tokenHash)) throw new Error('The reset token exists');
    this.tokens.set(tokenHash, {
      userId,
      createdAtMs: now.getTime(),
      expiresAt: Math.floor(now.getTime() / 1000) + RESET_TOKEN_LIFETIME_SECONDS,
    });
  }
  async get(tokenHash: string) {
    const token = this.tokens.get(tokenHash);
    return token && { ...token };
  }
  consumeItem(tokenHash: string, now: Date): TransactItem {
    return memoryItem('consume reset token', {
      check: () => {
        const token = this.tokens.get(tokenHash);
        return (
          token !== undefined &&
          token.usedAt === undefined &&
          token.expiresAt > Math.floor(now.getTime() / 1000)
        );
      },
      apply: () =>
        void this.tokens.set(tokenHash, { ...this.tokens.get(tokenHash)!, usedAt: now.toISOString() }),
    });
  }
}

/** The notifications queue: what a use-case queued is read back from `messages`. */
export class InMemoryNotifications implements NotificationQueue {
  readonly messages: NotificationMessage[] = [];
  async enqueue(messages: readonly NotificationMessage[]): Promise<void> {
    this.messages.push(...structuredClone(messages));
  }
}
