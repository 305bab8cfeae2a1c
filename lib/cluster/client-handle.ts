/**
 * `ClientHandle`: the submit path to one client worker. Every value gets an id and a pending
 * promise; the values of one event-loop turn cross to the worker as one `SubmitRequest`, and the
 * worker's `SubmitReply`s (or its exit, or `stop()`) settle them.
 */
import type { MessagePort } from 'node:worker_threads';
import { Fifo } from '../protocol/fifo.js';
import { ValueTooLargeError } from '../protocol/client.js';
import { type Payload, SESSION_EXPIRED } from '../protocol/messages.js';
import type { SubmitReply, SubmitRequest } from './worker-protocol.js';
import { ClusterError, ClusterStoppedError, MemberStateError, SessionExpiredError, WorkerExitedError } from './errors.js';

/** @hidden What a handle needs from its cluster. */
export interface ClientLink<T> {
  /** The value as a payload, checked against the batch limit; throws what `submit` rejects with. */
  encode(value: T): Payload;
  /** The client worker's submission port while the worker runs; undefined otherwise. */
  submitPort(): MessagePort | undefined;
  /** Values are in flight (`true`) or none are any more (`false`): what the process must stay alive for. */
  busy(busy: boolean): void;
}

/** Who waits for a value: one `submit`, or one `submitMany` for all of its values. */
interface Settler {
  resolve(index: number, position: number): void;
  reject(e: Error): void;
  /** Its signal aborted: the caller has its rejection; values still waiting for room are never sent. */
  aborted?: boolean;
}

/** One value on its way: its payload, and its place in its settler's answer. */
interface Waiting {
  readonly payload: Payload;
  readonly settler: Settler;
  readonly index: number;
}

/** `submitMany`: positions filled in as they come, resolved once all are known, rejected at the first failure. */
class RangeSettler implements Settler {
  aborted?: boolean;
  private remaining: number;
  private readonly positions: number[];
  private settled = false;

  constructor(count: number, private readonly done: (positions: number[]) => void, private readonly failed: (e: Error) => void) {
    this.remaining = count;
    this.positions = new Array<number>(count);
  }

  resolve(index: number, position: number): void {
    this.positions[index] = position;
    if (--this.remaining === 0 && !this.settled) {
      this.settled = true;
      this.done(this.positions);
    }
  }

  reject(e: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.failed(e);
  }
}

/** Options of one `submit`. */
export interface SubmitOptions {
  /**
   * Abort the wait: the promise rejects with the signal's reason. A value still waiting for room
   * under `maxOutstanding` is then never sent; one already sent may still be decided (look for it
   * in `learned()`), since a proposal cannot be taken back.
   */
  readonly signal?: AbortSignal;
}

/** Submits values through one client worker. Get one with `cluster.client(i)`. */
export class ClientHandle<T = unknown> {
  /**
   * Submissions waiting for a place under `maxOutstanding`, oldest first.
   * A plain FIFO and one map entry per value in flight: no queue task, closure or extra promise
   * per value, so the main thread can feed a client hundreds of thousands of values per second.
   */
  private readonly waiting = new Fifo<Waiting>();
  /** Values handed to the client worker (or about to be, this turn), by id. */
  private readonly pending = new Map<number, Waiting>();
  private outIds: number[] = [];
  private outValues: Payload[] = [];
  /** Read barriers asked this turn, by id (their answers come back as (id, position) pairs too). */
  private outBarriers: number[] = [];
  private flushScheduled = false;
  private nextId = 0;
  /** Set once the cluster stops: every later `submit` is refused. */
  private closed = false;

  /** @hidden Handles are made by the cluster; get one with `cluster.client(i)`. */
  constructor(readonly id: number, private readonly link: ClientLink<T>, private readonly maxOutstanding: number) {}

