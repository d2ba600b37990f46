import { Annotations, CfnResource, Reference, Stack, Token, Tokenization } from 'aws-cdk-lib';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import { IConstruct } from 'constructs';

/**
 * Synth-time checks of what a deletion's `repositoryName` refers to, beyond
 * the name's grammar (validation.ts): an ARN given as a name, and a literal
 * name that is the name of a repository of the same stack.
 */

/**
 * The problem when `repositoryName` holds an ARN attribute of a resource
 * (`repo.attrArn`, or any `Fn::GetAtt` whose attribute ends in `Arn`): the
 * handler would look for a repository called `arn:aws:ecr-public::…`, and
 * the role would be granted on `…:repository/arn:…`. A literal ARN already
 * breaks the name's grammar.
 */
export function arnAsNameProblem(repositoryName: unknown): string | undefined {
  if (typeof repositoryName !== 'string' || !Token.isUnresolved(repositoryName)) return undefined;
  for (const token of Tokenization.reverseString(repositoryName).tokens) {
    if (!Reference.isReference(token) || !/Arn$/.test(token.displayName)) continue;
    const target = token.target;
    const isRepository = CfnResource.isCfnResource(target) && target.cfnResourceType === 'AWS::ECR::PublicRepository';
    return (
      `repositoryName is the ${token.displayName} attribute of '${target.node.path}'${isRepository ? ' (attrArn)' : ''}: ` +
      'an ARN is not a repository name' +
      (isRepository
        ? ' (give repositoryName: repository.ref, which is its name)'
        : ' (give the name of the repository, or the ref of its CfnPublicRepository)')
    );
  }
  return undefined;
}

/** Stacks whose literal repository names are already checked at synthesis. */
const checkedStacks = new WeakSet<Stack>();
/** The deletions of a stack whose `repositoryName` is a literal, with that name. */
const literalNames = new WeakMap<Stack, Array<{ readonly deletion: IConstruct; readonly name: string }>>();

/**
 * Warns, at synthesis, when a literal `repositoryName` is the name of a
 * `CfnPublicRepository` of the same stack. CloudFormation then knows of no
 * link between them: it may run the deletion before the repository exists or
 * after it is gone, and emptyOnDelete's teardown guard cannot read the
 * repository's DeletionPolicy. The fix is `repository.ref`; the warning says
 * so rather than adding a dependency behind the user's back. One walk of the
 * stack per synthesis, however many deletions it holds.
 */
export function warnIfNameOfStackRepository(deletion: IConstruct, repositoryName: string): void {
  if (Token.isUnresolved(repositoryName)) return;
  const stack = Stack.of(deletion);
  const named = literalNames.get(stack) ?? [];
  named.push({ deletion, name: repositoryName });
  literalNames.set(stack, named);
  if (checkedStacks.has(stack)) return;
  checkedStacks.add(stack);
  stack.node.addValidation({
    validate: () => {
      const repositories = new Map<string, CfnResource>();
      for (const construct of stack.node.findAll()) {
        if (!CfnResource.isCfnResource(construct) || construct.cfnResourceType !== ecr.CfnPublicRepository.CFN_RESOURCE_TYPE_NAME) continue;
        const name = (construct as ecr.CfnPublicRepository).repositoryName;
        if (Stack.of(construct) === stack && typeof name === 'string' && !Token.isUnresolved(name)) repositories.set(name, construct);
      }
      for (const { deletion: d, name: literal } of literalNames.get(stack) ?? []) {
        const repository = repositories.get(literal);
        if (repository === undefined) continue;
        Annotations.of(d).addWarningV2(
          'cdk-ecr-public-image-deletion:repositoryNameNotRef',
          `repositoryName "${literal}" is the name of '${repository.node.path}', a CfnPublicRepository of this stack, given as text: ` +
            'CloudFormation does not know that the deletion needs it, so it may run the deletion before the repository exists ' +
            'or after it is deleted, and emptying cannot read its DeletionPolicy. Give repositoryName: repository.ref instead.',
        );
      }
      return [];
    },
  });
}
