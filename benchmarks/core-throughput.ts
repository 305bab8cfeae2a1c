/**
 * The protocol core alone, no transport: one leader, N acceptors, one learner and one client
 * wired by a synchronous in-memory pump. This is the ceiling any runtime can reach on one core;
 * `npm run bench` compares the cluster against it.
 *
 *   node dist/benchmarks/core-throughput.js [--values 200000] [--batch 1|4096] [--window 256]
 */
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { Acceptor, Client, Learner, Proposer, resolveOptions } from '../lib/protocol/index.js';
import type { Group, Outgoing, Role } from '../lib/protocol/index.js';
import { completions, deliveries, outgoing } from '../test/kit/drain.js';

export interface CoreRunResult {
  values: number;
  instances: number;
  seconds: number;
  valuesPerSec: number;
  instancesPerSec: number;
}

export function runCore(o: { values: number; batchMaxValues: number; window: number; acceptors: number; valueBytes: number; trim?: boolean }): CoreRunResult {
  const options = resolveOptions({ proposers: 1, acceptors: o.acceptors, window: o.window, batchMaxValues: o.batchMaxValues, trimAfterLearners: o.trim ? 1 : 0 });
  const leader = new Proposer(0, options, { incarnation: 1, random: () => 0.5 });
  const acceptors = Array.from({ length: o.acceptors }, (_, i) => new Acceptor(i, options));
  const learner = new Learner(0, options);
  const client = new Client(0, options, { nonce: () => '0123456789abcdef' });
  const groups: Record<Group, Role[]> = { proposers: [leader], acceptors, learners: [learner], clients: [client] };
  let now = 0;
  const queue: { to: Role; out: Outgoing }[] = [];
  const pump = (from: Role): void => {
    for (const out of outgoing(from)) {
      const members = groups[out.to.group];
      if (out.to.member === undefined) for (const m of members) queue.push({ to: m, out });
      else if (members[out.to.member]) queue.push({ to: members[out.to.member]!, out });
    }
  };
  const drain = (): void => {
    for (let i = 0; i < queue.length; i++) {
      const { to, out } = queue[i]!;
      to.handle(out.message, now);
      pump(to);
    }
    queue.length = 0;
  };
  // The first heartbeat finds the acceptors (CheckQuorum); the next tick campaigns.
  for (let i = 0; i < 2; i++) {
    leader.tick(now);
    pump(leader);
    drain();
    now += options.heartbeatIntervalMs;
  }
  const value = 'x'.repeat(o.valueBytes);
  let delivered = 0;
  let submitted = 0;
  const started = performance.now();
  while (delivered < o.values) {
    // Keep the client a little ahead of the pipeline, as a real one with a bounded queue would.
    while (submitted < o.values && client.pendingCount < o.window * o.batchMaxValues * 2) {
      client.submit(value, now);
      submitted++;
    }
    pump(client);
    drain();
    delivered += deliveries(learner).length;
    completions(client);
    now += 0.001;
  }
  const seconds = (performance.now() - started) / 1000;
  return { values: delivered, instances: leader.metrics.instancesProposed, seconds,
    valuesPerSec: delivered / seconds, instancesPerSec: leader.metrics.instancesProposed / seconds };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: {
    values: { type: 'string', default: '200000' }, batch: { type: 'string', default: '1' },
    window: { type: 'string', default: '256' }, acceptors: { type: 'string', default: '3' }, bytes: { type: 'string', default: '16' }, trim: { type: 'boolean', default: false },
  } });
  const r = runCore({ values: Number(values.values), batchMaxValues: Number(values.batch), window: Number(values.window),
    acceptors: Number(values.acceptors), valueBytes: Number(values.bytes), trim: values.trim });
  console.log(`core: ${r.values} values in ${r.instances} instances, ${r.seconds.toFixed(2)} s: ` +
    `${Math.round(r.valuesPerSec)} values/s, ${Math.round(r.instancesPerSec)} instances/s`);
}
