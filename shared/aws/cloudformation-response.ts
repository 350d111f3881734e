import type { CloudFormationCustomResourceEvent } from 'aws-lambda';

export interface CloudFormationResponse {
  readonly Status: 'SUCCESS' | 'FAILED';
  readonly Reason: string;
  readonly PhysicalResourceId: string;
}

export type CloudFormationResponder = (
  event: CloudFormationCustomResourceEvent,
  body: CloudFormationResponse,
) => Promise<void>;

export class CloudFormationResponseError extends Error {
  override readonly name = 'CloudFormationResponseError';
}

/** PUTs a custom resource's outcome to the pre-signed S3 URL CloudFormation waits on. */
export const respondToCloudFormation: CloudFormationResponder = async (event, body) => {
  const payload = JSON.stringify({
    ...body,
    StackId: event.StackId,
    RequestId: event.RequestId,
    LogicalResourceId: event.LogicalResourceId,
  });
  const response = await fetch(event.ResponseURL, {
    method: 'PUT',
    // The pre-signed S3 URL is signed without a content type.
    headers: { 'content-type': '', 'content-length': String(Buffer.byteLength(payload)) },
    body: payload,
  });
  if (!response.ok)
    throw new CloudFormationResponseError(`CloudFormation response upload failed with ${response.status}`);
};
