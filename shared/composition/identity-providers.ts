import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import type { AwsClients } from '../aws/clients.js';
import type { Config } from '../config.js';
import { createOpenIdProviders } from '../oidc/openid-providers.js';
import type { IdentityProviders } from '../ports/identity-providers.js';

/** The configured OpenID Connect providers (openid-client), their client secrets read from Secrets Manager. */
export function openIdProviders(config: Config, clients: AwsClients): IdentityProviders {
  return createOpenIdProviders(config.sso.providers, async (secretArn) => {
    const secret = await clients.secretsManager.send(new GetSecretValueCommand({ SecretId: secretArn }));
    if (!secret.SecretString) throw new Error(`Secret ${secretArn} has no string value`);
    return secret.SecretString;
  });
}
