// The rules our GitHub Actions workflows keep beyond what actionlint checks
// (docs/releasing.md, "The workflows"). Pure: takes each workflow parsed from YAML.
//  - every action is pinned by a full commit SHA (a tag can be moved);
//  - the workflow grants nothing by default (`permissions: {}` at the top) and
//    each job asks for what it needs;
//  - a job that holds a secret, or may write (contents, pull-requests, packages,
//    id-token...), runs no project code: no npm ci/install/run/test, no node or
//    .ci/run of the checkout, no build tool of it. Such jobs get the build's
//    output as an artifact and run only published tools (publib, gh, git);
//  - no pull_request_target (it runs with secrets on a fork's code).

/** What runs project code in a `run:` script. */
const PROJECT_CODE = [
  /\bnpm\s+(ci|install|i|run|test|exec|pack|publish)\b/,
  // npx runs project code unless it runs a published, pinned tool: publib (its version in $PUBLIB or written out).
  /\bnpx\s+(?!(?:--yes\s+|-y\s+)?-p\s+(?:"?\$PUBLIB"?|publib@\d))/,
  /\bnode\s/,
  /\.ci\/run\b/,
  /\b(make|mvn|gradle|pip\s+install|python3?\s+(?!-m\s+pip\b)\S+\.py|go\s+(build|run|test|generate))\b/,
];

const SHA = /^[0-9a-f]{40}$/;

function grantsWrite(permissions) {
  if (permissions === undefined) return true; // the repository's default may write
  if (typeof permissions === 'string') return permissions !== 'read-all' && permissions !== '{}';
  return Object.values(permissions ?? {}).some((level) => level === 'write');
}

/** The problems of one workflow (`name`: its file, `workflow`: parsed YAML). */
export function workflowProblems(name, workflow) {
  const problems = [];
  const on = workflow.on ?? workflow[true]; // YAML 1.1 reads a bare `on` as true
  if (on && (on === 'pull_request_target' || (typeof on === 'object' && 'pull_request_target' in on))) {
    problems.push(`${name}: pull_request_target runs a fork's code with secrets; use pull_request`);
  }
  const top = workflow.permissions;
  if (!(top && typeof top === 'object' && Object.keys(top).length === 0)) {
    problems.push(`${name}: the workflow must grant nothing by default (permissions: {}) and let each job ask for its own`);
  }
  if (JSON.stringify(workflow.env ?? {}).includes('secrets.')) problems.push(`${name}: a secret in the workflow's env reaches every step`);
  for (const [id, job] of Object.entries(workflow.jobs ?? {})) {
    const where = `${name} job ${id}`;
    if (job.permissions === undefined) problems.push(`${where}: no permissions (it would get the repository's default)`);
    if (job.uses) {
      problems.push(`${where}: a reusable workflow call is not allowed here`);
      continue;
    }
    const steps = job.steps ?? [];
    const secretive = JSON.stringify(job).includes('secrets.');
    const privileged = grantsWrite(job.permissions) || secretive;
    for (const [index, step] of steps.entries()) {
      const label = `${where} step ${step.name ?? index + 1}`;
      if (step.uses && !step.uses.startsWith('./') && !step.uses.startsWith('docker://')) {
        const ref = step.uses.split('@')[1];
        if (!ref || !SHA.test(ref)) problems.push(`${label}: ${step.uses} is not pinned by a commit SHA (uses: owner/action@<40 hex> # vX.Y.Z)`);
      }
      if (privileged && typeof step.run === 'string') {
        const code = PROJECT_CODE.find((pattern) => pattern.test(step.run));
        if (code) {
          problems.push(
            `${label}: runs project code (${code}) in a job that ${secretive ? 'holds a secret' : 'may write'}; build in a read-only job without secrets and pass the output as an artifact`,
          );
        }
      }
    }
  }
  return problems;
}
