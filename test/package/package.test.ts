/**
 * The package as a user gets it: `npm pack` of a clean copy of the project (its `prepack` builds
 * `dist/lib` from `lib/` alone), the tarball's contents, publint and @arethetypeswrong/cli on it,
 * then an install into a fresh project where a strict TypeScript consumer and a plain `.mjs`
 * consumer use every entry point, run a cluster whose workers import a transport by package
 * name, and `paxos --version` answers.
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { cpSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type TempDir, tempDir } from '../kit/temp-dir.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CONSUMERS = join(ROOT, 'test/package/consumer');
const BIN = join(ROOT, 'node_modules/.bin');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

function run(command: string, args: readonly string[], cwd: string): string {
  return execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
}

describe('the npm package', function () {
  this.timeout(300_000);
  // Made in `before` and used by every test: removed after the last one.
  const made: TempDir[] = [];
  const tmp = (): string => {
    const dir = tempDir('paxos-package-');
    made.push(dir);
    return dir.path;
  };
  after(() => { for (const dir of made) dir.remove(); });
  let stage: string;
  let tarball: string;

  before(() => {
    // A copy of what the package is built from, so packing never touches this checkout's dist/.
    stage = tmp();
    for (const name of ['package.json', 'package-lock.json', 'LICENSE', 'README.md', 'tsconfig.json', 'tsconfig.build.json', 'lib']) {
      cpSync(join(ROOT, name), join(stage, name), { recursive: true });
    }
    symlinkSync(join(ROOT, 'node_modules'), join(stage, 'node_modules'), 'dir');
    const packs = tmp();
    const [packed] = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', packs], stage)) as { filename: string }[];
    tarball = join(packs, packed!.filename);
  });

  it('holds dist/lib with types and a bin, the sources its maps name, LICENSE and README; no tests', () => {
    const files = run('tar', ['-tzf', tarball], stage).split('\n').filter(Boolean).map((f) => f.replace(/^package\//, ''));
    for (const f of ['dist/lib/index.js', 'dist/lib/index.d.ts', 'dist/lib/cli/paxos.js', 'dist/lib/protocol/index.d.ts', 'dist/lib/transport/udp.js', 'LICENSE', 'README.md']) {
      expect(files, f).to.include(f);
    }
    expect(files.filter((f) => /^dist\/(test|benchmarks|examples)\//.test(f))).to.deep.equal([]);
    const unpacked = tmp();
    run('tar', ['-xzf', tarball, '-C', unpacked], stage);
    const missing: string[] = [];
    for (const map of files.filter((f) => f.endsWith('.js.map'))) {
      const { sources } = JSON.parse(readFileSync(join(unpacked, 'package', map), 'utf8')) as { sources: string[] };
      for (const s of sources) if (!files.includes(join(map, '..', s))) missing.push(`${map} -> ${s}`);
    }
    expect(missing, 'source maps name sources that are shipped').to.deep.equal([]);
  });

  it('passes publint (strict) and @arethetypeswrong/cli (ESM only)', () => {
    expect(run(join(BIN, 'publint'), ['run', '.', '--strict'], stage)).to.contain('All good');
    run(join(BIN, 'attw'), [tarball, '--profile', 'esm-only'], stage); // throws on a problem
  });

  it('installs into a fresh project: a strict TypeScript and a plain JavaScript consumer run, and so does the bin', () => {
    const project = tmp();
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    run('npm', ['install', tarball, '--prefer-offline', '--no-audit', '--no-fund'], project);
    cpSync(join(CONSUMERS, 'consumer.mjs'), join(project, 'consumer.mjs'));
    cpSync(join(CONSUMERS, 'consumer.ts'), join(project, 'consumer.ts'));
    expect(run(process.execPath, ['consumer.mjs'], project)).to.equal('0 hello from a consumer 0\n');
    run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext',
      '--target', 'es2023', '--types', 'node', '--typeRoots', join(ROOT, 'node_modules/@types'), '--outDir', 'out', 'consumer.ts'], project);
    expect(run(process.execPath, ['out/consumer.js'], project)).to.equal('0 set 0\ntrue 1 true 5000 SessionExpiredError NotHostedError createUdpUnicastTransport\n');
    expect(run(join(project, 'node_modules/.bin/paxos'), ['--version'], project)).to.equal(`${VERSION}\n`);
  });
});
