/**
 * Runs every scenario file (*.txt) of this folder: each is one test, its directives run in order
 * against a fresh InteractionEnv, and a directive whose output differs from the file fails it
 * with a diff. DATADRIVEN_REWRITE=1 writes the actual outputs into the files instead.
 */
import { expect } from 'chai';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { describeMismatches, runDirectives } from './datadriven.js';
import { InteractionEnv } from './interaction-env.js';

// Tests run from dist/test/protocol/datadriven/; the scenario files stay in the source tree.
const SOURCE = new URL('../../../../test/protocol/datadriven/', import.meta.url);
const REWRITE = process.env.DATADRIVEN_REWRITE === '1';

function run(text: string): ReturnType<typeof runDirectives> {
  const env = new InteractionEnv();
  return runDirectives(text, (d) => {
    try {
      return env.handle(d);
    } catch (e) {
      throw new Error(`line ${d.line}: ${d.command}: ${(e as Error).message}`, { cause: e });
    }
  });
}

describe('datadriven protocol scenarios', () => {
  const files = readdirSync(SOURCE).filter((f) => f.endsWith('.txt')).sort();

  for (const file of files) {
    it(file, () => {
      const path = new URL(file, SOURCE);
      const text = readFileSync(path, 'utf8');
      const result = run(text);
      if (REWRITE) {
        if (result.rewritten !== text) writeFileSync(path, result.rewritten);
        return;
      }
      if (result.mismatches.length) throw new Error(describeMismatches(file, result.mismatches));
      expect(result.rewritten, 'a passing file rewrites to itself').to.equal(text);
    });
  }

  it('fails with a diff when one golden line is wrong', () => {
    const text = [
      'add-nodes proposers=1 acceptors=1', '----', 'proposers p0', 'acceptors a0', '',
      'tick p0 10', '----', 'p0 leads at 1.0.1', '',
    ].join('\n');
    const result = run(text);
    expect(result.mismatches.map((m) => m.directive.line)).to.deep.equal([6]);
    const message = describeMismatches('inline.txt', result.mismatches);
    expect(message).to.include('inline.txt:6: tick p0 10').and.include('- p0 leads at 1.0.1');
  });
});
