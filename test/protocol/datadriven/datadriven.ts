/**
 * The file format of cockroachdb/datadriven, as etcd raft's testdata uses it: a file is a
 * sequence of directives, each a command line, an optional input, a `----` line and the output
 * expected, ended by a blank line (or, for output with blank lines in it, between a `----` `----`
 * pair and a closing `----` `----`). Lines starting with `#` and blank lines between directives
 * are comments. Running a file feeds each directive to a handler and compares what it returns
 * with what the file expects; rewriting puts the actual output in place of the expected one and
 * keeps everything else as it was.
 */

export interface Directive {
  /** 1-based line of the command in its file. */
  readonly line: number;
  /** The command line (continuation lines ending in `\` joined). */
  readonly command: string;
  readonly input: readonly string[];
  /** The expected output; undefined when the directive has no `----` yet. */
  readonly expected: string | undefined;
}

type Part = { readonly text: string } | { readonly directive: Directive; readonly source: readonly string[] };

const SEPARATOR = '----';

/** Splits a file into directives and the text (comments, blank lines) around them. */
export function parseDirectives(text: string): Part[] {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const parts: Part[] = [];
  let i = 0;
  const blank = (at: number): boolean => at >= lines.length || lines[at]!.trim() === '';
  while (i < lines.length) {
    const first = lines[i]!;
    if (first.trim() === '' || first.trimStart().startsWith('#')) {
      parts.push({ text: first });
      i++;
      continue;
    }
    const line = i + 1;
    const source: string[] = [];
    let command = '';
    for (;;) {
      const l = lines[i++]!;
      source.push(l);
      if (!l.endsWith('\\') || i >= lines.length) {
        command += l.trim();
        break;
      }
      command += `${l.slice(0, -1).trim()} `;
    }
    const input: string[] = [];
    while (!blank(i) && lines[i] !== SEPARATOR) {
      source.push(lines[i]!);
      input.push(lines[i++]!);
    }
    let expected: string | undefined;
    if (lines[i] === SEPARATOR) {
      i++;
      const out: string[] = [];
      if (lines[i] === SEPARATOR) {
        // Output with blank lines: up to a closing `----` `----`.
        for (i++; i < lines.length && !(lines[i] === SEPARATOR && lines[i + 1] === SEPARATOR); i++) out.push(lines[i]!);
        if (i >= lines.length) throw new Error(`line ${line}: no closing ${SEPARATOR} ${SEPARATOR}`);
        i += 2;
      } else {
        while (!blank(i)) out.push(lines[i++]!);
      }
      expected = out.join('\n');
    }
    parts.push({ directive: { line, command, input, expected }, source });
  }
  return parts;
}

export interface Mismatch {
  readonly directive: Directive;
  readonly actual: string;
}

export interface RunResult {
  readonly mismatches: readonly Mismatch[];
  /** The file with every expected output replaced by the actual one. */
  readonly rewritten: string;
}

/** Runs every directive of `text` through `handle`, in order. */
export function runDirectives(text: string, handle: (d: Directive) => string): RunResult {
  const mismatches: Mismatch[] = [];
  const out: string[] = [];
  for (const part of parseDirectives(text)) {
    if ('text' in part) {
      out.push(part.text);
      continue;
    }
    const { directive } = part;
    const actual = handle(directive).replace(/\s+$/, '');
    if (directive.expected === undefined || actual !== directive.expected.replace(/\s+$/, '')) mismatches.push({ directive, actual });
    out.push(...part.source, SEPARATOR);
    if (/\n\s*\n/.test(actual)) out.push(SEPARATOR, actual, SEPARATOR, SEPARATOR);
    else if (actual !== '') out.push(actual);
  }
  return { mismatches, rewritten: `${out.join('\n')}\n` };
}

/** A line diff (longest common subsequence): `  ` kept, `- ` expected only, `+ ` actual only. */
export function diffLines(expected: readonly string[], actual: readonly string[]): string[] {
  const n = expected.length;
  const m = actual.length;
  const common: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      common[i]![j] = expected[i] === actual[j] ? common[i + 1]![j + 1]! + 1 : Math.max(common[i + 1]![j]!, common[i]![j + 1]!);
    }
  }
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && expected[i] === actual[j]) {
      out.push(`  ${expected[i++]}`);
      j++;
    } else if (j < m && (i >= n || common[i]![j + 1]! > common[i + 1]![j]!)) {
      out.push(`+ ${actual[j++]}`);
    } else {
      out.push(`- ${expected[i++]}`);
    }
  }
  return out;
}

/** What a test failure says: where each mismatch is, and its diff. */
export function describeMismatches(file: string, mismatches: readonly Mismatch[], most = 3): string {
  const blocks = mismatches.slice(0, most).map(({ directive, actual }) => {
    const head = `${file}:${directive.line}: ${directive.command}`;
    if (directive.expected === undefined) return `${head}\n  (no expected output yet; actual:)\n${indent(actual)}`;
    const diff = diffLines(directive.expected.split('\n'), actual.split('\n'));
    return `${head}\n  (- expected, + actual)\n${indent(diff.join('\n'))}`;
  });
  const more = mismatches.length > most ? [`... and ${mismatches.length - most} more directives differ`] : [];
  return [`${mismatches.length} directive(s) of ${file} differ:`, ...blocks, ...more,
    'If the new output is right: DATADRIVEN_REWRITE=1 npm run test:datadriven, then review the diff of the .txt files.'].join('\n\n');
}

function indent(text: string): string {
  return text.split('\n').map((l) => `    ${l}`).join('\n');
}
