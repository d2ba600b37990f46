/**
 * The stack's state, read from CloudFormation: its status and, when asked, the
 * logical IDs of its template's resources. Plain data, no decision: what the
 * state means for a deletion is decided in repository-teardown.ts.
 *
 * The handler's role may call DescribeStacks and GetTemplate on its own stack
 * only. `AWS_ENDPOINT_URL_CLOUDFORMATION` redirects the client, which is how
 * the tests reach a local CloudFormation.
 */
import { CloudFormationClient, DescribeStacksCommand, GetTemplateCommand } from '@aws-sdk/client-cloudformation';
import { fromEnv } from '@aws-sdk/credential-provider-env';

/** What CloudFormation says of the stack while the event runs. */
export interface StackState {
  /** StackStatus, e.g. DELETE_IN_PROGRESS or UPDATE_COMPLETE_CLEANUP_IN_PROGRESS. */
  readonly status: string;
  /** Logical IDs of the resources of the stack's current template; absent when not read. */
  readonly templateResources?: ReadonlySet<string>;
  /** Why the template could not be read as JSON, when it could not. */
  readonly templateProblem?: string;
}

/** Attempts per call: the state is read while CloudFormation waits, so retries stay short. */
export const STACK_STATE_ATTEMPTS = 3;

const clients = new Map<string, CloudFormationClient>();

/** The region of a stack, from its ID (`arn:aws:cloudformation:<region>:<account>:stack/<name>/<uuid>`). */
export function stackRegion(stackId: string): string | undefined {
  const region = stackId.split(':')[3];
  return region ? region : undefined;
}

function clientFor(region: string): CloudFormationClient {
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

/** The logical IDs under `Resources` of a template body, or why they cannot be read. */
export function templateResourceIds(body: string | undefined): { ids?: Set<string>; problem?: string } {
  let template: unknown;
  try {
    template = JSON.parse(body ?? '');
  } catch {
    // CDK deploys JSON; a YAML template (deployed by other means) is not read, and counts as unknown.
    return { problem: 'the template is not JSON' };
  }
  const resources = (template as { Resources?: unknown } | null)?.Resources;
  if (typeof resources !== 'object' || resources === null) return { problem: 'the template has no Resources' };
  return { ids: new Set(Object.keys(resources)) };
}

/**
 * Reads the stack's status (DescribeStacks) and, with `withTemplate`, the
 * logical IDs of its current template (GetTemplate, after transforms). Throws
 * what the SDK throws: the caller treats an unreadable state as unknown.
 */
export async function readStackState(
  stackId: string,
  options: { readonly withTemplate: boolean; readonly signal?: AbortSignal },
): Promise<StackState> {
  const client = clientFor(stackRegion(stackId) ?? process.env.AWS_REGION ?? 'us-east-1');
  const described = await client.send(new DescribeStacksCommand({ StackName: stackId }), { abortSignal: options.signal });
  const status = described.Stacks?.[0]?.StackStatus;
  if (!status) throw new Error(`DescribeStacks returned no status for stack ${stackId}`);
  if (!options.withTemplate) return { status };
  const template = await client.send(new GetTemplateCommand({ StackName: stackId, TemplateStage: 'Processed' }), { abortSignal: options.signal });
  const { ids, problem } = templateResourceIds(template.TemplateBody);
  return { status, templateResources: ids, templateProblem: problem };
}
