/**
 * A local CloudFormation that deploys synthesized templates to the local rig
 * the way the service does, for the scenarios in which what matters is the
 * order of things: creates and updates in dependency order; a repository
 * whose RepositoryName changes is replaced (the new one created during the
 * update, the old one deleted in UPDATE_COMPLETE_CLEANUP_IN_PROGRESS, unless
 * its UpdateReplacePolicy keeps it); a custom resource that answers an Update
 * with another physical ID is replaced likewise (its old physical ID gets a
 * Delete, with the old properties, in the cleanup); removed resources are
 * deleted in the cleanup (DeletionPolicy); a failure rolls back (in-place
 * updates undone by an Update with the old properties, replacements and
 * creations deleted in UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS). Every
 * deletion of a phase runs in the reverse dependency order of the template
 * that declared the resource.
 *
 * The custom resources run the shipped handler bundle (invokeHandler) with
 * the environment the template gives the handler function (the reference
 * cache's table), and every call it makes, of ECR Public (GetAuthorizationToken
 * with the sts:GetServiceBearerToken it needs included), of CloudFormation or
 * of DynamoDB, is checked against the stack's IAM as it stands at that
 * moment: the AWS::IAM::Policy resources that exist then (current ones and
 * old ones not yet deleted), resolved. An AWS::DynamoDB::Table is a table of
 * the local DynamoDB, created and deleted with its resource.
 *
 * Where CloudFormation's behaviour is not documented, the engine plays one
 * reading and says which (`rollbackOfReplacedCustomResource`); the tests run
 * the scenarios that depend on it both ways.
 */
import { randomUUID } from 'node:crypto';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { CfnResponseBody, RESPONSE_URL_SECRET, invokeHandler } from './local-cloudformation';
import type { LocalRig } from './local-rig';

export interface EngineResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly DependsOn?: string | string[];
  readonly DeletionPolicy?: string;
  readonly UpdateReplacePolicy?: string;
}
export interface EngineTemplate {
  readonly Resources: Record<string, EngineResource>;
}

/** One physical resource of the stack. */
interface Instance {
  readonly logicalId: string;
  readonly physicalId: string;
  /** Resolved properties. */
  readonly properties: Record<string, unknown>;
  readonly definition: EngineResource;
}

/** A custom resource event sent, and its answer. */
export interface SentEvent {
  readonly stackStatus: string;
  readonly requestType: 'Create' | 'Update' | 'Delete';
  readonly logicalId: string;
  readonly physicalId: string;
  readonly properties: Record<string, unknown>;
  readonly response: CfnResponseBody;
  readonly bytes: number;
}

/** A call of the handler, as IAM judged it. */
export interface JudgedCall {
  readonly stackStatus: string;
  /** The event during which it was made: `Delete Emptier1234 <physical ID>`. */
  readonly during: string;
  readonly action: string;
  readonly resource: string;
  readonly allowed: boolean;
}

export interface EngineOptions {
  readonly stackName?: string;
  /**
   * What a rollback does to a custom resource that the failed update replaced
   * (answered another physical ID), which CloudFormation does not document:
   * `update` sends it an Update back to the old properties (the handler must
   * answer the old physical ID), `restore` sends nothing and keeps the old
   * physical ID. Either way the new physical ID gets a Delete in the
   * rollback's cleanup.
   * @default 'update'
   */
  readonly rollbackOfReplacedCustomResource?: 'update' | 'restore';
  /** Called when a repository is created, e.g. to push images to it during the deployment. */
  readonly onRepositoryCreated?: (name: string) => Promise<void>;
}

const ACCOUNT = '123456789012';
const CUSTOM = 'Custom::EcrPublicImageDeletion';
const REPOSITORY = 'AWS::ECR::PublicRepository';
const POLICY = 'AWS::IAM::Policy';
const TABLE = 'AWS::DynamoDB::Table';
const FUNCTION = 'AWS::Lambda::Function';
/** The stack's region (AWS::Region), where its tables are. */
const REGION = 'eu-west-1';
/** A resource type whose creation fails: a test adds one to make an update fail and roll back. */
export const FAILING_TYPE = 'Test::FailsToCreate';

