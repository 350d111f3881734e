/**
 * `npm run bench`: every benchmark, each reported as ratios measured in one run against the local
 * emulators (their throughput is the floor, not our code). Results go to bench/results/*.json and the
 * figures quoted in the README come from here.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runAuthBenchmarks } from './auth.js';
import { runFunctionBundleBenchmark } from './function-bundles.js';
import { runNotifierBenchmark } from './notifier.js';
import { runOAuthBenchmarks } from './oauth.js';
import { startBenchStack } from './support/bench-stack.js';
import { runUserImportBenchmark } from './user-import.js';

const here = dirname(fileURLToPath(import.meta.url));

async function main() {
  const results: Record<string, unknown> = { measuredAt: new Date().toISOString(), node: process.version };
  // First, before any emulator competes for the CPU: bundle size and cold-start import time of every function.
  results['functionBundles'] = await runFunctionBundleBenchmark();
  const stack = await startBenchStack({ LOG_LEVEL: 'ERROR' });
  try {
    results['auth'] = await runAuthBenchmarks(stack);
    results['notifier'] = await runNotifierBenchmark(stack);
    results['userImport'] = await runUserImportBenchmark(stack);
    results['oauth'] = await runOAuthBenchmarks(stack);
  } finally {
    await stack.stop();
  }
  results['passwordBlocklistMemory'] = JSON.parse(
    execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', join(here, 'blocklist-memory.ts')], {
      encoding: 'utf8',
    }),
  );
  mkdirSync(join(here, 'results'), { recursive: true });
  writeFileSync(join(here, 'results', 'auth-and-notifier.json'), `${JSON.stringify(results, null, 2)}\n`);
  console.log(JSON.stringify(results, null, 2));
  // The campaign benchmark seeds 100,000+ accounts: its own process and emulators, so nothing above skews it.
  execFileSync(process.execPath, ['--import', 'tsx', join(here, 'campaign.ts')], { stdio: 'inherit' });
  // Listed incidents (issue 15): effects per second, requests per account, dispatcher reads vs history.
  execFileSync(process.execPath, ['--import', 'tsx', join(here, 'listed-incident.ts')], { stdio: 'inherit' });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
