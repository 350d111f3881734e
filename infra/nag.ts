import { Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * cdk-nag 3 acknowledges a wildcard finding by its exact text, `AwsSolutions-IAM5[Resource::<flattened ARN>]`,
 * where references are flattened the way cdk-nag does it (`{Ref: X}` -> `<X>`, `{Fn::GetAtt: [X, Y]}` -> `<X.Y>`,
 * `Fn::Join` joined). This computes that text for an ARN built in the stack, so the acknowledgement names the
 * exact resource instead of silencing the rule for the whole policy.
 */
export function acknowledgeWildcardResource(scope: IConstruct, arn: string, reason: string): void {
  const flattened = flattenReference(Stack.of(scope).resolve(arn));
  Validations.of(scope).acknowledge({ id: `AwsSolutions-IAM5[Resource::${flattened}]`, reason });
}

function flattenReference(node: unknown): string {
  if (node === undefined) return '';
  if (typeof node === 'string') return node.replace(/\$\{/g, '<').replace(/\}/g, '>');
  if (typeof node === 'object' && node !== null) {
    const record = node as Record<string, unknown>;
    const join = record['Fn::Join'] as [string, unknown[]] | undefined;
    if (join) return join[1].map(flattenReference).join(join[0]);
    if (record['Fn::Sub'] !== undefined) return flattenReference(record['Fn::Sub']);
    const getAtt = record['Fn::GetAtt'] as [unknown, unknown] | undefined;
    if (getAtt) return `<${flattenReference(getAtt[0])}.${flattenReference(getAtt[1])}>`;
    if (record['Ref'] !== undefined) return `<${flattenReference(record['Ref'])}>`;
  }
  return JSON.stringify(node);
}
