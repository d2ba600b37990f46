/**
 * CloudFormation's answers about the stack, for tests that run the handler in
 * process: the stack's status and the logical IDs of its template. (Tests of
 * the shipped bundle use LocalStackState in local-cloudformation.ts.)
 */
import {
  CloudFormationClient,
  CloudFormationClientResolvedConfig,
  DescribeStacksCommand,
  GetTemplateCommand,
  ListStackResourcesCommand,
  ServiceInputTypes,
  ServiceOutputTypes,
  StackStatus,
} from '@aws-sdk/client-cloudformation';
import { AwsStub, mockClient } from 'aws-sdk-client-mock';

export type StackStateMock = AwsStub<ServiceInputTypes, ServiceOutputTypes, CloudFormationClientResolvedConfig>;

/**
 * Mocks the CloudFormation client: DescribeStacks answers `status`, GetTemplate
 * a template with `resources` (each an AWS::ECR::PublicRepository), and
 * ListStackResources those resources, each with the physical ID that
 * `physicalIds` gives it (its logical ID otherwise).
 */
export function mockStackState(status: string, resources: readonly string[] = [], physicalIds: Record<string, string> = {}): StackStateMock {
  const cfn = mockClient(CloudFormationClient);
  answerStackState(cfn, status, resources, physicalIds);
  return cfn;
}

/** Changes what an existing mock answers. */
export function answerStackState(
  cfn: StackStateMock,
  status: string,
  resources: readonly string[] = [],
  physicalIds: Record<string, string> = {},
): void {
  cfn.reset();
  cfn.on(DescribeStacksCommand).resolves({ Stacks: [{ StackName: 's', StackStatus: status as StackStatus, CreationTime: new Date(0) }] });
  cfn.on(GetTemplateCommand).resolves({
    TemplateBody: JSON.stringify({ Resources: Object.fromEntries(resources.map((id) => [id, { Type: 'AWS::ECR::PublicRepository' }])) }),
  });
  cfn.on(ListStackResourcesCommand).resolves({
    StackResourceSummaries: resources.map((id) => ({
      LogicalResourceId: id,
      PhysicalResourceId: physicalIds[id] ?? id,
      ResourceType: 'AWS::ECR::PublicRepository',
      ResourceStatus: 'UPDATE_COMPLETE',
      LastUpdatedTimestamp: new Date(0),
    })),
  });
}
