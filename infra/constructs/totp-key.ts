import type { RemovalPolicy } from 'aws-cdk-lib';
import { type IKey, Key } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';

export interface TotpKeyProps {
  readonly removalPolicy: RemovalPolicy;
}

/**
 * The KMS key that encrypts TOTP secrets at rest. Only the functions that enrol (mfa: encrypt) or check codes
 * (login, password reset, mfa: decrypt) are granted its use, so a table dump alone never reveals a TOTP seed.
 */
export class TotpKey extends Construct {
  readonly key: IKey;

  constructor(scope: Construct, id: string, props: TotpKeyProps) {
    super(scope, id);
    this.key = new Key(this, 'Key', {
      description: 'account-shield: encrypts users TOTP secrets',
      enableKeyRotation: true,
      removalPolicy: props.removalPolicy,
    });
  }
}
