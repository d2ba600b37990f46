// Entry of the deleteImages runner used by bench/throughput.js, bundled at
// bench time with the handler's esbuild options: calls lambda/execute.ts's
// deleteImages with the handler's client (lambda/client.ts) at a given
// concurrency and prints one JSON line with the elapsed time.
// Arguments: repositoryName, N, concurrency.
import { performance } from 'node:perf_hooks';
import { clientFor } from '../lambda/client';
import { deleteImages } from '../lambda/execute';

async function main() {
  const [repositoryName, count, concurrency] = process.argv.slice(2);
  const imageIds = Array.from({ length: Number(count) }, (_, i) => ({ imageTag: `bench-${i}` }));
  const started = performance.now();
  const outcome = await deleteImages(clientFor('us-east-1'), { repositoryName, imageIds }, { concurrency: Number(concurrency) });
  const elapsedMs = performance.now() - started;
  console.log(JSON.stringify({ elapsedMs, deleted: outcome.deleted.length, failures: outcome.failures.length, calls: outcome.calls }));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
