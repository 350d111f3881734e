/**
 * Each Lambda function's bundle size and cold-start import time: esbuild with the stack's settings
 * (infra/function-bundles.ts), then `import()` of the bundle in a fresh Node process, several times, median
 * reported. The AWS SDK and argon2 stay external, as on Lambda, and load from node_modules.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, stop } from 'esbuild';
import { lambdaBuildOptions } from '../infra/function-bundles.js';
import { repoRoot } from '../infra/paths.js';
import { type Workload, workloads } from '../infra/workloads.js';

export interface FunctionBundleResult {
  readonly workload: Workload;
  readonly bundleKiB: number;
  /** Whether the bundle imports @node-rs/argon2 (only functions that hash passwords may). */
  readonly importsArgon2: boolean;
  readonly importMsMedian: number;
  readonly importMsMin: number;
}

const RUNS = 5;

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

/** Milliseconds from just before `import()` of the bundle to its completion, in a process of its own. */
function importTimeMs(file: string): number {
  const script = `const t = performance.now(); await import(${JSON.stringify(pathToFileURL(file).href)}); process.stdout.write(String(performance.now() - t));`;
  const output = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    // The AWS SDK's Node version notice would otherwise fill the bench output.
    stdio: ['ignore', 'pipe', 'ignore'],
    // What every function's environment has on Lambda; nothing is invoked, so no other variable is read.
    env: { PATH: process.env['PATH'], AWS_REGION: 'eu-west-1', LOG_LEVEL: 'ERROR' },
  });
  return Number(output);
}

export async function runFunctionBundleBenchmark(): Promise<FunctionBundleResult[]> {
  // Inside the repository, so the bundles resolve the external modules from its node_modules.
  const outdir = join(repoRoot, 'node_modules', '.cache', 'account-shield-function-bundles');
  rmSync(outdir, { recursive: true, force: true });
  const results: FunctionBundleResult[] = [];
  try {
    for (const workload of Object.keys(workloads) as Workload[]) {
      const outfile = join(outdir, workload, 'index.mjs');
      mkdirSync(join(outdir, workload), { recursive: true });
      const result = await build({ ...lambdaBuildOptions(workload), outfile, metafile: true });
      const output = Object.values(result.metafile.outputs)[0];
      const samples = Array.from({ length: RUNS }, () => importTimeMs(outfile));
      results.push({
        workload,
        bundleKiB: Math.round(statSync(outfile).size / 1024),
        importsArgon2: (output?.imports ?? []).some((entry) => entry.path === '@node-rs/argon2'),
        importMsMedian: Math.round(median(samples)),
        importMsMin: Math.round(Math.min(...samples)),
      });
    }
  } finally {
    await stop();
    rmSync(outdir, { recursive: true, force: true });
  }
  return results;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  runFunctionBundleBenchmark().then(
    (results) => console.table(results),
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
