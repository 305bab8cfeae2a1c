/**
 * Entry point of one role worker: builds the role from `workerData`, runs it with a `NodeRunner`
 * over the configured transport (the bus by default) and exposes the `WorkerControl` API over
 * comlink. Loaded by `Cluster` as compiled JS from `dist/`.
 */
import { performance } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import { expose } from 'comlink';
import { portEndpoint } from './worker-endpoint.js';
import { openDurableAcceptor } from '../runtime/durable-acceptor.js';
import { Acceptor } from '../protocol/acceptor.js';
import { randomBytes } from 'node:crypto';
import { formatBallot } from '../protocol/ballot.js';
import { Client, ValueTooLargeError } from '../protocol/client.js';
import { Learner } from '../protocol/learner.js';
import type { Payload } from '../protocol/messages.js';
import type { ProtocolNode } from '../protocol/node.js';
import { resolveOptions } from '../protocol/options.js';
import { Proposer } from '../protocol/proposer.js';
import type { FaultControllable, FaultSettings } from '../transport/bus.js';
import type { Transport } from '../transport/transport.js';
import { NodeRunner } from '../runtime/node-runner.js';
import type {
  StreamItem, StreamRequest, SubmitReply, SubmitRequest, WorkerControl, WorkerEvent, WorkerInit, WorkerStatus,
} from './worker-protocol.js';
import { createTransport } from '../runtime/worker-transport.js';

const init = workerData as WorkerInit;
const options = resolveOptions(init.protocol);
const post = (event: WorkerEvent) => parentPort!.postMessage(event);
const log = (line: string) => { if (init.debug) post({ type: 'log', line }); };

// A durable acceptor recovers from its directory (corruption or a held lock fail the start).
const durable = init.durable ? await openDurableAcceptor(init.id, options, init.durable.dir, init.durable.sync) : undefined;

function buildNode(): ProtocolNode {
  switch (init.group) {
    case 'proposers': return new Proposer(init.id, options, { incarnation: init.incarnation, random: Math.random });
    case 'acceptors': return durable?.acceptor ?? new Acceptor(init.id, options, init.restored);
    case 'learners': return new Learner(init.id, options);
    case 'clients': return new Client(init.id, options, { nonce: () => randomBytes(16).toString('hex') });
  }
}

const node = buildNode();
const transport: Transport = await createTransport(init.transport, {
  endpoint: { group: init.group, id: init.id }, topology: init.topology, clusterId: init.clusterId, faults: init.faults,
});
let running = true;

// ------------------------------------------------------------------------------- learners
/**
 * What this learner delivered, so iterators can replay. Without trimming: everything. With
 * trimming: the newest `replayKeepValues` values plus whatever a live iterator still has to read;
 * `dropped` counts the values let go from the front (indexes stay absolute).
 */
let learned: StreamItem[] = [];
let dropped = 0;
const trimming = options.learners > 0;
const REPLAY_KEEP = init.replayKeepValues;
interface Subscription { port: MessagePort; next: number; credit: number }
const subscriptions = new Set<Subscription>();
const STREAM_CHUNK = 1024;

/** Values this learner skipped because the log was trimmed before it caught up. */
let skipped = 0;

/** Absolute index of the first held value at or after `position` (positions skip over gaps). */
function indexOf(position: number): number {
  let lo = 0;
  let hi = learned.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (learned[mid]!.position < position) lo = mid + 1;
    else hi = mid;
  }
  return dropped + lo;
}

/** The first position an iterator can still start from. */
function firstHeldPosition(): number {
  return learned[0]?.position ?? (node as Learner).position;
}

function pump(sub: Subscription): void {
  const end = dropped + learned.length;
  while (sub.credit > 0 && sub.next < end) {
    const n = Math.min(sub.credit, STREAM_CHUNK, end - sub.next);
    sub.port.postMessage({ items: learned.slice(sub.next - dropped, sub.next - dropped + n) });
    sub.next += n;
    sub.credit -= n;
  }
}

/** With trimming, let go of values no iterator needs, beyond the newest REPLAY_KEEP. */
function releaseReplayed(): void {
  let keepFrom = dropped + learned.length - REPLAY_KEEP;
  for (const sub of subscriptions) keepFrom = Math.min(keepFrom, sub.next);
  const release = keepFrom - dropped;
  if (release < Math.min(4096, REPLAY_KEEP)) return; // in chunks: slicing is O(held)
  learned = learned.slice(release);
  dropped += release;
}

// ------------------------------------------------------------------------------- clients
/** Client seq → the id the main thread gave the value. */
const submitted = new Map<number, number>();
let doneOut: [number, number][] = [];
let replyScheduled = false;

function flushReplies(): void {
  replyScheduled = false;
  if (!doneOut.length || !init.submit) return;
  const reply: SubmitReply = { done: doneOut };
  doneOut = [];
  init.submit.postMessage(reply);
}

// ------------------------------------------------------------------------------- proposers
let wasLeading = false;