  /**
   * Order `value`; resolves with its 0-based position in the total order once it is decided.
   * Waits (without sending) while `maxOutstanding` values of this client are in flight.
   * Rejects with `ClusterStoppedError` after `stop()`, `MemberStateError` while this client is
   * killed, `WorkerExitedError` if the client dies with the value in flight, `ValueTooLargeError`
   * for a value over `batchMaxBytes`, `ValueEncodingError` for a value the codec cannot encode,
   * and the signal's reason once `options.signal` aborts.
   */
  submit(value: T, options?: SubmitOptions): Promise<number> {
    if (this.closed) return Promise.reject(new ClusterStoppedError('submit'));
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    let payload: Payload;
    try {
      payload = this.link.encode(value);
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise<number>((resolve, reject) => {
      const settler: Settler = { resolve: (_, position) => resolve(position), reject };
      this.enqueue({ payload, settler: signal ? abortable(settler, signal) : settler, index: 0 });
    });
  }

  /**
   * Order every value of `values`, in this order of submission, with one promise for all: it
   * resolves with their positions (in the order given) once every one is decided. For bulk
   * writers: no promise per value. Values wait for room under `maxOutstanding` as `submit`'s do.
   * Rejects at the first failure with what `submit` would reject with (a value that does not
   * encode rejects before any is sent); values already sent may still be decided — look for them
   * in `learned()` — since a proposal cannot be taken back.
   */
  submitMany(values: readonly T[], options?: SubmitOptions): Promise<number[]> {
    if (this.closed) return Promise.reject(new ClusterStoppedError('submit'));
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    const payloads = new Array<Payload>(values.length);
    try {
      for (let i = 0; i < values.length; i++) payloads[i] = this.link.encode(values[i]!);
    } catch (e) {
      return Promise.reject(e);
    }
    if (payloads.length === 0) return Promise.resolve([]);
    return new Promise<number[]>((resolve, reject) => {
      const range = new RangeSettler(payloads.length, resolve, reject);
      const settler = signal ? abortable(range, signal, payloads.length) : range;
      for (let i = 0; i < payloads.length; i++) this.enqueue({ payload: payloads[i]!, settler, index: i });
    });
  }

  /**
   * A read barrier (read index): resolves with a position P such that every value decided before
   * this call sits below P. Once a learner has delivered P values (positions 0 to P - 1), what it
   * applied reflects every write that completed before the call: read your state then, and the
   * read is linearizable. No log entry is written; the leader confirms with a phase-2 quorum of
   * acceptors that nobody has taken over, so no clock is trusted (no lease). Does not count
   * against `maxOutstanding`. Rejects as `submit` does (stopped, killed, worker exit, signal).
   */
  barrier(options?: SubmitOptions): Promise<number> {
    if (this.closed) return Promise.reject(new ClusterStoppedError('barrier'));
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    if (!this.link.submitPort()) return Promise.reject(new MemberStateError('clients', this.id, 'is not running'));
    return new Promise<number>((resolve, reject) => {
      const settler: Settler = { resolve: (_, position) => resolve(position), reject };
      const id = this.nextId++;
      this.pending.set(id, { payload: '', settler: signal ? abortable(settler, signal) : settler, index: 0 });
      if (this.pending.size === 1) this.link.busy(true);
      this.outBarriers.push(id);
      this.scheduleFlush();
    });
  }

  private enqueue(entry: Waiting): void {
    if (this.pending.size < this.maxOutstanding && this.waiting.length === 0) this.send(entry);
    else this.waiting.push(entry);
  }

  /** Values sent to the client worker whose position is not known yet. */
  get outstanding(): number {
    return this.pending.size;
  }

  /** Values waiting for room under `maxOutstanding`. */
  get queued(): number {
    return this.waiting.length;
  }

  /** @hidden The client worker answered: settle the values it decided or refused. */
  onReply(reply: SubmitReply): void {
    const done = reply.done;
    for (let k = 0; done && k + 1 < done.length; k += 2) {
      const position = done[k + 1]!;
      const p = this.take(done[k]!);
      if (position === SESSION_EXPIRED) p?.settler.reject(new SessionExpiredError());
      else p?.settler.resolve(p.index, position);
    }
    for (const [id, code, message, size, limit] of reply.failed ?? []) {
      this.take(id)?.settler.reject(code === 'ERR_PAXOS_VALUE_TOO_LARGE' ? new ValueTooLargeError(size!, limit!) : new ClusterError(code, message));
    }
    this.admit();
  }

  /** @hidden The cluster stopped: every value waiting for room or in flight rejects, and so does every later `submit`. */
  failAll(error: Error): void {
    this.closed = true;
    for (const w of this.waiting.drain()) w.settler.reject(error);
    this.failInFlight(error);
  }

  /** @hidden The client worker exited: its values in flight may or may not be decided. */
  onWorkerExit(): void {
    this.failInFlight(this.closed ? new ClusterStoppedError('submit') : new WorkerExitedError('clients', this.id));
  }

  /** @hidden Every value in flight fails (the worker exited, or the cluster stopped). */
  failInFlight(error: Error): void {
    this.outIds = [];
    this.outValues = [];
    this.outBarriers = [];
    this.failIds([...this.pending.keys()], error);
  }

  private send(entry: Waiting): void {
    if (!this.link.submitPort()) {
      entry.settler.reject(new MemberStateError('clients', this.id, 'is not running'));
      return;
    }
    const id = this.nextId++;
    this.pending.set(id, entry);
    if (this.pending.size === 1) this.link.busy(true);
    this.outIds.push(id);
    this.outValues.push(entry.payload);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  /** Values settled: let waiting ones take their places, in order. */
  private admit(): void {
    while (this.waiting.length && this.pending.size < this.maxOutstanding) {
      const next = this.waiting.shift()!;
      if (!next.settler.aborted) this.send(next);
    }
  }

  /** Everything submitted this turn goes to the worker as one request. */
  private flush(): void {
    this.flushScheduled = false;
    const barriers = this.outBarriers;
    const request: SubmitRequest = { ids: this.outIds, values: this.outValues, ...(barriers.length ? { barriers } : {}) };
    this.outIds = [];
    this.outValues = [];
    this.outBarriers = [];
    if (!request.ids.length && !barriers.length) return;
    const port = this.link.submitPort();
    if (!port) {
      this.failIds([...request.ids, ...barriers], new WorkerExitedError('clients', this.id));
      return;
    }
    port.postMessage(request);
  }

  private failIds(ids: readonly number[], error: Error): void {
    for (const id of ids) this.take(id)?.settler.reject(error);
    this.admit();
  }

  /** Value `id` leaves the pending ones; undefined if it was settled already. */
  private take(id: number): Waiting | undefined {
    const p = this.pending.get(id);
    if (p && this.pending.delete(id) && this.pending.size === 0) this.link.busy(false);
    return p;
  }
}

/** A settler that rejects with the signal's reason when it aborts (only calls given a signal pay for the listener). */
function abortable(inner: Settler, signal: AbortSignal, count = 1): Settler {
  const onAbort = (): void => {
    settler.aborted = true;
    inner.reject(signal.reason as Error);
  };
  // The listener goes once every value is settled (or the first failure).
  let remaining = count;
  const settler: Settler = {
    resolve: (index, position) => {
      inner.resolve(index, position);
      if (--remaining <= 0) signal.removeEventListener('abort', onAbort);
    },
    reject: (e) => { signal.removeEventListener('abort', onAbort); inner.reject(e); },
  };
  signal.addEventListener('abort', onAbort, { once: true });
  return settler;
}
