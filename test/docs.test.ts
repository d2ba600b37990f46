/**
 * README.md, CONTRIBUTING.md, CHANGELOG.md and docs/ as a reader sees them,
 * rendered by a markdown parser: every table row belongs to a table and has
 * its header's cells, every relative link reaches a file and its #anchor, and
 * every code block is of a language that something checks; the TypeScript
 * ones compile with jsii-rosetta (strict, the fixtures of rosetta/), docs/
 * included. Each check is also run on a broken copy, to show that it fails.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { MarkdownFile, Project, anchorsOf, codeBlockProblems, codeBlocksOf, linkProblems, slugOf, tableProblems } from './docs/markdown-checks';
import { uncompiledTypeScript } from './docs/rosetta-snippets';

const ROOT = path.join(__dirname, '..');
const project: Project = {
  exists: (file) => existsSync(path.join(ROOT, file)),
  read: (file) => readFileSync(path.join(ROOT, file), 'utf8'),
};
const FILES = ['README.md', 'CONTRIBUTING.md', 'CHANGELOG.md', ...readdirSync(path.join(ROOT, 'docs')).map((f) => `docs/${f}`)].filter((f) =>
  f.endsWith('.md'),
);
const markdown: MarkdownFile[] = FILES.map((file) => ({ file, text: project.read(file) }));
const readme = markdown[0];

/** The README with one change, as a throwaway copy. */
const readmeWith = (from: string, to: string): MarkdownFile => {
  expect(readme.text).toContain(from);
  return { file: 'README.md', text: readme.text.replace(from, to) };
};

describe.each(FILES)('%s', (file) => {
  const doc = markdown.find((m) => m.file === file) as MarkdownFile;

  test('every table row renders in a table, with its header’s cells', () => {
    expect(tableProblems(doc)).toEqual([]);
  });

  test('every relative link reaches a file, and its #anchor a heading', () => {
    expect(linkProblems(doc, project)).toEqual([]);
  });

  test('every code block says its language, one that something checks', () => {
    expect(codeBlockProblems(doc)).toEqual([]);
  });
});

test('the TypeScript blocks of README.md and docs/ compile with jsii-rosetta (strict)', async () => {
  const withCode = markdown.filter((m) => m.file === 'README.md' || m.file.startsWith('docs/'));
  expect(await uncompiledTypeScript(withCode)).toEqual([]);
}, 240_000);

