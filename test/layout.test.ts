/**
 * The layout is part of the design: small modules with one job. Every file in lib/ stays under
 * about 400 lines and every function under 60, so a change has an obvious place and a reader
 * can hold a module in their head. Read from the TypeScript sources (tests run from dist/).
 */
import { expect } from 'chai';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const LIB = fileURLToPath(new URL('../../lib/', import.meta.url));
const MAX_FILE_LINES = 420;
const MAX_FUNCTION_LINES = 60;

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

function isFunctionLike(n: ts.Node): n is ts.FunctionLikeDeclaration {
  return ts.isFunctionDeclaration(n) || ts.isMethodDeclaration(n) || ts.isArrowFunction(n) || ts.isFunctionExpression(n) ||
    ts.isConstructorDeclaration(n) || ts.isGetAccessor(n) || ts.isSetAccessor(n);
}

/** Functions longer than the limit in one source file, as `file:line name (N lines)`. */
function longFunctions(file: string, text: string): string[] {
  const src = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (n: ts.Node): void => {
    if (isFunctionLike(n) && n.body) {
      const first = src.getLineAndCharacterOfPosition(n.getStart()).line;
      const lines = src.getLineAndCharacterOfPosition(n.end).line - first + 1;
      if (lines > MAX_FUNCTION_LINES) found.push(`${file}:${first + 1} ${n.name?.getText(src) ?? '(anonymous)'} (${lines} lines)`);
    }
    ts.forEachChild(n, visit);
  };
  visit(src);
  return found;
}

describe('layout of lib/', () => {
  const files = sources(LIB);

  it('finds the sources', () => {
    expect(files.length).to.be.above(50);
  });

  it(`no file over ${MAX_FILE_LINES} lines`, () => {
    const long = files.map((f) => [f, readFileSync(f, 'utf8').split('\n').length] as const).filter(([, n]) => n > MAX_FILE_LINES);
    expect(long.map(([f, n]) => `${f.slice(LIB.length)} (${n} lines)`)).to.deep.equal([]);
  });

  it(`no function over ${MAX_FUNCTION_LINES} lines`, () => {
    const long = files.flatMap((f) => longFunctions(f.slice(LIB.length), readFileSync(f, 'utf8')));
    expect(long).to.deep.equal([]);
  });
});
