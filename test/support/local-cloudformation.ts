/**
 * Plays CloudFormation's side of a custom resource locally: builds the events
 * CloudFormation sends, runs the shipped handler bundle in its own Node
 * process (as Lambda would), and serves the ResponseURL the handler answers.
 */
import { spawn } from 'node:child_process';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import type { ScheduledEvent } from '../../lib/contract';
import { CfnEvents, STACK_ID } from './cfn-events';

export const BUNDLE = path.join(__dirname, '..', '..', 'assets', 'handler', 'index.js');
const RUNNER = path.join(__dirname, 'invoke-handler.cjs');
/** Stands for the presigned part of a real ResponseURL; it must never appear in a log. */
export const RESPONSE_URL_SECRET = 'X-Amz-Signature=local0secret0signature';

export interface CfnResponseBody {
  Status: 'SUCCESS' | 'FAILED';
  Reason: string;
  PhysicalResourceId: string;
  StackId: string;
  RequestId: string;
  LogicalResourceId: string;
  Data?: Record<string, string>;
}

export interface ReceivedResponse {
  readonly body: CfnResponseBody;
  /** Size in bytes, as CloudFormation would count it. */
  readonly bytes: number;
}

/** The ResponseURL side: one HTTP server, one pending promise per request ID. */
export class ResponseServer {
  static async start(): Promise<ResponseServer> {
    const server = new ResponseServer();
    await new Promise<void>((resolve) => server.server.listen(0, '127.0.0.1', resolve));
    return server;
  }

  /** Answers to give, in order, before the next PUT is accepted (for fault tests). */
  readonly faults: Array<'500' | 'drop'> = [];
  /** PUT attempts received, accepted or not. */
  attempts = 0;
  private readonly server: http.Server;
  private readonly received = new Map<string, ReceivedResponse>();
  private readonly waiters = new Map<string, (response: ReceivedResponse) => void>();