test('the README finds install, quick start and properties for a newcomer: a table of contents links each section', () => {
  const sections = [...readme.text.matchAll(/^## (.+)$/gm)].map((m) => slugOf(m[1]));
  const contents = /^\*\*Contents:\*\*(.*)$/m.exec(readme.text)?.[1] ?? '';
  for (const section of ['install', 'quick-start', 'properties', 'attributes', 'recipes', 'what-it-guarantees', 'troubleshooting']) {
    expect(sections).toContain(section);
    expect(contents).toContain(`(#${section})`);
  }
  expect(contents).toContain('(CHANGELOG.md)');
  // Install, the quick start and the properties come before any depth.
  expect(sections.slice(0, 5)).toEqual(['why', 'install', 'quick-start', 'properties', 'attributes']);
});

test('no example promises a run "at every deployment": CloudFormation sends no event for an unchanged resource', () => {
  // The code of the examples: the blocks of the markdown files, the example app and the languages apps.
  const sources = [
    ...markdown.map(
      (m) =>
        [
          m.file,
          codeBlocksOf(m.text)
            .map((block) => block.body)
            .join('\n'),
        ] as const,
    ),
    ...['example/app.ts', 'test/languages/typescript/app.ts', 'test/languages/python/app.py', 'test/languages/go/main.go'].map(
      (file) => [file, project.read(file)] as const,
    ),
  ];
  const promising = sources.filter(([, text]) => /(?:at|on) every deployment/i.test(text));
  expect(promising.map(([file]) => file)).toEqual([]);
});

describe('each check fails on a broken copy', () => {
  test('a paragraph inside a table: the row after it renders as text', () => {
    // As the README's "Narrow with" table was: a blank line, a paragraph, then the last row.
    const table = '| A | B |\n| --- | --- |\n| a | b |\n\nA paragraph inside the table.\n| c | d |\n';
    expect(tableProblems({ file: 'x.md', text: table })).toEqual([expect.stringContaining('x.md:6: a table row that renders as text')]);
    // Without the blank line, the paragraph becomes a row of one cell.
    const glued = '| A | B |\n| --- | --- |\n| a | b |\nA paragraph inside the table.\n| c | d |\n';
    expect(tableProblems({ file: 'x.md', text: glued })).toEqual([expect.stringContaining('x.md:4: a table row with 1 cells under a header of 2')]);
    const inReadme = readmeWith('| `repositoryName` |', '\nA sentence that ends the table.\n| `repositoryName` |');
    expect(tableProblems(inReadme)).toContainEqual(
      expect.stringMatching(/^README\.md:\d+: a table row that renders as text, outside any table .*`repositoryName`/),
    );
  });

  test('a row with a cell too many', () => {
    const broken = readmeWith('| `dryRun` | `boolean` | `false` |', '| `dryRun` | `boolean` | `false` | extra |');
    expect(tableProblems(broken)).toEqual([expect.stringMatching(/a table row with 5 cells under a header of 4/)]);
  });

  test('a link to a file that does not exist, and to an anchor that does not', () => {
    expect(linkProblems(readmeWith('(docs/schedules.md)', '(docs/schedule.md)'), project)).toEqual([
      expect.stringContaining('the link docs/schedule.md reaches no file'),
    ]);
    expect(linkProblems(readmeWith('(#quick-start)', '(#quickstart)'), project)).toEqual([
      expect.stringContaining('the link #quickstart names no heading of README.md'),
    ]);
    expect(linkProblems(readmeWith('(docs/selections.md#not-at-every-deployment)', '(docs/selections.md#every-deployment)'), project)[0]).toContain(
      'names no heading of docs/selections.md',
    );
  });

  test('a code block without a language, or in one that nothing checks', () => {
    expect(codeBlockProblems({ file: 'x.md', text: '```\nnpm test\n```\n' })).toEqual([
      expect.stringContaining('x.md:1: a code block with no language'),
    ]);
    expect(codeBlockProblems({ file: 'x.md', text: '```js\nx()\n```\n' })).toEqual([expect.stringContaining('a js block, which nothing checks')]);
    expect(codeBlockProblems({ file: 'README.md', text: '```python\nx\n```\n' })).toEqual([expect.stringContaining('outside docs/languages.md')]);
  });

  test('a TypeScript block of docs/ that does not compile', async () => {
    const broken: MarkdownFile = {
      file: 'docs/broken.md',
      text: "# Broken\n\n```ts\nnew EcrPublicImageDeletion(this, 'Typo', { repositoryNam: repo.ref, imageIds: [{ imageTag: 'a' }] });\n```\n",
    };
    // A feature jsii-rosetta cannot translate fails `extract --strict` as a compile error does.
    const untranslatable: MarkdownFile = {
      file: 'docs/untranslatable.md',
      text: "# Untranslatable\n\nText.\n\n```ts\nnew EcrPublicImageDeletion(this, 'A', { repositoryName: repo.ref, updateTrigger: this.node.tryGetContext('b') ?? 'x', imageIds: [{ imageTag: 'a' }] });\n```\n",
    };
    expect(await uncompiledTypeScript([readme, broken, untranslatable])).toEqual([
      expect.stringMatching(/^docs\/broken\.md:3: a TypeScript block that jsii-rosetta does not compile: .*repositoryNam/),
      expect.stringMatching(/^docs\/untranslatable\.md:5: a TypeScript block that jsii-rosetta does not compile: .*QuestionQuestionToken/),
    ]);
  }, 240_000);

  test("GitHub's anchors: punctuation dropped, repeats numbered", () => {
    expect(slugOf('Registry hygiene: delete by rule')).toBe('registry-hygiene-delete-by-rule');
    expect(slugOf('`cdk-nag` and IAM')).toBe('cdk-nag-and-iam');
    expect([...anchorsOf('# A\n\n## A\n\n<a id="x"></a>\n')]).toEqual(['a', 'a-1', 'x']);
  });
});
