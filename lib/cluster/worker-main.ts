/**
 * Entry point of one worker: builds its roles from `workerData` (one role, or a replica's set),
 * hosts them with one `RoleHost` over the configured transport (the bus by default) and exposes
 * the `WorkerControl` API over comlink. What each Ready carries decides where it goes (deliveries to the learned
 * feed, completions to the submission port, leadership to the main thread); nothing here asks
 * which role it holds. Loaded by `Cluster` as compiled JS from `dist/`.
 */
import { performance } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import { expose } from 'comlink';
import { portEndpoint } from './worker-endpoint.js';
import { LearnedFeed } from './learned-feed.js';
import { SubmitPort } from './submit-port.js';
import type { DurableAcceptor } from '../runtime/durable-acceptor.js';
import { buildRole } from '../runtime/role-factory.js';
import { type Hosted, RoleHost } from '../runtime/role-host.js';
import type { Acceptor, AcceptorState } from '../protocol/acceptor.js';
import { formatBallot } from '../protocol/ballot.js';
import type { Client } from '../protocol/client.js';
import type { Learner } from '../protocol/learner.js';
import type { Proposer } from '../protocol/proposer.js';
import { resolveOptions } from '../protocol/options.js';
import type { Ready, Role } from '../protocol/role.js';
import type { FaultControllable, FaultSettings } from '../transport/bus.js';
import { createTransport } from '../runtime/worker-transport.js';
import type { Transport } from '../transport/transport.js';
import { LeaderWatch } from './leader-watch.js';
import type { HeldState, HostedRole, WorkerControl, WorkerEvent, WorkerInit, WorkerStatus } from './worker-protocol.js';
import type { Membership as MembershipView } from './reconfigure.js';
import { type MembershipRequest, memberIds } from '../protocol/membership.js';
import type { StateFile } from '../storage/state-file.js';
import { decodeState } from '../protocol/state-blob.js';
import type { Group } from '../protocol/messages.js';

const init = workerData as WorkerInit;
const options = resolveOptions(init.protocol);
const post = (event: WorkerEvent) => parentPort!.postMessage(event);
const log = (line: string) => { if (init.debug) post({ type: 'log', line }); };
const name = init.name;

/** The acceptor this worker hosts, if any: `freeze()` returns its state. */
let acceptor: Acceptor | undefined;
/** A durable acceptor's directory, closed on shutdown. */
let durable: DurableAcceptor | undefined;
let feed: LearnedFeed | undefined;
let client: Client | undefined;
let submitPort: SubmitPort | undefined;
/** A learner's state file (`stateSnapshots` with a data directory). */
let stateFile: StateFile | undefined;

/** Builds one hosted role; a durable acceptor recovers from its directory (corruption or a held lock fail the start). */
async function build(spec: HostedRole): Promise<Hosted> {
  const built = await buildRole(spec, options, (err) => {
    // A learner's state file only spares it a fetch from a peer: the old state stays in place.
    if (spec.group === 'learners') return log(`${name}: learners/${spec.id} could not write its state: ${err.message}`);
    // The disk no longer backs our answers: stop answering for good; the cluster sees a crash.
    log(`${name}: ${spec.group}/${spec.id} storage failed, stopping: ${err.message}`);
    process.exit(1);
  });
  stateFile ??= built.stateFile;
  // What the control API and the ports need of each role.
  if (built.durable) durable = built.durable;
  if (spec.group === 'acceptors') acceptor = built.role as Acceptor;
  if (spec.group === 'clients') client = built.role as Client;
  if (spec.group === 'learners') {
    const learner = built.role as Learner;
    feed = new LearnedFeed(options.trimAfterLearners > 0, init.replayKeepValues, learner.position,
      () => (options.stateSnapshots ? learner.heldStatePosition ?? 0 : Infinity));
  }
  return built;
}

function onReady(role: Role, ready: Ready): void {
  for (const gap of ready.gaps) {
    feed?.skip(gap);
    log(`${role.group}/${role.id}: positions ${gap.fromPosition}..${gap.toPosition - 1} were trimmed before it caught up`);
  }
  if (ready.restored) {
    // Positions below it are in the application state, not in the feed: iterators from before it end with TrimmedError.
    feed?.restored(ready.deliveries, ready.restored.position);
    saveState(role as Learner);
    log(`${role.group}/${role.id}: restored an application state at position ${ready.restored.position}`);
  } else if (ready.deliveries.length) feed?.add(ready.deliveries);
  if (ready.completions.length) submitPort?.complete(ready.completions);
  if (ready.barriers) submitPort?.passed(ready.barriers);
  if (ready.leadership) {
    const { leading, ballot } = ready.leadership;
    post({ type: 'leader', proposer: role.id, leading, ballot });
    log(`${role.group}/${role.id} ${leading ? 'leads' : 'stopped leading'} with ballot ${formatBallot(ballot)}`);
  }
}

/**
 * The transport, with every received message shown to a `LeaderWatch` first: a per-host process
 * hears the leader in heartbeats, wherever it runs. The watch lapses claims on a timer of its own.
 */
