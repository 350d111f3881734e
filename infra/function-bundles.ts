import { join } from 'node:path';
import type { BuildOptions } from 'esbuild';
import { esmBundling } from './constructs/app-function.js';
import { defaultFunctionsDir, repoRoot } from './paths.js';
import { type Workload, workloads } from './workloads.js';

/** The handler entry of a workload: `functions/<kebab-case name>.ts` (keyRotation -> key-rotation.ts). */
export function workloadEntry(workload: Workload, functionsDir: string = defaultFunctionsDir): string {
  return join(functionsDir, `${workload.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}.ts`);
}

/**
 * Modules a Lambda bundle leaves out: the AWS SDK (the Node.js runtime provides it, NodejsFunction's default) and,
 * for workloads that ship it installed, @node-rs/argon2 (a native addon esbuild cannot bundle).
 */
export function bundleExternals(workload: Workload): string[] {
  return ['@aws-sdk/*', ...(workloads[workload].shipsArgon2 ? ['@node-rs/argon2'] : [])];
}

/**
 * esbuild options equivalent to what infra/constructs/app-function.ts gives NodejsFunction, for checks and
 * measurements that must not run a CDK synth (test/infra/function-bundles.test.ts, bench/function-bundles.ts).
 */
export function lambdaBuildOptions(workload: Workload): BuildOptions {
  return {
    entryPoints: [workloadEntry(workload)],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: esmBundling.target,
    mainFields: [...esmBundling.mainFields],
    banner: { js: esmBundling.banner },
    minify: esmBundling.minify,
    keepNames: esmBundling.keepNames,
    tsconfig: esmBundling.tsconfig,
    absWorkingDir: repoRoot,
    external: bundleExternals(workload),
    logLevel: 'silent',
  };
}
