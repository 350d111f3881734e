import { progressiveDelayMs } from '../../../shared/domain/attempt-limits.js';
import type { AttemptCounters, CounterRef, GateResult } from '../../../shared/ports/attempt-counters.js';
import { memoryItem } from './transaction.js';

/** The same semantics as shared/stores/attempts-store.ts; each method is atomic (no await inside). */
export class InMemoryAttemptCounters implements AttemptCounters {
  readonly items = new Map<string, { count: number; shutUntil: number }>();
  private readonly known = new Map<string, number>();
  private key = (ref: Pick<CounterRef, 'subject' | 'counter' | 'windowStart'>) =>
    `${ref.subject}|${ref.counter}#${ref.windowStart}`;

  async takeBelow(ref: CounterRef, limit: number) {
    const item = this.items.get(this.key(ref)) ?? { count: 0, shutUntil: 0 };
    if (item.count >= limit) return false;
    this.items.set(this.key(ref), { ...item, count: item.count + 1 });
    return true;
  }
  async takeThroughGate(
    ref: CounterRef,
    nowMs: number,
    delay: Parameters<AttemptCounters['takeThroughGate']>[2],
  ): Promise<GateResult> {
    const item = this.items.get(this.key(ref)) ?? { count: 0, shutUntil: 0 };
    if (item.shutUntil > nowMs) return { taken: false, retryAtMs: item.shutUntil };
    this.items.set(this.key(ref), {
      count: item.count + 1,
      shutUntil: nowMs + progressiveDelayMs(item.count + 1, delay),
    });
    return { taken: true };
  }
  async giveBack(ref: CounterRef) {
    const item = this.items.get(this.key(ref));
    if (item && item.count > 0) item.count -= 1;
  }
  async reset(ref: CounterRef) {
    this.items.delete(this.key(ref));
  }
  async clear(subject: string) {
    for (const key of [...this.items.keys()]) if (key.startsWith(`${subject}|`)) this.items.delete(key);
  }
  async isKnownSource(subject: string, source: string, nowMs: number) {
    return (this.known.get(`${subject}|${source}`) ?? 0) * 1000 > nowMs;
  }
  async rememberSource(subject: string, source: string, expiresAt: number) {
    this.known.set(`${subject}|${source}`, expiresAt);
  }
  rememberSourceItem(subject: string, source: string, expiresAt: number) {
    return memoryItem('remember source', {
      check: () => true,
      apply: () => void this.known.set(`${subject}|${source}`, expiresAt),
    });
  }
  resetItem(ref: CounterRef) {
    return memoryItem('reset counter', {
      check: () => true,
      apply: () => void this.items.delete(this.key(ref)),
    });
  }

  /** The count of one counter (tests read what the limiter left behind). */
  count(subject: string, counterPrefix: string): number {
    return [...this.items.entries()]
      .filter(([key]) => key.startsWith(`${subject}|${counterPrefix}`))
      .reduce((sum, [, item]) => sum + item.count, 0);
  }
}
