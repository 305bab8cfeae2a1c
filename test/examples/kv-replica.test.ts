/**
 * examples/kv-replica.ts on three "hosts": network namespaces joined by a bridge, one replica
 * process each (acceptor, proposer, learner and client, `Cluster.start({ host })` over UDP), each
 * with its data directory. One host is SIGKILLed mid-run and restarted from its directory; every
 * replica must end with the same map. And a host killed for good is replaced by a new machine
 * through a membership change while a writer keeps submitting.
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { CONFIG, type LabProcess, type NetLab, labPerTest, unicastConfig, unicastMembers } from '../kit/netns.js';
import { poll, sleep } from '../kit/wait.js';

const EXAMPLE = resolve(dirname(fileURLToPath(import.meta.url)), '../../examples/kv-replica.js');
const OPS = 1_500;

/** The `complete <operations> <digest>` line a replica printed, if it did. */
function completion(lab: NetLab, proc: LabProcess): string | undefined {
  return lab.readLines(proc.stdoutPath).lines.find((l) => l.startsWith('complete '));
}

describe('examples/kv-replica: a replica per host over UDP', function () {
  this.timeout(120_000);
  const openLab = labPerTest();

  for (const transport of ['multicast', 'unicast'] as const) {
    it(`three hosts over ${transport}, one killed mid-run and restarted from its data directory: all replicas end identical`, () => killAndRestart(transport));
  }

  it('a host killed after the log was trimmed far past its start comes back from its own snapshot, not the whole log', async () => {
    const lab = openLab('kvlate');
    const hosts = lab.addBridgedHosts(3);
    const config = lab.file('paxos.conf', CONFIG);
    const start = (i: number, life: string): LabProcess => lab.spawnNode(hosts[i - 1]!.ns, `replica${i}${life}`, EXAMPLE,
      [String(i), config, '--data-dir', lab.path(`data${i}`), '--ops', String(OPS), '--interface', hosts[i - 1]!.address]);
    const replicas = [1, 2, 3].map((i) => start(i, ''));
    expect(await poll(() => replicas.every((r) => completion(lab, r) !== undefined), 60_000, 50), 'first run complete').to.equal(true);
    await sleep(500); // a few progress reports: the leader trims behind the snapshots
    lab.signal(replicas[2]!, 'SIGKILL');
    await replicas[2]!.exited;
    replicas[2] = start(3, '-restarted');
    expect(await poll(() => completion(lab, replicas[2]!) !== undefined, 60_000, 50), 'the restarted host completes').to.equal(true);
    const lines = replicas.map((r) => completion(lab, r));
    const stderr = lab.readLines(replicas[2]!.stderrPath).lines;
    await lab.stopAll(3000);
    expect(new Set(lines).size, lines.join(', ')).to.equal(1);
    const summary = stderr.find((l) => l.includes('snapshots restored')) ?? '';
    const [, applied, restores] = /(\d+) operations applied, (\d+) snapshots restored/.exec(summary) ?? [];
    expect(Number(restores), summary).to.equal(1);
    expect(Number(applied), 'it applied only what came after its snapshot').to.be.below(3 * OPS);
  });

  it('a host killed for good is replaced by a new one (membership change) while a writer keeps submitting', async () => {
    const lab = openLab('kvswap');
    const hosts = lab.addBridgedHosts(4);
    const config = lab.file('paxos.conf', CONFIG);
    const ops = 6_000;
    // Four replica slots, three voting acceptors; replica 1 writes (paced, so that the change comes mid-run) and asks for the change.
    const start = (i: number): LabProcess => lab.spawnNode(hosts[i - 1]!.ns, `replica${i}`, EXAMPLE, [
      String(i), config, '--data-dir', lab.path(`data${i}`), '--ops', String(ops), '--replicas', '4', '--voters', '1,2,3', '--writers', '1',
      '--ops-per-second', '1500', '--interface', hosts[i - 1]!.address, ...(i === 1 ? ['--reconfigure', '1,2,4'] : []),
    ]);
    const ready = (p: LabProcess): boolean => lab.readLines(p.stderrPath).lines.some((l) => l.includes('ready'));
    const replicas = [1, 2, 3].map(start);
    expect(await poll(() => replicas.every(ready), 30_000, 10), 'three hosts ready').to.equal(true);
    await sleep(300);
    lab.signal(replicas[2]!, 'SIGKILL'); // host 3 dies for good
    await replicas[2]!.exited;
    const fresh = start(4); // a new machine: its acceptor is a spare so far
    expect(await poll(() => ready(fresh), 30_000, 10), 'host 4 ready').to.equal(true);
    lab.signal(replicas[0]!, 'SIGUSR2');
    const outcome = (): string | undefined => lab.readLines(replicas[0]!.stderrPath).lines.find((l) => /reconfigure(d| failed)/.test(l));
    expect(await poll(() => outcome() !== undefined, 30_000, 10), 'the change is answered').to.equal(true);
    const [, position] = /reconfigured epoch 1 at position (\d+): acceptors 1,2,4/.exec(outcome()!) ?? [];
    expect(Number(position), `${outcome()}: while the writer still submits`).to.be.within(1, ops - 1);
    // Host 2 goes too: without the change, acceptor 1 alone could decide nothing; with it, 1 and 4 are a quorum.
    lab.signal(replicas[1]!, 'SIGKILL');
    await replicas[1]!.exited;
    const survivors = [replicas[0]!, fresh];
    const done = await poll(() => survivors.every((r) => completion(lab, r) !== undefined), 60_000, 50);
    const lines = survivors.map((r) => completion(lab, r));
    await lab.stopAll(3000);
    expect(done, `completions: ${JSON.stringify(lines)}; host 1: ${lab.readLines(replicas[0]!.stderrPath).lines.slice(-4).join(' | ')}`).to.equal(true);
    expect(lines[0]).to.match(new RegExp(`^complete ${ops} [0-9a-f]{16}$`));
    expect(lines[1], 'the new host ends identical').to.equal(lines[0]);
  });

  async function killAndRestart(transport: 'multicast' | 'unicast'): Promise<void> {
    const lab = openLab(`kv${transport}`);
    const hosts = lab.addBridgedHosts(3);
    // Unicast: replica i's members at host i's address.
    const config = lab.file('paxos.conf', transport === 'multicast' ? CONFIG
      : unicastConfig(unicastMembers({ proposers: 3, acceptors: 3, learners: 3, clients: 3 }, (_, id) => hosts[id]!.address)));
    const start = (i: number, life: string): LabProcess => lab.spawnNode(hosts[i - 1]!.ns, `replica${i}${life}`, EXAMPLE,
      [String(i), config, '--data-dir', lab.path(`data${i}`), '--ops', String(OPS), ...(transport === 'multicast' ? ['--interface', hosts[i - 1]!.address] : [])]);
    const replicas = [1, 2, 3].map((i) => start(i, ''));
    // Host 3 goes down hard while values are being ordered, and comes back from its directory.
    expect(await poll(() => lab.readLines(replicas[2]!.stderrPath).lines.some((l) => l.includes('ready')), 30_000, 10)).to.equal(true);
    await sleep(50);
    expect(completion(lab, replicas[2]!), 'host 3 finished before it was killed').to.equal(undefined);
    lab.signal(replicas[2]!, 'SIGKILL');
    await replicas[2]!.exited;
    await sleep(500);
    replicas[2] = start(3, '-restarted');
    const done = await poll(() => replicas.every((r) => completion(lab, r) !== undefined), 60_000, 50);
    const lines = replicas.map((r) => completion(lab, r));
    await lab.stopAll(3000);
    expect(done, `completions: ${JSON.stringify(lines)}; stderr of host 3: ${lab.readLines(replicas[2]!.stderrPath).lines.slice(-5).join(' | ')}`).to.equal(true);
    expect(lines[0]).to.match(new RegExp(`^complete ${3 * OPS} [0-9a-f]{16}$`));
    expect(new Set(lines).size, lines.join(', ')).to.equal(1);
    for (const r of replicas) expect(r.exitStatus?.code, `${r.name} exit; stderr: ${lab.readLines(r.stderrPath).lines.slice(-8).join(' | ')}`).to.equal(0);
  }
});
