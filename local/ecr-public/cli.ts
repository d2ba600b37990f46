/**
 * The emulator as a process: `node local/ecr-public/cli.js [--port N] [--referenced-image-deletion refuse|allow]`
 * (after `npm run build`). Prints one JSON line, `{"endpoint": "http://127.0.0.1:PORT"}`,
 * once it listens, and stops on SIGTERM or SIGINT. Tests drive it through its
 * control API (POST /__emulator/<action>, see server.ts) or start it in-process instead.
 */
import { startEcrPublicEmulator } from './server';
import type { ReferencedImageDeletion } from './store';

function option(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : undefined;
}

async function main(): Promise<void> {
  const deletion = option('referenced-image-deletion') ?? 'refuse';
  if (deletion !== 'refuse' && deletion !== 'allow') throw new Error(`--referenced-image-deletion must be refuse or allow, got '${deletion}'`);
  const emulator = await startEcrPublicEmulator({
    port: Number(option('port') ?? 0),
    alias: option('alias'),
    referencedImageDeletion: deletion as ReferencedImageDeletion,
  });
  process.stdout.write(`${JSON.stringify({ endpoint: emulator.endpoint, registryEndpoint: emulator.registryEndpoint })}\n`);
  const stop = () => void emulator.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
