import { join } from 'node:path';
import { CustomResource, Duration, type RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { Schedule } from 'aws-cdk-lib/aws-events';
import { ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  CfnRotationSchedule,
  type ISecret,
  Secret,
  type SecretStringGenerator,
} from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { SigningAlgorithm } from '../../shared/crypto/signing-key-set.js';
import { AppFunction, type WorkloadResources } from './app-function.js';

export interface SigningKeyProps {
  readonly functionsDir: string;
  readonly tables: WorkloadResources['tables'];
  readonly rotationDays: number;
  readonly removalPolicy: RemovalPolicy;
  readonly logRetention: RetentionDays;
  /**
   * The key set's algorithm (shared/crypto/signing-key-set.ts): the rotation function generates and validates keys
   * of this algorithm only. @default 'ES256' (access tokens)
   */
  readonly algorithm?: SigningAlgorithm;
}

/**
 * What both secrets hold at deploy: an empty key list (and a placeholder field, as a generated secret needs one)
 * until the custom resource below puts the first key and the rotation function publishes its public half.
 */
const emptyKeySet: SecretStringGenerator = {
  secretStringTemplate: JSON.stringify({ keys: [] }),
  generateStringKey: 'placeholder',
  excludePunctuation: true,
  passwordLength: 16,
};

/**
 * The JWT signing key set in Secrets Manager (`{"keys": [...]}`, keys[0] signs), its first key created at deploy
 * by a custom resource, and its scheduled rotation. One function (functions/key-rotation.ts) does both.
 */
export class SigningKey extends Construct {
  readonly secret: ISecret;
  /**
   * The public halves (`{"keys": [<public JWK>, ...]}`), published by the same function: what every function that
   * only verifies tokens, and the JWKS endpoint, reads instead of the private secret (least privilege).
   */
  readonly publicKeys: ISecret;
  readonly rotationFunction: AppFunction;
  /** Completes once the first key is in the secret; functions that sign or verify depend on it. */
  readonly initialKey: CustomResource;

  constructor(scope: Construct, id: string, props: SigningKeyProps) {
    super(scope, id);

    const algorithm = props.algorithm ?? 'ES256';
    const purpose = algorithm === 'RS256' ? 'Security Event Token' : 'JWT';
    const secret = new Secret(this, 'Secret', {
      description: `account-shield ${purpose} signing keys (${algorithm} private JWKs; keys[0] signs, all are published)`,
      generateSecretString: emptyKeySet,
      removalPolicy: props.removalPolicy,
    });
    this.secret = secret;

    const publicKeys = new Secret(this, 'PublicKeys', {
      description: `account-shield ${purpose} verification keys (public JWKs only, published by the key rotation)`,
      generateSecretString: emptyKeySet,
      removalPolicy: props.removalPolicy,
    });
    this.publicKeys = publicKeys;
    Validations.of(publicKeys).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Holds public keys only; it changes whenever the signing key secret rotates (the rotation function ' +
        'publishes to it), so a rotation schedule of its own would have nothing to rotate.',
    });

    // Alarms are named after the function's id, so the SET key set's rotation gets its own.
    this.rotationFunction = new AppFunction(this, algorithm === 'RS256' ? 'SetKeyRotation' : 'KeyRotation', {
      workload: 'keyRotation',
      entry: join(props.functionsDir, 'key-rotation.ts'),
      resources: { tables: props.tables, signingKeySecret: secret, verificationKeysSecret: publicKeys },
      environment: { SIGNING_KEY_ALGORITHM: algorithm },
      logRetention: props.logRetention,
      logRemovalPolicy: props.removalPolicy,
    });
    const rotationFunction = this.rotationFunction.function;

    this.initialKey = new CustomResource(this, 'InitialKey', {
      serviceToken: rotationFunction.functionArn,
      resourceType: 'Custom::SigningKey',
      properties: { SecretArn: secret.secretArn },
    });
    // The role's policy must exist before CloudFormation calls the function.
    this.initialKey.node.addDependency(this.rotationFunction.role);

    rotationFunction.addPermission('InvokedBySecretsManager', {
      principal: new ServicePrincipal('secretsmanager.amazonaws.com'),
      action: 'lambda:InvokeFunction',
      sourceAccount: Stack.of(this).account,
    });

    // The L1 resource, not secret.addRotationSchedule(): the L2 also grants secretsmanager:GetRandomPassword on
    // "*", which this function never calls.
    const schedule = new CfnRotationSchedule(this, 'RotationSchedule', {
      secretId: secret.secretArn,
      rotationLambdaArn: rotationFunction.functionArn,
      rotationRules: {
        scheduleExpression: Schedule.rate(Duration.days(props.rotationDays)).expressionString,
      },
      // The custom resource creates the first key; an immediate rotation would only add a second one.
      rotateImmediatelyOnUpdate: false,
    });
    // The function's subtree includes the invoke permission Secrets Manager checks when rotation is configured.
    schedule.node.addDependency(this.initialKey, rotationFunction);
  }
}
