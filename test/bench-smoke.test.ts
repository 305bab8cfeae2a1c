/**
 * `npm run bench -- --quick` as CI runs it: the benchmark finishes, and its JSON carries every key
 * issue 5 names with a positive number. Speed is never asserted here (the machine is shared).
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const RUN = fileURLToPath(new URL('../benchmarks/run.js', import.meta.url));

const KEYS = [
  'raw.msgsPerSec', 'raw.rttMicros', 'unbatched.instancesPerSec', 'batched.valuesPerSec', 'latency.p50Micros',
  'latency.p99Micros', 'ratios.unbatchedVsRaw', 'ratios.latencyVsRtt',
] as const;

describe('npm run bench --quick (smoke)', function () {
  this.timeout(120_000);
  let dir: string | undefined;

  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('writes every figure of issue 5 as a positive number, and the chart next to the JSON', async () => {
    dir = mkdtempSync(join(tmpdir(), 'paxos-bench-'));
    const json = join(dir, 'bench.json');
    const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [RUN, '--quick', '--json', json], { timeout: 100_000, killSignal: 'SIGKILL', maxBuffer: 16 << 20 },
        (err, out, errOut) => resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout: out, stderr: errOut }));
    });
    expect(code, `exit code; stderr:\n${stderr.slice(-3000)}`).to.equal(0);
    expect(stdout).to.include('raw bus one-way');
    const result = JSON.parse(readFileSync(json, 'utf8')) as Record<string, unknown>;
    for (const key of KEYS) {
      expect(result[key], key).to.be.a('number');
      expect(result[key] as number, key).to.be.greaterThan(0);
    }
    const machine = result.machine as { cpus: unknown; node: unknown };
    expect(machine.cpus).to.be.a('number').greaterThan(0);
    expect(machine.node).to.equal(process.version);
    expect(existsSync(join(dir, 'bench.svg'))).to.equal(true);
    expect(readFileSync(join(dir, 'bench.svg'), 'utf8')).to.match(/^<svg /);
  });
});