/** Resources in dependency order (Ref, Fn::GetAtt, DependsOn), ties by logical ID. */
export function dependencyOrder(template: EngineTemplate): string[] {
  const ids = Object.keys(template.Resources).sort();
  const deps = new Map(ids.map((id) => [id, dependenciesOf(template.Resources[id], ids)]));
  const done: string[] = [];
  const visit = (id: string, path: string[]) => {
    if (done.includes(id)) return;
    if (path.includes(id)) throw new Error(`dependency cycle: ${[...path, id].join(' -> ')}`);
    for (const dep of deps.get(id) ?? []) visit(dep, [...path, id]);
    done.push(id);
  };
  for (const id of ids) visit(id, []);
  return done;
}

function dependenciesOf(resource: EngineResource, ids: readonly string[]): string[] {
  const found = new Set<string>(typeof resource.DependsOn === 'string' ? [resource.DependsOn] : (resource.DependsOn ?? []));
  const walk = (value: unknown) => {
    if (Array.isArray(value)) value.forEach(walk);
    else if (value && typeof value === 'object') {
      const entries = Object.entries(value as Record<string, unknown>);
      if (entries.length === 1 && entries[0][0] === 'Ref' && ids.includes(entries[0][1] as string)) found.add(entries[0][1] as string);
      else if (entries.length === 1 && entries[0][0] === 'Fn::GetAtt') found.add((entries[0][1] as string[])[0]);
      else entries.forEach(([, v]) => walk(v));
    }
  };
  walk(resource.Properties);
  return [...found].filter((id) => ids.includes(id));
}

/** Whether an IAM pattern (with `*` and `?`) matches a value. */
function iamMatches(pattern: string, value: string): boolean {
  const regex = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  );
  return regex.test(value);
}

