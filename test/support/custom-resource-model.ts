/**
 * A reference model of what one CloudFormation event must do to the registry,
 * written from the construct's documented contract (README and TSDoc), on top
 * of the ECR Public model in ecr-model.ts:
 *
 * - the Delete that follows a failed Create does nothing and succeeds;
 * - invalid properties fail the event before any call;
 * - an event that `deleteOn` leaves out does nothing and succeeds;
 * - otherwise the declared image IDs, exact repeats sent once, are deleted;
 *   a missing repository fails Create and Update and satisfies Delete;
 *   failures other than ImageNotFound fail the event when failOnImageFailure
 *   is true;
 * - a Create that fails answers the physical ID EcrPublicImageDeletion::CREATE_FAILED,
 *   Update and Delete keep the ID they were given.
 *
 * Deliberately separate from lambda/plan.ts: it says what must happen, not how.
 */
import { EcrPublicModel, ModelDeleteAnswer, ModelImageId, ModelRepositoryNotFound } from './ecr-model';

export const CREATE_FAILED_ID = 'EcrPublicImageDeletion::CREATE_FAILED';

export type RequestType = 'Create' | 'Update' | 'Delete';

/** The properties as the construct writes them (valid ones: the model checks no rule). */
export interface ModelProperties {
  readonly RepositoryName: string;
  readonly RegistryId?: string;
  readonly ImageIds: ModelImageId[];
  readonly DeleteOn: RequestType[];
  readonly FailOnImageFailure: 'true' | 'false';
  readonly ApiRegion: string;
}

export interface ModelEvent {
  readonly requestType: RequestType;
  readonly properties: ModelProperties;
  /** Absent for Create. */
  readonly physicalResourceId?: string;
  /** The properties break a validation rule (the test built them so). */
  readonly invalid?: boolean;
  /** The call is refused as a whole (IAM: AccessDenied): nothing changes, the event fails. */
  readonly accessDenied?: boolean;
}

export interface ModelOutcome {
  readonly status: 'SUCCESS' | 'FAILED';
  /** Whether the handler must call BatchDeleteImage at all. */
  readonly calls: boolean;
  /** On SUCCESS, the value of the DeletionRan attribute. */
  readonly deletionRan: boolean;
  /** The image IDs the handler may send: the declaration, repeats collapsed; empty when no call. */
  readonly sent: ModelImageId[];
  /** The API's answer, when the deletion ran to the end. */
  readonly answer?: ModelDeleteAnswer;
  /** 'new' (a fresh physical ID of the handler's making), CREATE_FAILED_ID, or the ID given. */
  readonly physicalResourceId: string;
}

function collapse(ids: readonly ModelImageId[]): ModelImageId[] {
  const seen = new Set<string>();
  const unique: ModelImageId[] = [];
  for (const id of ids) {
    const key = `${id.imageTag ?? ''}\u0000${id.imageDigest ?? ''}`;
    if (!seen.has(key)) {
      seen.add(key);
      unique.push(id);
    }
  }
  return unique;
}

/** Applies one event to the model registry and says what the handler must answer. */
export function applyEvent(registry: EcrPublicModel, event: ModelEvent): ModelOutcome {
  const { requestType, properties } = event;
  const keptId = requestType === 'Create' ? 'new' : (event.physicalResourceId ?? '');
  const failedId = requestType === 'Create' ? CREATE_FAILED_ID : keptId;
  const none = { sent: [] as ModelImageId[], calls: false };
  if (requestType === 'Delete' && event.physicalResourceId === CREATE_FAILED_ID) {
    return { status: 'SUCCESS', deletionRan: false, physicalResourceId: keptId, ...none };
  }
  if (event.invalid) {
    return { status: 'FAILED', deletionRan: false, physicalResourceId: failedId, ...none };
  }
  if (!properties.DeleteOn.includes(requestType)) {
    return { status: 'SUCCESS', deletionRan: false, physicalResourceId: keptId, ...none };
  }
  const sent = collapse(properties.ImageIds);
  if (event.accessDenied) {
    return { status: 'FAILED', deletionRan: true, physicalResourceId: failedId, sent, calls: true };
  }
  let answer: ModelDeleteAnswer;
  try {
    answer = registry.batchDeleteImage(properties.RepositoryName, sent);
  } catch (error) {
    if (!(error instanceof ModelRepositoryNotFound)) throw error;
    const status = requestType === 'Delete' ? 'SUCCESS' : 'FAILED';
    return { status, deletionRan: true, physicalResourceId: status === 'FAILED' ? failedId : keptId, sent, calls: true };
  }
  const blocking = answer.failures.filter((f) => f.failureCode !== 'ImageNotFound');
  const status = blocking.length > 0 && properties.FailOnImageFailure === 'true' ? 'FAILED' : 'SUCCESS';
  return { status, deletionRan: true, physicalResourceId: status === 'FAILED' ? failedId : keptId, sent, calls: true, answer };
}
