// The esbuild options of the custom-resource handler bundle: used by
// bundle.mjs at build time, and by bench/ to bundle its comparison handlers
// the same way.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

// The client gets its credentials from the environment (lambda/client.ts), so
// the SDK's default chain is dead code that the client's runtime config still
// imports; a stand-in that throws keeps it out of the bundle.
const withoutDefaultCredentialChain = {
  name: 'without-default-credential-chain',
  setup(build) {
    build.onResolve({ filter: /^@aws-sdk\/credential-provider-node$/ }, () => ({
      path: join(root, 'lambda', 'no-default-credentials.ts'),
    }));
  },
};

/** The esbuild options of the handler bundle, for an entry point and an output file. */
export function handlerBuildOptions(entryPoint, outfile) {
  return {
    entryPoints: [entryPoint],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'cjs',
    minify: true,
    // Prefer ES module builds of dependencies: they tree-shake better.
    mainFields: ['module', 'main'],
    legalComments: 'none',
    plugins: [withoutDefaultCredentialChain],
    // The stack-state reader and the reference cache are bundled as files of
    // their own next to the handler (bundle.mjs) and required on first use:
    // see lambda/index.ts and lambda/reference-cache-loader.ts.
    external: ['./stack-state', './reference-cache'],
    metafile: true,
    logLevel: 'warning',
  };
}
