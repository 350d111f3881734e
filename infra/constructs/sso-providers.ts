import { CfnOutput, type RemovalPolicy, Validations } from 'aws-cdk-lib';
import { type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { SsoProviderDeployment } from '../config.js';

export interface SsoProvidersProps {
  readonly providers: readonly SsoProviderDeployment[];
  /** Origin of the API: the redirect URIs to register at each provider are built from it. */
  readonly apiBaseUrl: string;
  readonly removalPolicy: RemovalPolicy;
}

/** What the sso function needs of the providers: their settings (no secret values) and the secrets to read. */
export interface SsoResources {
  /** The SSO_PROVIDERS variable of shared/config.ts: ids, issuers, client ids and secret ARNs. */
  readonly providersJson: string;
  readonly apiBaseUrl: string;
  readonly clientSecrets: readonly ISecret[];
}

/**
 * The OpenID Connect providers of SSO sign-in. Client secrets stay in Secrets Manager, never in the template or
 * the environment: an existing secret by its ARN, or one created here for the operator to fill
 * (`aws secretsmanager put-secret-value`). The sso function reads each once per cold start.
 */
export class SsoProviders extends Construct {
  readonly resources: SsoResources;

  constructor(scope: Construct, id: string, props: SsoProvidersProps) {
    super(scope, id);
    const clientSecrets: ISecret[] = [];
    const entries = props.providers.map((provider) => {
      let secret: ISecret;
      if (provider.clientSecretArn) {
        secret = Secret.fromSecretCompleteArn(this, `${provider.id}ClientSecret`, provider.clientSecretArn);
      } else {
        const created = new Secret(this, `${provider.id}ClientSecret`, {
          description: `Client secret of the "${provider.displayName}" OpenID Connect client (set it with put-secret-value)`,
          removalPolicy: props.removalPolicy,
        });
        Validations.of(created).acknowledge({
          id: 'AwsSolutions-SMG4',
          reason:
            'The identity provider issues and rotates this client secret; Secrets Manager cannot rotate it. ' +
            'The operator puts the new value here after rotating it at the provider.',
        });
        new CfnOutput(this, `${provider.id}ClientSecretArn`, {
          description: `Put the client secret of "${provider.displayName}" here`,
          value: created.secretArn,
        });
        secret = created;
      }
      clientSecrets.push(secret);
      new CfnOutput(this, `${provider.id}RedirectUri`, {
        description: `Redirect URI to register at "${provider.displayName}"`,
        value: `${props.apiBaseUrl}/v1/auth/sso/${provider.id}/callback`,
      });
      return {
        id: provider.id,
        displayName: provider.displayName,
        issuer: provider.issuer,
        clientId: provider.clientId,
        clientSecretArn: secret.secretArn,
        jitCreate: provider.jitCreate,
      };
    });
    this.resources = {
      providersJson: JSON.stringify(entries),
      apiBaseUrl: props.apiBaseUrl,
      clientSecrets,
    };
  }
}
