/**
 * CloudFormation's events for one custom resource, built one at a time so that
 * a test can send the same event twice (a retried delivery), follow a failed
 * Update with its rollback, or a failed Create with its rollback Delete, the
 * way CloudFormation does. LocalCustomResource (local-cloudformation.ts) plays
 * the plain Create → Update → Delete path; this is for the paths around it.
 */
import { randomUUID } from 'node:crypto';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import type { ResponseServer } from './local-cloudformation';

const SERVICE_TOKEN = 'arn:aws:lambda:eu-central-1:123456789012:function:local-handler';
/** The stack every event comes from unless a test names another. */
export const STACK_ID = 'arn:aws:cloudformation:eu-central-1:123456789012:stack/local-tests/7c1e0f00-0000-11ef-0000-0a0b0c0d0e0f';

/** Where the events come from: the stack and the resource's logical ID. */
export interface CfnEventsOptions {
  /** @default STACK_ID */
  readonly stackId?: string;
  /** @default 'ImageDeletion' */
  readonly logicalResourceId?: string;
}

export class CfnEvents {
  private readonly stackId: string;
  private readonly logicalResourceId: string;

  constructor(
    private readonly server: ResponseServer,
    options: CfnEventsOptions = {},
  ) {
    this.stackId = options.stackId ?? STACK_ID;
    this.logicalResourceId = options.logicalResourceId ?? 'ImageDeletion';
  }

  private common(properties: object, logicalResourceId: string) {
    const requestId = randomUUID();
    return {
      ServiceToken: SERVICE_TOKEN,
      ResponseURL: this.server.urlFor(requestId),
      StackId: this.stackId,
      RequestId: requestId,
      LogicalResourceId: logicalResourceId,
      ResourceType: 'Custom::EcrPublicImageDeletion',
      ResourceProperties: { ServiceToken: SERVICE_TOKEN, ...properties },
    };
  }

  create(properties: object, logicalResourceId = this.logicalResourceId): CloudFormationCustomResourceEvent {
    return { ...this.common(properties, logicalResourceId), RequestType: 'Create' };
  }

  /** An Update; for a rollback, `properties` are the old ones and `oldProperties` the ones that failed. */
  update(
    physicalResourceId: string,
    properties: object,
    oldProperties: object,
    logicalResourceId = this.logicalResourceId,
  ): CloudFormationCustomResourceEvent {
    return {
      ...this.common(properties, logicalResourceId),
      RequestType: 'Update',
      PhysicalResourceId: physicalResourceId,
      OldResourceProperties: { ServiceToken: SERVICE_TOKEN, ...oldProperties },
    };
  }

  /** A Delete carries the last properties CloudFormation holds (after a failed Create: the Create's). */
  delete(physicalResourceId: string, properties: object, logicalResourceId = this.logicalResourceId): CloudFormationCustomResourceEvent {
    return { ...this.common(properties, logicalResourceId), RequestType: 'Delete', PhysicalResourceId: physicalResourceId };
  }
}

/** A selection's resource properties as the construct writes them (every event, no dry run), for tests that send them by hand. */
export function selectionProperties(repositoryName: string, select: object, extra: object = {}): Record<string, unknown> {
  return {
    RepositoryName: repositoryName,
    Select: select,
    DeleteOn: ['Create', 'Update', 'Delete'],
    FailOnImageFailure: 'true',
    DryRun: 'false',
    ApiRegion: 'us-east-1',
    ...extra,
  };
}

/**
 * The properties of an emptier (emptyOnDelete: allImages() on Delete) of the stack's repository `Repo`, as the
 * construct writes them; `extra` overrides or adds (a policy attribute, another name).
 */
export function emptierProperties(repositoryName: string, extra: object = {}) {
  return {
    RepositoryName: repositoryName,
    Select: { Match: 'all' },
    DeleteOn: ['Delete'],
    FailOnImageFailure: 'true',
    DryRun: 'false',
    ApiRegion: 'us-east-1',
    RepositoryLogicalId: 'Repo',
    RepositoryDeletionPolicy: 'Delete',
    ...extra,
  };
}
