/**
 * A replicated key-value store with one replica per host: run this program once on each of three
 * machines. Each process hosts one replica of the deployment (acceptor, proposer, learner and
 * client i, `Cluster.start({ host })`), talks UDP to the others as `paxos.conf` says (multicast
 * groups, or one unicast address per member), keeps its acceptor's state in `--data-dir`, writes
 * through its own client and keeps its own map from its own learner with `cluster.replicate()`:
 * the log is trimmed, the map is snapshotted every few hundred operations, and the learner keeps
 * the newest snapshot in the data directory.
 *
 * ```text
 * node dist/examples/kv-replica.js <replica 1..3> <paxos.conf> --data-dir DIR [--ops N] [--secret S] [--interface ADDR | --bind ADDR]
 * ```
 *
 * Replacing a machine (membership change): start the deployment with more replica slots than
 * voting acceptors, e.g. `--replicas 4 --voters 1,2,3` (replica 4's acceptor is a spare), and
 * give one replica `--reconfigure 1,2,4`: on SIGUSR2 it asks for that set of acceptors
 * (`cluster.reconfigure()`) and logs `reconfigured epoch E at position P`. `--writers 1,2` says
 * which replicas write (default: all), `--ops-per-second R` paces each writer.
 *
 * Each writer sets and deletes keys (operations tagged writer/seq). The store applies each tagged
 * operation once, the first time the log delivers it, so a replica that crashes and restarts
 * (from its data directory) may simply submit all of its operations again. A restarted replica
 * restores its learner's newest snapshot (from its directory, or a peer's when the log was trimmed
 * past it) instead of replaying the log from the start; every replica ends with the same map. Once a replica has applied every writer's
 * operations it prints `complete <operations> <digest>` on stdout, and it keeps serving its
 * peers until SIGTERM or SIGINT (exit 0).
 */
import { createHash } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Cluster, type StateMachine } from '../lib/index.js';
import { readConfigFile, udpTransportSpec } from '../lib/transport/udp.js'; // paxos-cluster/udp
import { KvReplica } from './kv-store.js';

/** What the replicas order: a writer's operation, tagged so that a resent one applies once. */
export interface TaggedOp {
  readonly writer: number;
  readonly seq: number;
  readonly op: 'set' | 'delete';
  readonly key: string;
  readonly value?: number;
}

/** A store that applies each (writer, seq) once, in log order; its snapshot holds the map and the tags seen. */
export class TaggedStore implements StateMachine<TaggedOp> {
  map = new KvReplica();
  private seen = new Set<string>();
  /** Called after every operation applied (or restored), with the distinct count. */
  onProgress: (distinct: number) => void = () => undefined;

  snapshot(): Uint8Array {
    return new TextEncoder().encode(JSON.stringify({ map: new TextDecoder().decode(this.map.snapshot()), seen: [...this.seen] }));
  }

  restore(state: Uint8Array): void {
    const { map, seen } = JSON.parse(new TextDecoder().decode(state)) as { map: string; seen: string[] };
    this.map = new KvReplica();
    this.map.restore(new TextEncoder().encode(map));
    this.seen = new Set(seen);
    this.onProgress(this.seen.size);
  }

  apply(op: TaggedOp): void {
    const tag = `${op.writer}/${op.seq}`;
    if (this.seen.has(tag)) return;
    this.seen.add(tag);
    this.map.apply(op.op === 'set' ? { op: 'set', key: op.key, value: op.value! } : { op: 'delete', key: op.key });
    this.onProgress(this.seen.size);
  }

  get distinct(): number {
    return this.seen.size;
  }

  digest(): string {
    return createHash('sha256').update(this.map.dump()).digest('hex').slice(0, 16);
  }
}

