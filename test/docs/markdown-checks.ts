/**
 * What a reader of the project's markdown would trip on, found by rendering it
 * with a markdown parser (markdown-it, with GitHub's table rules): a table row
 * that renders as text, a row with the wrong number of cells, a relative link
 * to a file or #anchor that does not exist, a code block of no language or of
 * one that nothing checks. Each check is a pure function of the text (and of
 * what exists), so that its own tests can break a copy and see it fail.
 * Compiling the TypeScript blocks is rosetta-snippets.ts's.
 */
import * as path from 'node:path';
import MarkdownIt from 'markdown-it';
type Token = ReturnType<MarkdownIt['parse']>[number];

const md = new MarkdownIt({ html: true });

/** A markdown file: its path from the project root, and its text. */
export interface MarkdownFile {
  readonly file: string;
  readonly text: string;
}

/** Line ranges [start, end) of the blocks of a type, from the parser's line map. */
function ranges(tokens: Token[], types: readonly string[]): Array<[number, number]> {
  return tokens.filter((t) => types.includes(t.type) && t.map).map((t) => t.map as [number, number]);
}

const inRange = (line: number, spans: Array<[number, number]>) => spans.some(([start, end]) => line >= start && line < end);

/** The cells of a table row as GitHub splits them: on every `|` that is not escaped, outer pipes dropped. */
function cellsOf(row: string): number {
  const inner = row
    .trim()
    .replace(/^\|/, '')
    .replace(/(?<!\\)\|$/, '');
  return inner.split(/(?<!\\)\|/).length;
}

/**
 * Every line that looks like a table row (it starts with `|`) must render
 * inside a table, and every row of a table must have its header's cells. A
 * paragraph or a blank line inside a table ends it: the rows after it render
 * as text.
 */
export function tableProblems({ file, text }: MarkdownFile): string[] {
  const tokens = md.parse(text, {});
  const tables = ranges(tokens, ['table_open']);
  const code = ranges(tokens, ['fence', 'code_block', 'html_block']);
  const lines = text.split('\n');
  const problems: string[] = [];
  lines.forEach((line, i) => {
    if (/^\s*\|/.test(line) && !inRange(i, tables) && !inRange(i, code)) {
      problems.push(`${file}:${i + 1}: a table row that renders as text, outside any table (a line above it ended the table): ${line.slice(0, 60)}`);
    }
  });
  for (const [start, end] of tables) {
    const header = cellsOf(lines[start]);
    for (let i = start + 1; i < end; i++) {
      if (lines[i].trim() === '') continue;
      const cells = cellsOf(lines[i]);
      if (cells !== header) problems.push(`${file}:${i + 1}: a table row with ${cells} cells under a header of ${header}`);
    }
  }
  return problems;
}

/** The text a heading renders, without its markup. */
function headingText(inline: Token): string {
  return (inline.children ?? []).map((child) => (child.type === 'text' || child.type === 'code_inline' ? child.content : '')).join('');
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens. */
export function slugOf(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** The anchors a markdown file has: its headings' slugs (repeats numbered as GitHub does), and HTML ids and names. */
export function anchorsOf(text: string): Set<string> {
  const tokens = md.parse(text, {});
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  tokens.forEach((token, i) => {
    if (token.type !== 'heading_open') return;
    const slug = slugOf(headingText(tokens[i + 1]));
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  });
  for (const match of text.matchAll(/<a\s[^>]*(?:id|name)="([^"]+)"/g)) anchors.add(match[1]);
  return anchors;
}

/** Every link target of a file (links and images), in order. */
function linksOf(text: string): string[] {
  const hrefs: string[] = [];
  const visit = (tokens: Token[]) => {
    for (const token of tokens) {
      if (token.type === 'link_open') hrefs.push(token.attrGet('href') ?? '');
      if (token.type === 'image') hrefs.push(token.attrGet('src') ?? '');
      if (token.children) visit(token.children);
    }
  };
  visit(md.parse(text, {}));
  return hrefs;
}

/** What the link check may ask of the project: whether a path exists, and a markdown file's text. */
export interface Project {
  exists(file: string): boolean;
  read(file: string): string;
}

/**
 * Every relative link must reach a file or folder of the project, and its
 * #anchor a heading (or an HTML anchor) of the markdown file it names.
 */
export function linkProblems({ file, text }: MarkdownFile, project: Project): string[] {
  const problems: string[] = [];
  for (const href of linksOf(text)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(href) || href.startsWith('//')) continue;
    const [target, anchor] = href.split('#', 2) as [string, string | undefined];
    const resolved = target === '' ? file : path.posix.normalize(path.posix.join(path.posix.dirname(file), decodeURI(target)));
    if (resolved.startsWith('..') || !project.exists(resolved)) {
      problems.push(`${file}: the link ${href} reaches no file (${resolved})`);
      continue;
    }
    if (anchor !== undefined && resolved.endsWith('.md') && !anchorsOf(project.read(resolved)).has(anchor)) {
      problems.push(`${file}: the link ${href} names no heading of ${resolved} (#${anchor})`);
    }
  }
  return problems;
}

/** Languages a code block may be in, and what checks it. */
export const CHECKED_LANGUAGES: Readonly<Record<string, string>> = {
  ts: 'jsii-rosetta compiles it (strict), with the fixtures of rosetta/',
  sh: 'shown only: commands',
  text: 'shown only: output',
  json: 'shown only: data',
  xml: 'shown only: a pom.xml fragment',
};

/** The languages apps: only where test:languages compares them with test/languages/. */
export const LANGUAGES_APP_FILE = 'docs/languages.md';
const LANGUAGES_APPS = ['python', 'java', 'go'];

/** The fenced code blocks of a text: info string, body, line. */
export function codeBlocksOf(text: string): Array<{ readonly info: string; readonly body: string; readonly line: number }> {
  return md
    .parse(text, {})
    .filter((t) => t.type === 'fence')
    .map((t) => ({ info: t.info.trim(), body: t.content, line: (t.map?.[0] ?? 0) + 1 }));
}

/**
 * Every code block says its language, and is of a language that something
 * checks or that is only shown (commands, output): TypeScript is compiled,
 * the Python, Java and Go apps are compared with the files test:languages
 * builds, and nothing else is taken for code.
 */
export function codeBlockProblems({ file, text }: MarkdownFile): string[] {
  const problems: string[] = [];
  for (const { info, line } of codeBlocksOf(text)) {
    const language = info.split(/\s+/)[0];
    if (language === '') {
      problems.push(`${file}:${line}: a code block with no language (write \`\`\`ts, \`\`\`sh or \`\`\`text)`);
    } else if (LANGUAGES_APPS.includes(language)) {
      if (file !== LANGUAGES_APP_FILE)
        problems.push(`${file}:${line}: a ${language} block outside ${LANGUAGES_APP_FILE}, where test:languages checks the apps`);
    } else if (!(language in CHECKED_LANGUAGES)) {
      problems.push(`${file}:${line}: a ${language} block, which nothing checks (allowed: ${Object.keys(CHECKED_LANGUAGES).join(', ')})`);
    }
  }
  return problems;
}
