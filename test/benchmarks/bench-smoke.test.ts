/**
 * `npm run bench -- --quick` as CI runs it: the benchmark finishes, and its JSON carries the
 * throughput, latency and ratio figures (raw bus, unbatched, batched, latency, their ratios) as
 * positive numbers. Speed is never asserted here (the machine is shared).
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDirs } from '../kit/temp-dir.js';

const RUN = fileURLToPath(new URL('../../benchmarks/run.js', import.meta.url));

const KEYS = [
  'raw.msgsPerSec', 'raw.rttMicros', 'unbatched.instancesPerSec', 'batched.valuesPerSec', 'latency.p50Micros',
  'latency.p99Micros', 'ratios.unbatchedVsRaw', 'ratios.latencyVsRtt',
] as const;

describe('npm run bench --quick (smoke)', function () {
  this.timeout(120_000);
  const newDir = tempDirs('paxos-bench-');

  it('writes the throughput, latency and ratio figures as positive numbers, and the chart next to the JSON', async () => {
    const dir = newDir();
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