/** Writer `writer`'s operations: the same on every run, racing the other writers on ten keys. */
export function operations(writer: number, count: number): TaggedOp[] {
  return Array.from({ length: count }, (_, seq) => {
    const key = `key${(seq * 7 + writer) % 10}`;
    return seq % 5 === 4 ? { writer, seq, op: 'delete', key } : { writer, seq, op: 'set', key, value: writer * 1_000_000 + seq };
  });
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    'data-dir': { type: 'string' }, ops: { type: 'string', default: '500' }, replicas: { type: 'string', default: '3' },
    secret: { type: 'string' }, interface: { type: 'string' }, bind: { type: 'string' },
    voters: { type: 'string' }, writers: { type: 'string' }, reconfigure: { type: 'string' }, 'ops-per-second': { type: 'string' },
  },
});
const [replicaText, configPath] = positionals;
const replicas = Number(values.replicas);
const replica = Number(replicaText);
if (!configPath || !Number.isInteger(replica) || replica < 1 || replica > replicas || !values['data-dir']) {
  console.error('usage: kv-replica <replica 1..N> <paxos.conf> --data-dir DIR [--ops N] [--replicas N] [--secret S] [--interface ADDR | --bind ADDR]');
  process.exit(2);
}
const id = replica - 1; // command lines count from 1, the API from 0
const opsPerWriter = Number(values.ops);
/** A list of replica numbers (1..N) as API ids (0..N-1). */
const ids = (text: string | undefined, all: number[]): number[] => (text ? text.split(',').map((x) => Number(x) - 1) : all);
const everyone = Array.from({ length: replicas }, (_, i) => i);
const writers = ids(values.writers, everyone);

const cluster = await Cluster.start<TaggedOp>({
  proposers: replicas, acceptors: replicas, learners: replicas, clients: replicas, initialAcceptors: ids(values.voters, everyone),
  host: { proposers: [id], acceptors: [id], learners: [id], clients: [id] },
  workers: 'replica',
  transport: udpTransportSpec(readConfigFile(configPath), { secret: values.secret, interface: values.interface, bind: values.bind }),
  dataDir: values['data-dir'],
  // Bounded memory for a long run: trim the log, and keep the map as snapshots the learner holds.
  trim: true, stateSnapshots: true,
  // Processes on different hosts are scheduled independently: as the CLI does, wait longer
  // before presuming a leader dead than the in-process default.
  leaderTimeoutMs: 1000,
});
cluster.on('error', (e) => console.error(`replica ${replica}: ${e.message}`));
const stop = (): void => void cluster.stop().then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
if (values.reconfigure) {
  const acceptors = ids(values.reconfigure, []);
  process.on('SIGUSR2', () => void cluster.reconfigure({ acceptors }).then(
    (m) => console.error(`replica ${replica}: reconfigured epoch ${m.epoch} at position ${m.position}: acceptors ${m.acceptors.map((a) => a + 1).join(',')}`),
    (e: Error) => console.error(`replica ${replica}: reconfigure failed: ${e.message}`)));
}

const store = new TaggedStore();
const following = new Promise<void>((resolve) => {
  store.onProgress = (distinct) => {
    if (distinct !== opsPerWriter * writers.length) return;
    store.onProgress = () => undefined;
    console.log(`complete ${distinct} ${store.digest()}`);
    // (after the replica's own bookkeeping of the step that got here: a restore counts once it returned)
    setImmediate(() => console.error(`replica ${replica}: ${replicating.counters.applied} operations applied, ${replicating.counters.restores} snapshots restored`));
    resolve();
  };
});
const replicating = cluster.replicate(store, { snapshotEvery: 300 });
replicating.done.catch(() => undefined); // (failures reach the cluster's 'error' listener)
try {
  console.error(`replica ${replica}: ready, proposer ${await cluster.ready()} leads`);
  if (writers.includes(id)) {
    const ops = operations(id, opsPerWriter);
    const perSecond = Number(values['ops-per-second'] ?? Infinity);
    const chunk = Number.isFinite(perSecond) ? 50 : ops.length;
    const submitted: Promise<number>[] = [];
    for (let at = 0; at < ops.length; at += chunk) {
      submitted.push(...ops.slice(at, at + chunk).map((op) => cluster.submit(op)));
      if (Number.isFinite(perSecond)) await new Promise((r) => setTimeout(r, (1000 * chunk) / perSecond));
    }
    await Promise.all(submitted);
    console.error(`replica ${replica}: its ${opsPerWriter} operations are decided`);
  }
  await following;
} catch (e) {
  // A signal stopped the cluster meanwhile: what was in flight is moot.
  if (!cluster.stopped) throw e;
}
