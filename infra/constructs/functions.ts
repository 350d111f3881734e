import { join } from 'node:path';
import type { RemovalPolicy } from 'aws-cdk-lib';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { allRoutes, type FunctionName, type RouteDefinition } from '../../shared/http/routes.js';
import { AppFunction, type WorkloadResources } from './app-function.js';

export interface ApiFunctionsProps {
  readonly functionsDir: string;
  readonly resources: WorkloadResources;
  readonly environment: Readonly<Record<string, string>>;
  readonly logRetention: RetentionDays;
  readonly logRemovalPolicy: RemovalPolicy;
  /** @default every route of shared/http/routes.ts, the hosted pages included */
  readonly routes?: readonly RouteDefinition[];
}

/**
 * The hosted pages are built once, at bundling time, into `pages/` next to the handler (functions/pages.ts
 * reads them from there at cold start). Runs with the local esbuild, like the bundling itself.
 */
export const pagesBuildCommands = (inputDir: string, outputDir: string): string[] => [
  `cd "${inputDir}" && npx tsx web/build.ts "${outputDir}/pages"`,
];

/** The route groups that `routes` uses, each once, in first-use order. */
export const routeGroups = (routes: readonly RouteDefinition[]): FunctionName[] => [
  ...new Set(routes.map((route) => route.functionName)),
];

/** One Lambda function per route group of shared/http/routes.ts (entry `functions/<functionName>.ts`). */
export class ApiFunctions extends Construct {
  readonly functions: ReadonlyMap<FunctionName, AppFunction>;

  constructor(scope: Construct, id: string, props: ApiFunctionsProps) {
    super(scope, id);
    const functions = new Map<FunctionName, AppFunction>();
    for (const name of routeGroups(props.routes ?? allRoutes)) {
      const logicalId = name.charAt(0).toUpperCase() + name.slice(1);
      functions.set(
        name,
        new AppFunction(this, logicalId, {
          workload: name,
          entry: join(props.functionsDir, `${name}.ts`),
          resources: props.resources,
          environment: props.environment,
          logRetention: props.logRetention,
          logRemovalPolicy: props.logRemovalPolicy,
          ...(name === 'pages' ? { afterBundling: pagesBuildCommands } : {}),
        }),
      );
    }
    this.functions = functions;
  }

  functionFor(name: FunctionName): AppFunction {
    const fn = this.functions.get(name);
    if (!fn) throw new Error(`No function for route group "${name}"`);
    return fn;
  }
}
