import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { repoRoot } from '../../../infra/paths.js';

/** The feature flags and settings of cdk.json, so tests synthesize what `cdk deploy` would. */
const cdkJsonContext = (): Record<string, unknown> =>
  (JSON.parse(readFileSync(join(repoRoot, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> })
    .context;

/** The required deployment settings, as an operator would pass them with `-c`. */
export const requiredContext = {
  domain: 'example.com',
  publicAppUrl: 'https://app.example.com/',
} as const;

export interface TestAppOptions {
  readonly context?: Record<string, unknown>;
  /** Stack names whose assets are bundled; none by default (bundling is slow and needs the npm registry). */
  readonly bundlingStacks?: readonly string[];
  readonly outdir?: string;
}

/**
 * An App for template tests: cdk.json's context, no bundling, and no built-in CloudFormation validation (it costs
 * ~2.5 s per synth and cfn-lint covers it in compliance.test.ts).
 */
export function testApp(options: TestAppOptions = {}): App {
  return new App({
    builtinCloudFormationValidation: false,
    ...(options.outdir ? { outdir: options.outdir } : {}),
    context: {
      ...cdkJsonContext(),
      ...requiredContext,
      ...options.context,
      'aws:cdk:bundling-stacks': [...(options.bundlingStacks ?? [])],
    },
  });
}
