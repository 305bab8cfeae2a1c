/**
 * Entry point of one role worker: builds its roles from `workerData`, hosts them with a
 * `RoleHost` over the configured transport (the bus by default) and exposes the `WorkerControl`
 * API over comlink. What each Ready carries decides where it goes (deliveries to the learned
 * feed, completions to the submission port, leadership to the main thread); nothing here asks
 * which role it holds. Loaded by `Cluster` as compiled JS from `dist/`.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import { expose } from 'comlink';
import { portEndpoint } from './worker-endpoint.js';
import { LearnedFeed } from './learned-feed.js';
import { SubmitPort } from './submit-port.js';
import { openDurableAcceptor } from '../runtime/durable-acceptor.js';
import { type Hosted, RoleHost } from '../runtime/role-host.js';
import { Acceptor, type AcceptorState } from '../protocol/acceptor.js';
import { formatBallot } from '../protocol/ballot.js';
import { Client } from '../protocol/client.js';
import { Learner } from '../protocol/learner.js';
import { resolveOptions } from '../protocol/options.js';
import { Proposer } from '../protocol/proposer.js';
import type { Ready, Role } from '../protocol/role.js';
import type { FaultControllable, FaultSettings } from '../transport/bus.js';
import { createTransport } from '../runtime/worker-transport.js';
import type { WorkerControl, WorkerEvent, WorkerInit, WorkerStatus } from './worker-protocol.js';

const init = workerData as WorkerInit;
const options = resolveOptions(init.protocol);
const post = (event: WorkerEvent) => parentPort!.postMessage(event);
const log = (line: string) => { if (init.debug) post({ type: 'log', line }); };
const name = `${init.group}/${init.id}`;

// A durable acceptor recovers from its directory (corruption or a held lock fail the start).
const durable = init.durable ? await openDurableAcceptor(init.id, options, init.durable.dir, init.durable.sync) : undefined;

/** The acceptor this worker hosts, if any: `freeze()` returns its state. */
let acceptor: Acceptor | undefined;
let feed: LearnedFeed | undefined;
let learnerRole: Learner | undefined;
let submitPort: SubmitPort | undefined;
let clientRole: Client | undefined;

function build(): Hosted {
  switch (init.group) {
    case 'proposers': return { role: new Proposer(init.id, options, { incarnation: init.incarnation, random: Math.random }) };
    case 'acceptors':
      if (durable) {
        acceptor = durable.acceptor;
        return {
          role: acceptor,
          storage: durable.storage((err) => {
            // The disk no longer backs our answers: stop answering for good; the cluster sees a crash.
            host.halt();
            log(`${name}: storage failed, stopping: ${(err as Error).message}`);
            process.exit(1);
          }),
        };
      }
      return { role: (acceptor = new Acceptor(init.id, options, init.restored)) };
    case 'learners':
      learnerRole = new Learner(init.id, options);
      feed = new LearnedFeed(options.trimAfterLearners > 0, init.replayKeepValues, () => learnerRole!.position);
      return { role: learnerRole };
    case 'clients':
      clientRole = new Client(init.id, options, { nonce: () => randomBytes(16).toString('hex') });
      return { role: clientRole };
  }
}

function onReady(role: Role, ready: Ready): void {
  for (const gap of ready.gaps) {
    feed?.skip(gap);
    log(`${name}: positions ${gap.fromPosition}..${gap.toPosition - 1} were trimmed before it caught up`);
  }
  feed?.add(ready.deliveries);
  if (ready.completions.length) submitPort?.complete(ready.completions);
  if (ready.leadership) {
    const { leading, ballot } = ready.leadership;
    post({ type: 'leader', leading, ballot });
    log(`${role.group}/${role.id} ${leading ? 'leads' : 'stopped leading'} with ballot ${formatBallot(ballot)}`);
  }
}

const hosted = build();
const transport = await createTransport(init.transport, {
  endpoint: { group: init.group, id: init.id }, topology: init.topology, clusterId: init.clusterId, faults: init.faults,
});
const host = new RoleHost([hosted], transport, { now: () => performance.now(), tickMs: init.tickMs, onReady });
if (init.submit && clientRole) submitPort = new SubmitPort(init.submit, clientRole, host);
let running = true;

async function shutdown(): Promise<void> {
  if (!running) return;
  running = false;
  await host.stop();
  await durable?.close();
  feed?.close();
  submitPort?.close();
}

const control: WorkerControl = {
  status(): WorkerStatus {
    const { ballot, ...status } = hosted.role.status();
    return { group: init.group, id: init.id, running, ...status, ...(ballot ? { ballot: formatBallot(ballot) } : {}) };
  },
  metrics(): Record<string, number> {
    const out: Record<string, number> = { ...hosted.role.counters(), ...feed?.counters() };
    for (const [k, v] of Object.entries(transport.metrics ?? {})) out[`transport.${k}`] = v;
    // Busy time of this thread's event loop since it started (ms): where the CPU goes.
    out.eventLoopActiveMs = Math.round(performance.eventLoopUtilization().active);
    // This thread's own V8 heap (workers share the process RSS): where memory goes.
    out.heapUsedBytes = getHeapStatistics().used_heap_size;
    return out;
  },
  setFaults(settings: FaultSettings): boolean {
    const t = transport as Partial<FaultControllable>;
    if (typeof t.setFaults !== 'function') return false;
    t.setFaults(settings);
    log(`${name} faults ${JSON.stringify(settings)}`);
    return true;
  },
  subscribe(port: MessagePort, from: number): void {
    if (!feed) throw new Error(`${init.group} do not learn values`);
    feed.subscribe(port, from);
    log(`${name}: iterator from ${from}`);
  },
  async freeze(): Promise<AcceptorState | undefined> {
    await shutdown();
    return acceptor?.snapshot();
  },
  async stop() {
    await shutdown();
    // Once this reply is out, close the control port too: nothing is left, so the thread exits.
    setImmediate(() => init.control.close());
  },
};

expose(control, portEndpoint(init.control));
await host.start();
post({ type: 'ready' });
log(`${name} started (incarnation ${init.incarnation}${init.restored ? `, restored ${init.restored.accepted.length} accepted instances` : ''})`);