function watchingLeader(inner: Transport): Transport {
  const watch = new LeaderWatch(options.leaderTimeoutMs, (proposer, ballot) => post({ type: 'leader-heard', proposer, ballot }));
  const timer = setInterval(() => watch.check(performance.now()), Math.max(10, options.leaderTimeoutMs / 4));
  timer.unref();
  return {
    start: (members, deliver) => inner.start(members, (message, to) => {
      if (message.type === 'heartbeat') watch.see(message, performance.now()); // no clock read per data message
      deliver(message, to);
    }),
    send: (from, messages) => inner.send(from, messages),
    close: () => {
      clearInterval(timer);
      return inner.close();
    },
  };
}

if (new Set(init.roles.map((r) => r.group)).size !== init.roles.length) throw new Error(`${name}: at most one role of each group per worker`);
const hosted: Hosted[] = [];
for (const spec of init.roles) hosted.push(await build(spec));
const transport = await createTransport(init.transport, {
  members: init.roles.map(({ group, id }) => ({ group, id })), topology: init.topology, clusterId: init.clusterId, faults: init.faults,
});
const host = new RoleHost(hosted, init.watchLeader ? watchingLeader(transport) : transport, { now: () => performance.now(), tickMs: init.tickMs, onReady });
if (init.submit && client) submitPort = new SubmitPort(init.submit, client, host);
let running = true;

function saveState(learner: Learner): void {
  const blob = learner.heldState;
  if (blob) stateFile?.write(blob);
}

function hostedRole(group: Group, id: number): Role {
  const role = host.roles.find((r) => r.group === group && r.id === id);
  if (!role) throw new Error(`${name} does not host ${group}/${id}`);
  return role;
}

async function shutdown(): Promise<void> {
  if (!running) return;
  running = false;
  await host.stop();
  await durable?.close();
  await stateFile?.flushed();
  feed?.close();
  submitPort?.close();
}

const control: WorkerControl = {
  status(group: Group, id: number): WorkerStatus {
    const { ballot, ...status } = hostedRole(group, id).status();
    return { group, id, running, worker: name, ...status, ...(ballot ? { ballot: formatBallot(ballot) } : {}) };
  },
  metrics(group: Group, id: number): Record<string, number> {
    const out: Record<string, number> = { ...hostedRole(group, id).counters(), ...(group === 'learners' ? feed?.counters() : {}) };
    for (const [k, v] of Object.entries(transport.metrics ?? {})) out[`transport.${k}`] = v;
    // Busy time of this thread's event loop since it started (ms): where the CPU goes.
    out.eventLoopActiveMs = Math.round(performance.eventLoopUtilization().active);
    // This thread's own V8 heap (workers share the process RSS): where memory goes.
    const heap = getHeapStatistics();
    out.heapUsedBytes = heap.used_heap_size;
    out.heapLimitBytes = heap.heap_size_limit;
    return out;
  },
  setFaults(settings: FaultSettings): boolean {
    const t = transport as Partial<FaultControllable>;
    if (typeof t.setFaults !== 'function') return false;
    t.setFaults(settings);
    log(`${name} faults ${JSON.stringify(settings)}`);
    return true;
  },
  transferLeadership(id: number, to: number): boolean {
    const proposer = hostedRole('proposers', id) as Proposer;
    const started = host.act(proposer, (p, now) => p.transferLeadership(to, now));
    log(`${name}: ${started ? 'hands' : 'cannot hand'} leadership over to proposers/${to}`);
    return started;
  },
  markState(id: number): { instance: number; position: number } | undefined {
    return (hostedRole('learners', id) as Learner).markState();
  },
  stateTaken(id: number, instance: number, state: Uint8Array): boolean {
    const learner = hostedRole('learners', id) as Learner;
    const taken = learner.stateTaken(instance, state);
    if (taken) saveState(learner);
    return taken;
  },
  heldState(id: number): HeldState | undefined {
    const blob = (hostedRole('learners', id) as Learner).heldState;
    const state = blob && decodeState(blob);
    return state ? { instance: state.delivery.instance, position: state.delivery.position, state: state.app } : undefined;
  },
  requestTransfer(id: number, to: number): boolean {
    const proposer = hostedRole('proposers', id) as Proposer;
    return host.act(proposer, (p, now) => p.requestTransfer(to, now));
  },
  requestReconfiguration(id: number, request: MembershipRequest): number {
    return host.act(hostedRole('proposers', id) as Proposer, (p) => p.requestReconfiguration(request));
  },
  membership(id: number): MembershipView {
    const learner = (hostedRole('proposers', id) as Proposer).learner;
    const m = learner.membership;
    return { epoch: m.epoch, acceptors: memberIds(m), phase1Quorum: m.phase1Quorum, phase2Quorum: m.phase2Quorum, ...learner.epochStartedAt };
  },
  subscribe(port: MessagePort, from: number): void {
    if (!feed) throw new Error(`${name} hosts no learner`);
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
log(`${name} started: ${init.roles.map((r) => `${r.group}/${r.id} (incarnation ${r.incarnation}${r.restored ? `, restored ${r.restored.accepted.length} accepted instances` : ''})`).join(', ')}`);