function afterStep(): void {
  if (node instanceof Learner) {
    for (const gap of node.takeGaps()) {
      skipped += gap.toPosition - gap.fromPosition;
      log(`learner ${init.id}: positions ${gap.fromPosition}..${gap.toPosition - 1} were trimmed before it caught up`);
    }
    const deliveries = node.takeDeliveries();
    if (deliveries.length) {
      for (const d of deliveries) learned.push({ position: d.position, instance: d.instance, client: d.client, seq: d.seq, value: d.value });
      for (const sub of subscriptions) pump(sub);
      if (trimming) releaseReplayed();
    }
  } else if (node instanceof Client) {
    const completions = node.takeCompletions();
    for (const c of completions) {
      const id = submitted.get(c.seq);
      if (id === undefined) continue;
      submitted.delete(c.seq);
      doneOut.push([id, c.position]);
    }
    if (doneOut.length && !replyScheduled) {
      replyScheduled = true;
      setImmediate(flushReplies);
    }
  } else if (node instanceof Proposer) {
    if (node.isLeader !== wasLeading) {
      wasLeading = node.isLeader;
      const ballot = node.currentBallot;
      post({ type: 'leader', leading: wasLeading, ballot });
      log(`proposer ${init.id} ${wasLeading ? 'leads' : 'stopped leading'} with ballot ${ballot}`);
    }
  }
}

const runner = new NodeRunner(node, transport, {
  tickMs: init.tickMs,
  afterStep,
  ...(durable ? {
    persist: durable.persist,
    onPersistError: (err: unknown) => {
      // The disk no longer backs our answers: stop answering for good; the cluster sees a crash.
      log(`acceptors/${init.id}: storage failed, stopping: ${(err as Error).message}`);
      process.exit(1);
    },
  } : {}),
});

if (init.submit) {
  const port = init.submit;
  port.on('message', (request: SubmitRequest) => {
    if (!running) return;
    const failed: [number, string, string, number?, number?][] = [];
    runner.act((n) => {
      const client = n as Client;
      const now = performance.now();
      request.values.forEach((value: Payload, k: number) => {
        try {
          submitted.set(client.submit(value, now), request.ids[k]!);
        } catch (e) {
          const err = e as Error & { code?: string };
          if (err instanceof ValueTooLargeError) failed.push([request.ids[k]!, err.code, err.message, err.size, err.limit]);
          else failed.push([request.ids[k]!, err.code ?? 'ERR_PAXOS_SUBMIT', err.message]);
        }
      });
    });
    if (failed.length) port.postMessage({ failed } satisfies SubmitReply);
  });
}

async function shutdown(): Promise<void> {
  if (!running) return;
  running = false;
  await runner.stop();
  await durable?.close();
  for (const sub of subscriptions) sub.port.close();
  subscriptions.clear();
  init.submit?.close();
}

const control: WorkerControl = {
  status(): WorkerStatus {
    const base = { group: init.group, id: init.id, running };
    if (node instanceof Proposer) {
      return { ...base, leading: node.isLeader, ballot: formatBallot(node.currentBallot), instancesDelivered: node.learner.delivered };
    }
    if (node instanceof Learner) return { ...base, instancesDelivered: node.delivered, valuesDelivered: node.position };
    if (node instanceof Client) return { ...base, pending: node.pendingCount };
    return base;
  },
  metrics(): Record<string, number> {
    const out: Record<string, number> = { ...node.metrics };
    if (node instanceof Proposer) {
      for (const [k, v] of Object.entries(node.learner.metrics)) out[`learner.${k}`] = v;
    }
    if (node instanceof Learner) {
      out.subscriptions = subscriptions.size;
      out.valuesRetained = learned.length;
      out.valuesSkipped = skipped;
    }
    if (node instanceof Acceptor) out.acceptedInstances = node.acceptedCount;
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
    log(`${init.group}/${init.id} faults ${JSON.stringify(settings)}`);
    return true;
  },
  subscribe(port: MessagePort, from: number): void {
    if (!(node instanceof Learner)) throw new Error(`${init.group} do not learn values`);
    const start = Math.max(0, from);
    if (trimming && start < firstHeldPosition() && (dropped > 0 || skipped > 0)) {
      // Those values are gone (trimmed, or skipped by this learner): say so instead of a silent gap.
      port.postMessage({ items: [], trimmedBelow: firstHeldPosition() });
      port.close();
      return;
    }
    const sub: Subscription = { port, next: indexOf(start), credit: 0 };
    subscriptions.add(sub);
    port.on('message', (m: StreamRequest) => {
      sub.credit += m.credit;
      pump(sub);
    });
    port.on('close', () => subscriptions.delete(sub));
    log(`learner ${init.id}: iterator from ${from}`);
  },
  async freeze() {
    await shutdown();
    return node instanceof Acceptor ? node.snapshot() : undefined;
  },
  async stop() {
    await shutdown();
    // Once this reply is out, close the control port too: nothing is left, so the thread exits.
    setImmediate(() => init.control.close());
  },
};

expose(control, portEndpoint(init.control));
await runner.start();
post({ type: 'ready' });
log(`${init.group}/${init.id} started (incarnation ${init.incarnation}${init.restored ? `, restored ${init.restored.accepted.length} accepted instances` : ''})`);
