/**
 * Compiles the TypeScript blocks of markdown files as `jsii-rosetta extract
 * --strict` compiles the README's: each file is handed to jsii-rosetta as the
 * README of this package's assembly (.jsii, so `npm run build` first), so its
 * blocks get the same fixtures (rosetta/), the same `nofixture` and
 * `fixture=` parameters, and the same dependencies. jsii-rosetta exports no
 * function that takes a markdown file, so its assembly loader is required by
 * path; the public RosettaTranslator compiles.
 */
import * as path from 'node:path';
import { RosettaTranslator, TypeScriptSnippet } from 'jsii-rosetta';
import type { MarkdownFile } from './markdown-checks';

const ROOT = path.join(__dirname, '..', '..');

interface LoadedAssembly {
  readonly assembly: { name: string; readme?: { markdown: string }; types?: object; submodules?: object } & object;
  readonly directory: string;
}
interface Assemblies {
  loadAssemblies(locations: readonly string[], validate: boolean): readonly LoadedAssembly[];
  allTypeScriptSnippets(assemblies: readonly LoadedAssembly[], loose?: boolean): Promise<TypeScriptSnippet[]>;
}

const ROSETTA_LIB = path.dirname(require.resolve('jsii-rosetta'));
// eslint-disable-next-line @typescript-eslint/no-require-imports
const assemblies = require(path.join(ROSETTA_LIB, 'jsii', 'assemblies.js')) as Assemblies;
// Errors only: its warnings (a symbol of aws-cdk-lib it cannot name in other languages) are
// `extract`'s to print, not the tests'; the level reaches its worker threads.
// eslint-disable-next-line @typescript-eslint/no-require-imports
(require(path.join(ROSETTA_LIB, 'logging.js')) as { configure(options: { level: number }): void }).configure({ level: -2 });

/** More lines than any of the project's markdown files has (see uncompiledTypeScript). */
const LINES_PER_FILE = 10_000;

/** Strips the terminal colours of a TypeScript diagnostic. */
// eslint-disable-next-line no-control-regex -- the escape that starts a colour is what is removed
const plain = (text: string) => text.replace(/\u001b\[[0-9;]*m/g, '');

/** The problems of every TypeScript block of the files that does not compile, each with its file, line and first error. */
export async function uncompiledTypeScript(files: readonly MarkdownFile[]): Promise<string[]> {
  const [loaded] = assemblies.loadAssemblies([ROOT], false);
  const snippets: TypeScriptSnippet[] = [];
  // Where each snippet came from, by its source (a block repeated verbatim compiles alike).
  const origin = new Map<string, string>();
  for (const [index, { file, text }] of files.entries()) {
    // A diagnostic names its snippet `<package>-README-L<line>.ts`: the file's blocks are moved down by
    // LINES_PER_FILE times its index (blank lines, which change nothing else), so that the line says the file.
    const markdown = '\n'.repeat(index * LINES_PER_FILE) + text;
    const asReadme: LoadedAssembly = { ...loaded, assembly: { ...loaded.assembly, readme: { markdown }, types: {}, submodules: {} } };
    for (const snippet of await assemblies.allTypeScriptSnippets([asReadme])) {
      const field = snippet.location.field as { readonly line?: number } | undefined;
      origin.set(snippet.visibleSource, `${file}:${field?.line !== undefined ? field.line - index * LINES_PER_FILE : '?'}`);
      snippets.push(snippet);
    }
  }
  const translator = new RosettaTranslator({ includeCompilerDiagnostics: true, assemblies: [loaded.assembly as never] });
  const result = await translator.translateAll(snippets, false);
  // A diagnostic that is an error fails `jsii-rosetta extract --strict`: a compile error, or a
  // feature its translators do not support (`??`, for one). Each names its file and line.
  const problems = result.diagnostics
    .filter((d) => d.isError)
    .map((d) => plain(d.formattedMessage).split('\n')[0])
    .map((message) => {
      const line = Number(/-README-L(\d+)\.ts/.exec(message)?.[1] ?? NaN);
      const where = Number.isNaN(line) ? '?' : `${files[Math.floor(line / LINES_PER_FILE)]?.file ?? '?'}:${line % LINES_PER_FILE}`;
      return `${where}: a TypeScript block that jsii-rosetta does not compile: ${message.replace(/^\S+-README-L\d+\.ts:/, 'line ')}`;
    });
  const unexplained = result.translatedSnippets.filter((t) => !t.snippet.didCompile && problems.length === 0);
  return [
    ...problems,
    ...unexplained.map((t) => `${origin.get(t.originalSource.source) ?? '?'}: a TypeScript block that jsii-rosetta does not compile`),
  ];
}
