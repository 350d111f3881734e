import { type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { AccountShieldStack, type AccountShieldStackProps } from './account-shield-stack.js';
import { loadDeploymentConfig } from './config.js';

export interface AddAccountShieldOptions {
  /** Where `ACCOUNT_SHIELD_*` settings and `CDK_DEFAULT_ACCOUNT`/`CDK_DEFAULT_REGION` are read. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  readonly functionsDir?: AccountShieldStackProps['functionsDir'];
}

/**
 * Adds the account-shield stack to `app`, configured from context and environment, with the cdk-nag
 * AwsSolutions checks as a validation plugin: an unacknowledged finding fails the synth.
 */
export function addAccountShield(app: App, options: AddAccountShieldOptions = {}): AccountShieldStack {
  const env = options.env ?? process.env;
  const config = loadDeploymentConfig((key) => app.node.tryGetContext(key), env);
  const stack = new AccountShieldStack(app, config.stackName, {
    config,
    ...(options.functionsDir ? { functionsDir: options.functionsDir } : {}),
    env: { account: env['CDK_DEFAULT_ACCOUNT'], region: env['CDK_DEFAULT_REGION'] },
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return stack;
}
