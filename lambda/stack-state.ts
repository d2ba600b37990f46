/**
 * The stack's state, read from CloudFormation: its status, and, when asked,
 * its current template (the resources' logical IDs, types and removal
 * policies) and its resources (logical ID → physical ID). Plain data, no
 * decision: what the state means for a deletion is decided in
 * repository-teardown.ts, which also says which reads a decision needs.
 *
 * The handler's role may call DescribeStacks, GetTemplate and
 * ListStackResources on its own stack only. `AWS_ENDPOINT_URL_CLOUDFORMATION`
 * redirects the client, which is how the tests reach a local CloudFormation.
 */
import { CloudFormationClient, DescribeStacksCommand, GetTemplateCommand, ListStackResourcesCommand } from '@aws-sdk/client-cloudformation';
import { fromEnv } from '@aws-sdk/credential-provider-env';

/** A resource of the stack's current template, as the teardown guard needs it. */
export interface TemplateResource {
  readonly type?: string;
  /** The template's DeletionPolicy as written (absent: CloudFormation's default, Delete). */
  readonly deletionPolicy?: unknown;
  /** The template's UpdateReplacePolicy as written (absent: CloudFormation's default, Delete). */
  readonly updateReplacePolicy?: unknown;
}

/** A resource of the stack, as ListStackResources lists it. */
export interface StackResource {
  readonly logicalId: string;
  /** Absent while CloudFormation has not created it. */
  readonly physicalId?: string;
  readonly type?: string;
}

/** What CloudFormation says of the stack while the event runs. */
export interface StackState {
  /** StackStatus, e.g. DELETE_IN_PROGRESS or UPDATE_COMPLETE_CLEANUP_IN_PROGRESS. */
  readonly status: string;
  /** The resources of the stack's current template, by logical ID; absent when not read or not readable. */
  readonly template?: ReadonlyMap<string, TemplateResource>;
  /** Why the template could not be read, when it could not. */
  readonly templateProblem?: string;
  /** The stack's resources; absent when not read or not readable. */
  readonly resources?: readonly StackResource[];
  /** Why the resources could not be listed, when they could not. */
  readonly resourcesProblem?: string;
}

/** Attempts per call: the state is read while CloudFormation waits, so retries stay short. */
export const STACK_STATE_ATTEMPTS = 3;

/** Pages of ListStackResources read at most (a stack holds at most 500 resources; a page 100). */
export const MAX_RESOURCE_PAGES = 10;

const clients = new Map<string, CloudFormationClient>();

/** The region of a stack, from its ID (`arn:aws:cloudformation:<region>:<account>:stack/<name>/<uuid>`). */
export function stackRegion(stackId: string): string | undefined {
  const region = stackId.split(':')[3];
  return region ? region : undefined;
}

function clientFor(stackId: string): CloudFormationClient {
  const region = stackRegion(stackId) ?? process.env.AWS_REGION ?? 'us-east-1';
  let client = clients.get(region);
  if (!client) {
    client = new CloudFormationClient({
      region,
      credentials: fromEnv(),
      maxAttempts: STACK_STATE_ATTEMPTS,
      requestHandler: { requestTimeout: 5_000, connectionTimeout: 2_000 },
    });
    clients.set(region, client);
  }
  return client;
}

/** The resources under `Resources` of a template body (type and removal policies), or why they cannot be read. */
export function templateResources(body: string | undefined): { resources?: Map<string, TemplateResource>; problem?: string } {
  let template: unknown;
  try {
    template = JSON.parse(body ?? '');
  } catch {
    // CDK deploys JSON; a YAML template (deployed by other means) is not read, and counts as unknown.
    return { problem: 'the template is not JSON' };
  }
  const resources = (template as { Resources?: unknown } | null)?.Resources;
  if (typeof resources !== 'object' || resources === null) return { problem: 'the template has no Resources' };
  const read = new Map<string, TemplateResource>();
  for (const [logicalId, resource] of Object.entries(resources as Record<string, unknown>)) {
    const { Type, DeletionPolicy, UpdateReplacePolicy } = (typeof resource === 'object' && resource !== null ? resource : {}) as Record<
      string,
      unknown
    >;
    read.set(logicalId, {
      type: typeof Type === 'string' ? Type : undefined,
      ...(DeletionPolicy !== undefined ? { deletionPolicy: DeletionPolicy } : {}),
      ...(UpdateReplacePolicy !== undefined ? { updateReplacePolicy: UpdateReplacePolicy } : {}),
    });
  }
  return { resources: read };
}

/** The stack's status (DescribeStacks). Throws what the SDK throws: the caller treats an unreadable state as unknown. */
export async function readStackStatus(stackId: string, signal?: AbortSignal): Promise<string> {
  const described = await clientFor(stackId).send(new DescribeStacksCommand({ StackName: stackId }), { abortSignal: signal });
  const status = described.Stacks?.[0]?.StackStatus;
  if (!status) throw new Error(`DescribeStacks returned no status for stack ${stackId}`);
  return status;
}

/**
 * The stack's current template (GetTemplate, after transforms) and its
 * resources (ListStackResources, every page), read side by side. Throws what
 * the SDK throws.
 */
export async function readStackDetails(
  stackId: string,
  signal?: AbortSignal,
): Promise<Pick<StackState, 'template' | 'templateProblem' | 'resources' | 'resourcesProblem'>> {
  const client = clientFor(stackId);
  const [template, listed] = await Promise.all([
    client.send(new GetTemplateCommand({ StackName: stackId, TemplateStage: 'Processed' }), { abortSignal: signal }),
    listResources(client, stackId, signal),
  ]);
  const { resources, problem } = templateResources(template.TemplateBody);
  return { template: resources, templateProblem: problem, ...listed };
}

async function listResources(
  client: CloudFormationClient,
  stackId: string,
  signal?: AbortSignal,
): Promise<{ resources?: StackResource[]; resourcesProblem?: string }> {
  const resources: StackResource[] = [];
  let nextToken: string | undefined;
  for (let page = 0; page < MAX_RESOURCE_PAGES; page++) {
    const answer = await client.send(new ListStackResourcesCommand({ StackName: stackId, NextToken: nextToken }), { abortSignal: signal });
    for (const summary of answer.StackResourceSummaries ?? []) {
      if (!summary.LogicalResourceId) continue;
      resources.push({ logicalId: summary.LogicalResourceId, physicalId: summary.PhysicalResourceId, type: summary.ResourceType });
    }
    nextToken = answer.NextToken;
    if (!nextToken) return { resources };
  }
  // A listing cut short could miss the entry that says the repository stays: unknown.
  return { resourcesProblem: `the stack lists more than ${MAX_RESOURCE_PAGES} pages of resources` };
}
