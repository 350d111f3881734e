/** Run in its own process with --expose-gc: heap and RSS cost of loading the password blocklist once. */
import { loadPasswordBlocklist } from '../shared/domain/password-blocklist.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
gc();
const before = process.memoryUsage();
const started = performance.now();
const blocklist = loadPasswordBlocklist();
const loadMs = performance.now() - started;
gc();
const after = process.memoryUsage();
console.log(
  JSON.stringify({
    entries: blocklist.size,
    loadMs: Number(loadMs.toFixed(1)),
    heapMiB: Number(((after.heapUsed - before.heapUsed) / 2 ** 20).toFixed(2)),
    rssMiB: Number(((after.rss - before.rss) / 2 ** 20).toFixed(2)),
  }),
);
