import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type App, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { addAccountShield } from '../../infra/account-shield-app.js';
import { AccountShieldStack } from '../../infra/account-shield-stack.js';
import { loadDeploymentConfig } from '../../infra/config.js';
import { type RouteDefinition, allRoutes as routes } from '../../shared/http/routes.js';
import { testApp } from './support/app.js';

/** Every acknowledgement in the tree: rule id -> reasons, with the construct paths that carry it. */
function acknowledgements(root: IConstruct): { id: string; reason: string; path: string }[] {
  return root.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({
          id: id.replace(/^[A-Za-z]+::/, ''),
          reason,
          path: construct.node.path,
        })),
      ),
  );
}

const nagFindings = (app: App) =>
  new AwsSolutionsChecks().validateScope(app).violations.map((violation) => ({
    rule: violation.ruleName,
    resources: violation.violatingResources.map((resource) => resource.constructPath),
  }));

let app: App;
let stack: AccountShieldStack;
let outdir: string;
let templateFile: string;

beforeAll(() => {
  // GIVEN the required context (no alarm email), as `cdk synth -c domain=... -c publicAppUrl=...` would, plus an
  // SSO provider whose client secret the stack creates (its acknowledged findings are part of what is checked)
  outdir = mkdtempSync(join(tmpdir(), 'account-shield-synth-'));
  app = testApp({
    outdir,
    context: {
      ssoProviders: [
        { id: 'google', displayName: 'Google', issuer: 'https://accounts.google.com', clientId: 'client' },
      ],
    },
  });
  stack = addAccountShield(app, { env: {} });
  // WHEN the app is synthesized, with cdk-nag registered as a validation plugin by addAccountShield
  const assembly = app.synth();
  templateFile = join(assembly.directory, assembly.getStackArtifact(stack.artifactId).templateFile);
}, 120_000);

afterAll(() => {
  rmSync(outdir, { recursive: true, force: true });
  CloudAssembly.cleanupTemporaryDirectories();
});

describe('GIVEN the app with the required context WHEN synthesized', () => {
  test('THEN cdk-nag AwsSolutions reports no unacknowledged finding', () => {
    // app.synth() above already failed on any finding; this lists them readably if it ever regresses.
    expect(nagFindings(app)).toEqual([]);
  });

  test('THEN every acknowledgement is one of the reviewed kinds and gives a reason', () => {
    const acks = acknowledgements(app);
    // L1: runtime pinned; APIG4: public or handler-checked routes; IAM5: execute-api ARNs of parameterised admin routes,
    // and the objects of the user-import bucket; S1: no access logs on the short-lived import bucket; SMG4: the public
    // key set, which holds no secret and changes with every rotation of the signing key, and SSO client secrets, which
    // the identity provider issues and rotates; SQS3: the security event publisher's on-failure queue, a DLQ itself.
    const reviewed =
      /^AwsSolutions-(L1|APIG4|S1|SMG4|SQS3|IAM5\[Resource::arn:[^\]]*:execute-api:[^\]]*\/\$default\/[^\]]*\]|IAM5\[Resource::<UserImportBucket[A-F0-9]+\.Arn>\/\*\])$/;
    for (const ack of acks) {
      expect(ack.id).toMatch(reviewed);
      expect(ack.reason.length).toBeGreaterThan(60);
      if (ack.id === 'AwsSolutions-SQS3') expect(ack.path).toMatch(/\/SecurityEvents\/DeadLetterQueue$/);
      if (ack.id === 'AwsSolutions-SMG4')
        expect(ack.path).toMatch(/\/SsoProviders\/\w+ClientSecret|(SigningKey|SetKeys)\/PublicKeys/);
    }
    // APIG4 only on routes that are public or check bearer tokens in the handler (and the $default 404
    // route), never on admin routes.
    const apig4Routes = acks.filter((ack) => ack.id === 'AwsSolutions-APIG4');
    expect(apig4Routes).toHaveLength(routes.filter((route) => route.auth !== 'admin').length + 1);
    expect(apig4Routes.some((ack) => ack.path.endsWith('/UnknownRoute'))).toBe(true);
    // The private signing key secret rotates; only the public key set is exempt.
    const smg4 = acks.filter((ack) => ack.id === 'AwsSolutions-SMG4' && !ack.path.includes('/SsoProviders/'));
    expect(smg4.map((ack) => ack.path.split('/').slice(-2).join('/')).sort()).toEqual([
      'SetKeys/PublicKeys',
      'SigningKey/PublicKeys',
    ]);
  });

  test('THEN cfn-lint finds nothing in the template (W3005 aside)', () => {
    const result = spawnSync('cfn-lint', ['--ignore-checks', 'W3005', '--', templateFile], {
      encoding: 'utf8',
    });
    if (result.error && (result.error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error(
        'cfn-lint is not on PATH. It ships with the CI image; locally install it with `pipx install cfn-lint` ' +
          '(or `pip install cfn-lint`) and re-run.',
      );
    }
    expect({ status: result.status, output: `${result.stdout}${result.stderr}`.trim() }).toEqual({
      status: 0,
      output: '',
    });
  }, 120_000);

  test('THEN no one is subscribed to the alarm topic', () => {
    Template.fromStack(stack).resourceCountIs('AWS::SNS::Subscription', 0);
  });
});

describe('GIVEN an admin route with a path parameter (execute-api ARNs need "*") WHEN checked', () => {
  test('THEN the wildcard in the operators policy is acknowledged for exactly that route', () => {
    const withParameterRoute = testApp();
    Validations.of(withParameterRoute).addPlugins(new AwsSolutionsChecks(withParameterRoute));
    const forceReset: RouteDefinition = {
      method: 'POST',
      path: '/v1/admin/users/{id}/force-reset',
      functionName: 'admin',
      auth: 'admin',
    };
    const config = loadDeploymentConfig((key) => withParameterRoute.node.tryGetContext(key), {});
    const withForceReset = [
      ...routes.filter((route) => route.path !== forceReset.path || route.method !== forceReset.method),
      forceReset,
    ];
    new AccountShieldStack(withParameterRoute, 'WithParameterRoute', { config, routes: withForceReset });

    expect(nagFindings(withParameterRoute)).toEqual([]);
    const iam5 = acknowledgements(withParameterRoute).filter(
      (ack) => ack.id.startsWith('AwsSolutions-IAM5') && ack.id.includes(':execute-api:'),
    );
    expect(iam5.map((ack) => ack.id)).toContainEqual(
      expect.stringMatching(
        /^AwsSolutions-IAM5\[Resource::arn:.*:execute-api:.*\/\$default\/POST\/v1\/admin\/users\/\*\/force-reset\]$/,
      ),
    );
    const parameterisedAdminRoutes = withForceReset.filter(
      (route) => route.auth === 'admin' && route.path.includes('{'),
    );
    expect(iam5).toHaveLength(parameterisedAdminRoutes.length);
  });
});
