#!/usr/bin/env node
// Runs the compiled mocha suite with the spec reporter and ends with the plain line CI reads:
// `tests: N passed, N failed, N skipped`. Usage: node scripts/run-tests.mjs [--grep RE] [files...]
import Mocha from 'mocha';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const args = process.argv.slice(2);
const grepAt = args.indexOf('--grep');
const grep = grepAt >= 0 ? args.splice(grepAt, 2)[1] : undefined;

function testFiles(dir) {
  const found = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) found.push(...testFiles(path));
    else if (name.endsWith('.test.js')) found.push(path);
  }
  return found;
}

/**
 * tsc never deletes output: a test moved or removed under test/ would still run from dist/test/
 * (twice, for a move). Only compiled tests whose source is still there count.
 */
function current(file) {
  const source = join('test', relative('dist/test', file)).replace(/\.js$/, '.ts');
  if (existsSync(source)) return true;
  console.error(`run-tests: skipping ${file}: no ${source} (left by an earlier build)`);
  return false;
}

const mocha = new Mocha({ reporter: 'spec', timeout: 120_000, grep });
for (const file of (args.length ? args : testFiles('dist/test')).filter(current)) mocha.addFile(file);
await mocha.loadFilesAsync();
const runner = mocha.run((failures) => {
  const { passes = 0, failures: failed = 0, pending = 0 } = runner.stats ?? {};
  console.log(`tests: ${passes} passed, ${failed} failed, ${pending} skipped`);
  process.exitCode = failures ? 1 : 0;
});
