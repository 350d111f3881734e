import type { TransactItem } from '../../../shared/ports/transaction.js';

/** What an in-memory transaction item does: its condition, and its write once every condition holds. */
export interface MemoryEffect {
  check(): boolean;
  apply(): void;
}

const effects = new WeakMap<TransactItem, MemoryEffect>();

/** A transaction item of the in-memory adapters, opaque like a DynamoDB one to the use-case that passes it on. */
export function memoryItem(label: string, effect: MemoryEffect): TransactItem {
  const item: TransactItem = {
    ConditionCheck: { TableName: 'in-memory', Key: { label }, ConditionExpression: label },
  };
  effects.set(item, effect);
  return item;
}

/** Every condition first, then every write, with no await in between: all or nothing, like TransactWriteItems. */
export function commitMemoryItems(items: readonly TransactItem[]): boolean {
  const list = items.map((item) => {
    const effect = effects.get(item);
    if (!effect) throw new Error('Not an item of the in-memory adapters');
    return effect;
  });
  if (!list.every((effect) => effect.check())) return false;
  for (const effect of list) effect.apply();
  return true;
}