const asList = (value: unknown): unknown[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

export class LocalStackEngine {
  readonly stackId: string;
  status = 'REVIEW_IN_PROGRESS';
  template: EngineTemplate | undefined;
  /** The current physical resource of each logical ID. */
  private readonly current = new Map<string, Instance>();
  /** Every physical resource that exists: the current ones, and old ones not deleted yet. */
  private readonly existing = new Set<Instance>();
  readonly events: SentEvent[] = [];
  readonly calls: JudgedCall[] = [];
  /** What failed to delete (a repository that still holds images, a refused Delete), in words. */
  readonly deleteFailures: string[] = [];
  /** Repositories CloudFormation deleted, in order. */
  readonly deletedRepositories: string[] = [];
  /** Repositories a policy kept (outside the stack from then on). */
  readonly retainedRepositories: string[] = [];
  private during = '';

  constructor(
    private readonly rig: LocalRig,
    private readonly options: EngineOptions = {},
  ) {
    const name = options.stackName ?? `engine-${randomUUID().slice(0, 8)}`;
    this.stackId = `arn:aws:cloudformation:eu-west-1:${ACCOUNT}:stack/${name}/${randomUUID()}`;
  }

  /** Creates the stack, or updates it; a failure rolls back. Returns the final status. */
  async deploy(template: EngineTemplate): Promise<string> {
    const old = this.template;
    const creating = old === undefined;
    this.status = creating ? 'CREATE_IN_PROGRESS' : 'UPDATE_IN_PROGRESS';
    const done: Array<{ logicalId: string; kind: 'created' | 'updated' | 'replaced'; previous?: Instance }> = [];
    let failed = false;
    for (const logicalId of dependencyOrder(template)) {
      const definition = template.Resources[logicalId];
      const previous = this.current.get(logicalId);
      const properties = this.resolve(definition.Properties ?? {}, template) as Record<string, unknown>;
      if (previous === undefined) {
        const created = await this.create(logicalId, definition, properties);
        if (created) done.push({ logicalId, kind: 'created' });
        if (!created || created === 'failed') {
          failed = true;
          break;
        }
        continue;
      }
      if (JSON.stringify(previous.properties) === JSON.stringify(properties)) {
        // Attributes such as the removal policies change without an update.
        this.setCurrent({ ...previous, definition });
        continue;
      }
      const outcome = await this.update(previous, definition, properties);
      if (outcome === 'failed') {
        failed = true;
        break;
      }
      done.push({ logicalId, kind: outcome, previous });
    }
    if (failed) return this.rollback(old, template, done);
    this.template = template;
    if (creating) return (this.status = 'CREATE_COMPLETE');
    this.status = 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS';
    const removed = [...this.existing].filter((i) => !(i.logicalId in template.Resources) && this.current.get(i.logicalId) === i);
    const replaced = done.filter((d) => d.kind === 'replaced').map((d) => d.previous!);
    for (const instance of this.inReverseOrder([...removed, ...replaced], old!)) {
      const isRemoved = removed.includes(instance);
      const policy = isRemoved ? instance.definition.DeletionPolicy : template.Resources[instance.logicalId].UpdateReplacePolicy;
      await this.deleteInstance(instance, policy);
    }
    return (this.status = 'UPDATE_COMPLETE');
  }

  /** Deletes the stack: every resource, in reverse dependency order, as its DeletionPolicy says. */
  async destroy(): Promise<string> {
    this.status = 'DELETE_IN_PROGRESS';
    const failures = this.deleteFailures.length;
    for (const instance of this.inReverseOrder([...this.current.values()], this.template!)) {
      await this.deleteInstance(instance, instance.definition.DeletionPolicy);
    }
    return (this.status = this.deleteFailures.length > failures ? 'DELETE_FAILED' : 'DELETE_COMPLETE');
  }

  /** The physical ID of a logical ID now. */
  physicalIdOf(logicalId: string): string | undefined {
    return this.current.get(logicalId)?.physicalId;
  }

  private async rollback(
    old: EngineTemplate | undefined,
    failedTemplate: EngineTemplate,
    done: Array<{ logicalId: string; kind: 'created' | 'updated' | 'replaced'; previous?: Instance }>,
  ): Promise<string> {
    this.status = old === undefined ? 'ROLLBACK_IN_PROGRESS' : 'UPDATE_ROLLBACK_IN_PROGRESS';
    const toDelete: Array<{ instance: Instance; created: boolean }> = [];
    for (const { logicalId, kind, previous } of [...done].reverse()) {
      const now = this.current.get(logicalId)!;
      if (kind === 'created') {
        toDelete.push({ instance: now, created: true });
        continue;
      }
      if (kind === 'replaced') {
        if (now.definition.Type === CUSTOM && (this.options.rollbackOfReplacedCustomResource ?? 'update') === 'update') {
          const answer = await this.send('Update', now, previous!.properties, now.properties);
          if (answer.PhysicalResourceId !== previous!.physicalId) {
            throw new Error(
              `the rollback Update of ${logicalId} answered ${answer.PhysicalResourceId}, not the physical ID before the update (${previous!.physicalId})`,
            );
          }
        }
        this.setCurrent(previous!);
        toDelete.push({ instance: now, created: false });
        continue;
      }
      // Updated in place: back to the old properties.
      if (now.definition.Type === CUSTOM) await this.send('Update', now, previous!.properties, now.properties);
      this.setCurrent(previous!);
    }
    if (old !== undefined) {
      this.template = old;
      this.status = 'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS';
    }
    for (const instance of this.inReverseOrder(
      toDelete.map((d) => d.instance),
      failedTemplate,
    )) {
      const { created } = toDelete.find((d) => d.instance === instance)!;
      const { DeletionPolicy, UpdateReplacePolicy } = instance.definition;
      // A creation undone: DeletionPolicy (RetainExceptOnCreate lets it go). A replacement undone: kept if either policy keeps it.
      const keeps = (p: string | undefined) => p === 'Retain' || p === 'Snapshot';
      const policy = created
        ? DeletionPolicy === 'RetainExceptOnCreate'
          ? 'Delete'
          : DeletionPolicy
        : keeps(UpdateReplacePolicy) || keeps(DeletionPolicy)
          ? 'Retain'
          : 'Delete';
      await this.deleteInstance(instance, policy);
    }
    if (old === undefined) {
      this.template = undefined;
      return (this.status = 'ROLLBACK_COMPLETE');
    }
    return (this.status = 'UPDATE_ROLLBACK_COMPLETE');
  }

  /** Creates one resource; undefined when nothing was created, 'failed' when it was created but failed (a custom resource). */
  private async create(logicalId: string, definition: EngineResource, properties: Record<string, unknown>): Promise<Instance | 'failed' | undefined> {
    if (definition.Type === FAILING_TYPE) return undefined;
    if (definition.Type === CUSTOM) {
      const pending: Instance = { logicalId, physicalId: '', properties, definition };
      const answer = await this.send('Create', pending, properties);
      const instance = { ...pending, physicalId: answer.PhysicalResourceId };
      this.setCurrent(instance);
      return answer.Status === 'SUCCESS' ? instance : 'failed';
    }
    const instance: Instance = { logicalId, physicalId: await this.createPhysical(logicalId, definition, properties), properties, definition };
    this.setCurrent(instance);
    return instance;
  }

  private async createPhysical(logicalId: string, definition: EngineResource, properties: Record<string, unknown>): Promise<string> {
    if (definition.Type === TABLE) {
      const name = (properties.TableName as string | undefined) ?? `${this.stackId.split('/')[1]}-${logicalId}-${randomUUID().slice(0, 8)}`;
      const keys = properties.KeySchema as Array<{ AttributeName: string; KeyType: string }>;
      const types = new Map(
        (properties.AttributeDefinitions as Array<{ AttributeName: string; AttributeType: 'S' | 'N' | 'B' }>).map((a) => [
          a.AttributeName,
          a.AttributeType,
        ]),
      );
      const element = (kind: string) => {
        const key = keys.find((k) => k.KeyType === kind);
        return key && { name: key.AttributeName, type: types.get(key.AttributeName) ?? 'S' };
      };
      const range = element('RANGE');
      this.rig.dynamo.store.createTable({
        name,
        hash: element('HASH')!,
        ...(range ? { range } : {}),
        billingMode: properties.BillingMode === 'PAY_PER_REQUEST' ? 'PAY_PER_REQUEST' : 'PROVISIONED',
      });
      return name;
    }
    if (definition.Type !== REPOSITORY) return `${logicalId}-${randomUUID().slice(0, 8)}`;
    const name = (properties.RepositoryName as string | undefined) ?? `${logicalId.toLowerCase()}-${randomUUID().slice(0, 8)}`;
    this.rig.emulator.createRepository(name);
    await this.options.onRepositoryCreated?.(name);
    return name;
  }

  private async update(
    previous: Instance,
    definition: EngineResource,
    properties: Record<string, unknown>,
  ): Promise<'updated' | 'replaced' | 'failed'> {
    if (definition.Type === REPOSITORY && previous.properties.RepositoryName !== properties.RepositoryName) {
      this.setCurrent({
        logicalId: previous.logicalId,
        physicalId: await this.createPhysical(previous.logicalId, definition, properties),
        properties,
        definition,
      });
      return 'replaced';
    }
    if (definition.Type === CUSTOM) {
      const answer = await this.send('Update', previous, properties, previous.properties);
      if (answer.Status !== 'SUCCESS') return 'failed';
      this.setCurrent({ logicalId: previous.logicalId, physicalId: answer.PhysicalResourceId, properties, definition });
      return answer.PhysicalResourceId === previous.physicalId ? 'updated' : 'replaced';
    }
    this.setCurrent({ ...previous, properties, definition });
    return 'updated';
  }

  private async deleteInstance(instance: Instance, policy: string | undefined): Promise<void> {
    const { definition } = instance;
    if (policy === 'Retain' || policy === 'Snapshot' || (policy === 'RetainExceptOnCreate' && this.status !== 'ROLLBACK_IN_PROGRESS')) {
      if (definition.Type === REPOSITORY) this.retainedRepositories.push(instance.physicalId);
      this.forget(instance);
      return;
    }
    if (definition.Type === CUSTOM) {
      const answer = await this.send('Delete', instance, instance.properties);
      if (answer.Status !== 'SUCCESS') {
        this.deleteFailures.push(`${this.status}: Delete ${instance.logicalId} ${instance.physicalId}: ${answer.Reason}`);
        return;
      }
    } else if (definition.Type === REPOSITORY) {
      try {
        this.rig.emulator.store.deleteRepository(instance.physicalId, false);
        this.deletedRepositories.push(instance.physicalId);
      } catch (error) {
        this.deleteFailures.push(`${this.status}: repository ${instance.physicalId}: ${String(error)}`);
        return;
      }
    } else if (definition.Type === TABLE) {
      this.rig.dynamo.store.deleteTable(instance.physicalId);
    }
    this.forget(instance);
  }

  private setCurrent(instance: Instance): void {
    const before = this.current.get(instance.logicalId);
    // The same physical resource under new properties replaces its old record; another physical resource joins it.
    if (before && before.physicalId === instance.physicalId) this.existing.delete(before);
    for (const other of this.existing)
      if (other.logicalId === instance.logicalId && other.physicalId === instance.physicalId) this.existing.delete(other);
    this.current.set(instance.logicalId, instance);
    this.existing.add(instance);
  }

  private forget(instance: Instance): void {
    this.existing.delete(instance);
    if (this.current.get(instance.logicalId) === instance) this.current.delete(instance.logicalId);
  }

  /** The instances, in the reverse dependency order of the template that declared them. */
  private inReverseOrder(instances: Instance[], template: EngineTemplate): Instance[] {
    const order = dependencyOrder(template);
    return [...instances].sort((a, b) => order.indexOf(b.logicalId) - order.indexOf(a.logicalId));
  }

  /** Sends one custom resource event to the shipped bundle, with the stack's state and IAM as they are now. */
  private async send(
    requestType: 'Create' | 'Update' | 'Delete',
    instance: Instance,
    properties: Record<string, unknown>,
    oldProperties?: Record<string, unknown>,
  ): Promise<CfnResponseBody> {
    const requestId = randomUUID();
    const common = {
      ServiceToken: String(properties.ServiceToken),
      ResponseURL: this.rig.server.urlFor(requestId),
      StackId: this.stackId,
      RequestId: requestId,
      LogicalResourceId: instance.logicalId,
      ResourceType: instance.definition.Type,
      ResourceProperties: properties as { ServiceToken: string },
    };
    const event: CloudFormationCustomResourceEvent =
      requestType === 'Create'
        ? { ...common, RequestType: 'Create' }
        : requestType === 'Delete'
          ? { ...common, RequestType: 'Delete', PhysicalResourceId: instance.physicalId }
          : {
              ...common,
              RequestType: 'Update',
              PhysicalResourceId: instance.physicalId,
              OldResourceProperties: oldProperties as { ServiceToken: string },
            };
    this.publishState();
    this.during = `${requestType} ${instance.logicalId} ${instance.physicalId}`.trim();
    const authorize = (action: string, resource: string) => this.judge(action, resource);
    this.rig.emulator.authorize = authorize;
    this.rig.dynamo.authorize = authorize;
    this.rig.stack.authorizers.set(this.stackId, authorize);
    let result;
    try {
      result = await invokeHandler(this.rig.server, event, {
        env: { ...this.rig.env, AWS_REGION: REGION, ...this.functionEnvironment() },
        remainingMs: 60_000,
      });
    } finally {
      this.rig.emulator.authorize = undefined;
      this.rig.dynamo.authorize = undefined;
      this.rig.stack.authorizers.delete(this.stackId);
    }
    if (result.exitCode !== 0 || result.stderr !== '' || !result.response) {
      throw new Error(`${this.during} during ${this.status}: no answer (exit ${result.exitCode}): ${result.stderr}`);
    }
    if (result.stdout.includes(RESPONSE_URL_SECRET)) throw new Error(`${this.during}: the log holds the ResponseURL's signature`);
    const { body, bytes } = result.response;
    this.events.push({
      stackStatus: this.status,
      requestType,
      logicalId: instance.logicalId,
      physicalId: instance.physicalId,
      properties,
      response: body,
      bytes,
    });
    return body;
  }

  /** The environment the template gives the handler function now (resolved), e.g. the reference cache's table. */
  private functionEnvironment(): Record<string, string> {
    const variables = [...this.existing]
      .filter((i) => i.definition.Type === FUNCTION && this.current.get(i.logicalId) === i)
      .map((i) => (i.properties.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {});
    return Object.fromEntries(variables.flatMap((v) => Object.entries(v)).map(([name, value]) => [name, String(value)]));
  }

  /** What the local CloudFormation answers of this stack now: status, template, resources. */
  private publishState(): void {
    const resources = [...this.current.values()].map((i) => ({ logicalId: i.logicalId, physicalId: i.physicalId, type: i.definition.Type }));
    this.rig.stack.stacks.set(this.stackId, { status: this.status, template: this.template ?? { Resources: {} }, resources });
  }

  /** IAM: allowed when an Allow statement of a policy that exists now names the action and the resource. Records the call. */
  private judge(action: string, resource: string): string | undefined {
    const allowed = [...this.existing]
      .filter((i) => i.definition.Type === POLICY)
      .flatMap((i) => asList((i.properties.PolicyDocument as { Statement?: unknown } | undefined)?.Statement) as Array<Record<string, unknown>>)
      .some(
        (statement) =>
          statement.Effect === 'Allow' &&
          asList(statement.Action).some((a) => iamMatches(String(a), action)) &&
          asList(statement.Resource).some((r) => iamMatches(String(r), resource)),
      );
    this.calls.push({ stackStatus: this.status, during: this.during, action, resource, allowed });
    return allowed
      ? undefined
      : `User: arn:aws:sts::${ACCOUNT}:assumed-role/handler-role/handler is not authorized to perform: ${action} on resource: ${resource} because no identity-based policy allows the ${action} action`;
  }

  /** Resolves the intrinsics a synthesized template of this library uses. */
  private resolve(value: unknown, template: EngineTemplate): unknown {
    if (Array.isArray(value)) return value.map((v) => this.resolve(v, template));
    if (!value || typeof value !== 'object') return value;
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 1) {
      const [key, arg] = entries[0];
      if (key === 'Ref') return this.ref(arg as string);
      if (key === 'Fn::GetAtt') {
        const [id, attribute] = arg as [string, string];
        if (template.Resources[id]?.Type === TABLE && attribute === 'Arn')
          return `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${this.physicalIdOf(id) ?? 'pending'}`;
        return `arn:aws:local:${REGION}:${ACCOUNT}:${id}/${this.physicalIdOf(id) ?? 'pending'}/${attribute}`;
      }
      if (key === 'Fn::Join') {
        const [separator, parts] = arg as [string, unknown[]];
        return parts.map((p) => this.resolve(p, template)).join(separator);
      }
      if (key === 'Fn::Sub') return String(arg).replace(/\$\{([^}]+)\}/g, (_, name: string) => String(this.ref(name)));
    }
    return Object.fromEntries(entries.map(([k, v]) => [k, this.resolve(v, template)]));
  }

  private ref(name: string): unknown {
    const pseudo: Record<string, string> = {
      'AWS::Partition': 'aws',
      'AWS::AccountId': ACCOUNT,
      'AWS::Region': 'eu-west-1',
      'AWS::StackId': this.stackId,
      'AWS::StackName': this.stackId.split('/')[1],
      'AWS::URLSuffix': 'amazonaws.com',
    };
    if (name in pseudo) return pseudo[name];
    const physical = this.physicalIdOf(name);
    if (physical === undefined) throw new Error(`Ref ${name}: no such resource yet`);
    return physical;
  }
}