  private constructor() {
    this.server = http.createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        this.attempts++;
        const fault = this.faults.shift();
        if (fault === 'drop') {
          request.socket.destroy();
          return;
        }
        if (fault === '500') {
          response.writeHead(500).end();
          return;
        }
        const raw = Buffer.concat(chunks);
        const id = (request.url ?? '').split('?')[0].split('/').pop() ?? '';
        const received = { body: JSON.parse(raw.toString('utf8')) as CfnResponseBody, bytes: raw.length };
        this.received.set(id, received);
        this.waiters.get(id)?.(received);
        response.writeHead(200).end();
      });
    });
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  urlFor(requestId: string): string {
    return `http://127.0.0.1:${this.port}/responses/${requestId}?${RESPONSE_URL_SECRET}`;
  }

  /** The response to a request, waiting for it if it has not arrived. */
  responseTo(requestId: string): Promise<ReceivedResponse> {
    const received = this.received.get(requestId);
    if (received) return Promise.resolve(received);
    return new Promise((resolve) => this.waiters.set(requestId, resolve));
  }

  peek(requestId: string): ReceivedResponse | undefined {
    return this.received.get(requestId);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

export interface InvocationResult {
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** The response CloudFormation received, if any (a scheduled event is never answered). */
  readonly response?: ReceivedResponse;
  readonly durationMs: number;
}

export interface InvokeOptions {
  /** Environment of the handler process, added to a minimal Lambda-like one. */
  readonly env?: Record<string, string>;
  /** What context.getRemainingTimeInMillis() starts at: the function's timeout. */
  readonly remainingMs?: number;
  /** The handler file to run. */
  readonly bundle?: string;
}

/** Runs the handler on one event in a fresh Node process and collects the response it sent. */
export function invokeHandler(
  server: ResponseServer,
  event: CloudFormationCustomResourceEvent | ScheduledEvent,
  options: InvokeOptions = {},
): Promise<InvocationResult> {
  const started = Date.now();
  const child = spawn(process.execPath, [RUNNER, options.bundle ?? BUNDLE], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH ?? '',
      AWS_REGION: 'eu-central-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      ...options.env,
    },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  child.stdin.end(JSON.stringify({ event, remainingMs: options.remainingMs ?? 300_000 }));
  return new Promise((resolve) => {
    child.on('close', (exitCode) => {
      const response = 'RequestId' in event ? server.peek(event.RequestId) : undefined;
      resolve({ exitCode, stdout, stderr, response, durationMs: Date.now() - started });
    });
  });
}

/** The stack of every event that LocalCustomResource sends (the one stack ID of the test events). */
export const LOCAL_STACK_ID = STACK_ID;

/**
 * One custom resource through its lifecycle, the way CloudFormation drives it:
 * Create gets a physical ID back; Update and Delete send it again, Update with
 * the previous properties as OldResourceProperties.
 */
export class LocalCustomResource {
  physicalResourceId?: string;
  private properties?: Record<string, unknown>;
  private readonly events: CfnEvents;

  constructor(
    private readonly server: ResponseServer,
    private readonly options: InvokeOptions & { readonly logicalResourceId?: string } = {},
  ) {
    this.events = new CfnEvents(server, { logicalResourceId: options.logicalResourceId ?? 'PrImagesDeletion' });
  }

  private event(requestType: 'Create' | 'Update' | 'Delete', properties: Record<string, unknown>): CloudFormationCustomResourceEvent {
    const physicalResourceId = this.physicalResourceId ?? '';
    if (requestType === 'Create') return this.events.create(properties);
    if (requestType === 'Delete') return this.events.delete(physicalResourceId, properties);
    return this.events.update(physicalResourceId, properties, this.properties ?? {});
  }

  private async send(requestType: 'Create' | 'Update' | 'Delete', properties: Record<string, unknown>): Promise<InvocationResult> {
    const result = await invokeHandler(this.server, this.event(requestType, properties), this.options);
    if (result.response) {
      this.physicalResourceId = result.response.body.PhysicalResourceId;
      // After a failed Create, CloudFormation's rollback Delete still carries the Create's properties.
      if (requestType === 'Create' || (requestType === 'Update' && result.response.body.Status === 'SUCCESS')) {
        this.properties = properties;
      }
    }
    return result;
  }

  create(properties: Record<string, unknown>): Promise<InvocationResult> {
    return this.send('Create', properties);
  }

  update(properties: Record<string, unknown>): Promise<InvocationResult> {
    return this.send('Update', properties);
  }

  /** Deletes with the last properties CloudFormation holds for the resource. */
  delete(): Promise<InvocationResult> {
    return this.send('Delete', this.properties ?? {});
  }
}

/** What the local CloudFormation holds of one stack. */
export interface LocalStack {
  /** StackStatus, as DescribeStacks answers it. */
  status: string;
  /** The stack's current template, as GetTemplate answers it. */
  template: { Resources: Record<string, { Type: string; DeletionPolicy?: string; UpdateReplacePolicy?: string; Properties?: object }> };
  /**
   * The stack's resources, as ListStackResources lists them. Absent: the
   * template's resources, each under the physical ID `physicalIds` gives it
   * (none otherwise).
   */
  resources?: ReadonlyArray<{ readonly logicalId: string; readonly physicalId?: string; readonly type: string }>;
  /** Physical IDs of the template's resources, when `resources` is absent. */
  physicalIds?: Record<string, string>;
}

/** IAM for the stack-state calls of one stack: a string is the reason for an AccessDenied. */
export type StackStateAuthorizer = (action: string, resource: string) => string | undefined;

/** One request the handler made of the local CloudFormation. */
export interface StackStateRequest {
  readonly action: string;
  readonly stackName: string;
}

const xmlEscape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/**
 * CloudFormation's side of the stack-state calls: DescribeStacks,
 * DescribeStackResource(s), ListStackResources (paged) and GetTemplate over the AWS Query protocol (form-encoded requests,
 * XML answers), for the handler's AWS_ENDPOINT_URL_CLOUDFORMATION. A test sets
 * each stack's status and template before it sends an event, the way
 * CloudFormation would be when it sends it; `refuse` makes the next calls
 * fail with AccessDenied (a state that cannot be read).
 */
export class LocalStackState {
  static async start(): Promise<LocalStackState> {
    const local = new LocalStackState();
    await new Promise<void>((resolve) => local.server.listen(0, '127.0.0.1', resolve));
    return local;
  }

  readonly stacks = new Map<string, LocalStack>();
  /** What a stack no test has set is: in a deployment, with nothing in its template. Undefined: such a stack does not exist. */
  fallback: LocalStack | undefined = { status: 'UPDATE_IN_PROGRESS', template: { Resources: {} } };
  readonly requests: StackStateRequest[] = [];
  /** Calls to refuse with AccessDenied before answering again. */
  refuse = 0;
  /** IAM per stack ID, for the stacks whose IAM a test plays (local-stack-engine.ts). */
  readonly authorizers = new Map<string, StackStateAuthorizer>();
  /** Entries of a ListStackResources page. */
  pageSize = 100;
  private readonly server: http.Server;

  private constructor() {
    this.server = http.createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
        const action = form.get('Action') ?? '';
        const stackName = form.get('StackName') ?? '';
        this.requests.push({ action, stackName });
        const answer = (status: number, xml: string) => response.writeHead(status, { 'content-type': 'text/xml' }).end(xml);
        const error = (status: number, code: string, message: string) =>
          answer(
            status,
            `<ErrorResponse><Error><Type>Sender</Type><Code>${code}</Code><Message>${xmlEscape(message)}</Message></Error><RequestId>local</RequestId></ErrorResponse>`,
          );
        if (this.refuse > 0) {
          this.refuse--;
          return error(403, 'AccessDenied', `User is not authorized to perform: cloudformation:${action} on resource: ${stackName}`);
        }
        const denied = this.authorizers.get(stackName)?.(`cloudformation:${action}`, stackName);
        if (denied !== undefined) return error(403, 'AccessDenied', denied);
        const stack = this.stacks.get(stackName) ?? this.fallback;
        if (!stack) return error(400, 'ValidationError', `Stack with id ${stackName} does not exist`);
        const wrap = (result: string) =>
          `<${action}Response xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><${action}Result>${result}</${action}Result><ResponseMetadata><RequestId>local</RequestId></ResponseMetadata></${action}Response>`;
        const resourceXml = (logicalId: string, type: string) =>
          `<LogicalResourceId>${xmlEscape(logicalId)}</LogicalResourceId><ResourceType>${xmlEscape(type)}</ResourceType><ResourceStatus>UPDATE_COMPLETE</ResourceStatus><StackId>${xmlEscape(stackName)}</StackId><LastUpdatedTimestamp>2026-01-01T00:00:00Z</LastUpdatedTimestamp><Timestamp>2026-01-01T00:00:00Z</Timestamp>`;
        switch (action) {
          case 'DescribeStacks':
            return answer(
              200,
              wrap(
                `<Stacks><member><StackId>${xmlEscape(stackName)}</StackId><StackName>${xmlEscape(stackName.split('/')[1] ?? stackName)}</StackName>` +
                  `<StackStatus>${xmlEscape(stack.status)}</StackStatus><CreationTime>2026-01-01T00:00:00Z</CreationTime></member></Stacks>`,
              ),
            );
          case 'GetTemplate':
            return answer(200, wrap(`<TemplateBody>${xmlEscape(JSON.stringify(stack.template))}</TemplateBody>`));
          case 'DescribeStackResources':
            return answer(
              200,
              wrap(
                `<StackResources>${Object.entries(stack.template.Resources)
                  .map(([id, r]) => `<member>${resourceXml(id, r.Type)}</member>`)
                  .join('')}</StackResources>`,
              ),
            );
          case 'ListStackResources': {
            const all = this.resourcesOf(stack);
            const start = Number(form.get('NextToken') ?? '0');
            const page = all.slice(start, start + this.pageSize);
            const next = start + this.pageSize < all.length ? `<NextToken>${start + this.pageSize}</NextToken>` : '';
            return answer(
              200,
              wrap(
                `<StackResourceSummaries>${page
                  .map(
                    (r) =>
                      `<member><LogicalResourceId>${xmlEscape(r.logicalId)}</LogicalResourceId>` +
                      (r.physicalId !== undefined ? `<PhysicalResourceId>${xmlEscape(r.physicalId)}</PhysicalResourceId>` : '') +
                      `<ResourceType>${xmlEscape(r.type)}</ResourceType><ResourceStatus>UPDATE_COMPLETE</ResourceStatus>` +
                      `<LastUpdatedTimestamp>2026-01-01T00:00:00Z</LastUpdatedTimestamp></member>`,
                  )
                  .join('')}</StackResourceSummaries>${next}`,
              ),
            );
          }
          case 'DescribeStackResource': {
            const id = form.get('LogicalResourceId') ?? '';
            const resource = stack.template.Resources[id];
            if (!resource) return error(400, 'ValidationError', `Resource ${id} does not exist for stack ${stackName}`);
            return answer(200, wrap(`<StackResourceDetail>${resourceXml(id, resource.Type)}</StackResourceDetail>`));
          }
          default:
            return error(400, 'InvalidAction', `${action} is not answered by the local CloudFormation`);
        }
      });
    });
  }

  get endpoint(): string {
    return `http://127.0.0.1:${(this.server.address() as net.AddressInfo).port}`;
  }

  /** The handler's environment variable that sends its CloudFormation calls here. */
  get env(): Record<string, string> {
    return { AWS_ENDPOINT_URL_CLOUDFORMATION: this.endpoint };
  }

  /** Sets what the stack is when the next event is sent. */
  set(stackId: string, status: string, template: LocalStack['template'], physicalIds?: Record<string, string>): void {
    this.stacks.set(stackId, { status, template, physicalIds });
  }

  private resourcesOf(stack: LocalStack): NonNullable<LocalStack['resources']> {
    return (
      stack.resources ??
      Object.entries(stack.template.Resources).map(([logicalId, r]) => ({ logicalId, physicalId: stack.physicalIds?.[logicalId], type: r.Type }))
    );
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
