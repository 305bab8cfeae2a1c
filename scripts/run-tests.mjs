#!/usr/bin/env node
// Runs the compiled mocha suite with the spec reporter and ends with the plain line CI reads:
// `tests: N passed, N failed, N skipped`. Usage: node scripts/run-tests.mjs [--grep RE] [files...]
import Mocha from 'mocha';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

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

const mocha = new Mocha({ reporter: 'spec', timeout: 120_000, grep });
for (const file of args.length ? args : testFiles('dist/test')) mocha.addFile(file);
await mocha.loadFilesAsync();
const runner = mocha.run((failures) => {
  const { passes = 0, failures: failed = 0, pending = 0 } = runner.stats ?? {};
  console.log(`tests: ${passes} passed, ${failed} failed, ${pending} skipped`);
  process.exitCode = failures ? 1 : 0;
});
