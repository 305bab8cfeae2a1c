/**
 * `Cluster.learned()` iterators: an async iterator over one learner's delivered values, fed
 * through a private MessagePort with credit-based flow control (the learner worker sends at most
 * `credit` values ahead of what the application consumed), surviving restarts of the learner.
 */
import { Fifo } from '../protocol/fifo.js';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { type Remote, transfer } from 'comlink';
import type { ValueCodec } from './codec.js';
import type { Payload } from '../protocol/messages.js';
import { STREAM_FIELDS, type StreamReply, type WorkerControl } from './worker-protocol.js';
import { InvalidArgumentError, TrimmedError } from './errors.js';

/** One value in the total order, as a learner delivered it. */
export interface LearnedValue<T> {
  /** 0-based index in the total order; the same value has the same position at every learner. */
  readonly position: number;
  /** The value, decoded with the cluster's codec. */
  readonly value: T;
  /** The consensus instance that decided it (several values share an instance). */
  readonly instance: number;
  /** Key of the client incarnation that submitted it. */
  readonly client: number;
  /** The client's sequence number for it. */
  readonly seq: number;
}

/** Options of `Cluster.learned()`. */
export interface LearnedOptions {
  /** Which learner to read. Default 0. */
  learner?: number;
  /** First position to yield; 0 replays from the first value. Default 0. */
  from?: number;
  /** Values the learner may send ahead of consumption. Default 4096. */
  highWaterMark?: number;
  /** Ends the iteration at once: the pending (or next) `next()` rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** Received values not read yet: one stream reply's values [next, end). */
interface Chunk {
  readonly numbers: Float64Array;
  readonly values: readonly Payload[];
  next: number;
  readonly end: number;
}

/** @internal */
export class LearnedStream<T> implements AsyncIterableIterator<LearnedValue<T>> {
  private readonly buffer = new Fifo<Chunk>();
  /** Values held in `buffer`. */
  private buffered = 0;
  private nextPosition: number;
  private port: MessagePort | undefined;
  /** Credit granted on the current port and not yet used. */
  private outstanding = 0;
  /** A `next()` waiting for values: woken once some are buffered or the stream ended, rejected on failure. */
  private waiter: { wake: () => void; reject: (e: unknown) => void } | undefined;
  private finished = false;
  /** Raised once the buffered values before it have been read (trimmed values). */
  private failure: Error | undefined;

  constructor(
    readonly learner: number,
    from: number,
    private readonly codec: ValueCodec<T>,
    private readonly highWaterMark: number,
    private readonly onEnd: (stream: LearnedStream<T>) => void,
  ) {
    this.nextPosition = from;
  }

  /** Subscribe to a (new) learner worker from the next position this iterator still needs. */
  attach(control: Remote<WorkerControl>): void {
    if (this.finished || this.failure) return;
    this.detach();
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    port1.on('message', (reply: StreamReply) => this.receive(port1, reply));
    control.subscribe(transfer(port2, [port2]) as unknown as MessagePort, this.nextPosition + this.buffered).catch(() => {
      // The learner exited while subscribing; the cluster re-attaches when it restarts.
    });
    this.grant();
  }

  /** The learner is gone; keep buffered values and wait for `attach`. */
  detach(): void {
    this.port?.close();
    this.port = undefined;
    this.outstanding = 0;
  }

  /** The caller's signal aborted: drop what is buffered; the pending (or next) `next()` rejects with `reason`. */
  abort(reason: Error): void {
    if (this.finished) return;
    this.dropBuffered();
    this.failure = reason;
    this.detach();
    const w = this.waiter;
    this.waiter = undefined;
    if (w) w.reject(this.takeFailure());
  }

  /** End the iteration (stop, break, return). */
  end(): void {
    if (this.finished) return;
    this.finished = true;
    this.detach();
    this.dropBuffered();
    const w = this.waiter;
    this.waiter = undefined;
    w?.wake();
    this.onEnd(this);
  }

  next(): Promise<IteratorResult<LearnedValue<T>>> {
    return this.when(() => this.take());
  }

  /** `learnedBatches()`: everything buffered (at most `max`), as one array. */
  nextBatch(max: number): Promise<IteratorResult<LearnedValue<T>[]>> {
    return this.when(() => {
      const n = Math.min(max, this.buffered);
      const batch = new Array<LearnedValue<T>>(n);
      for (let i = 0; i < n; i++) batch[i] = this.take();
      return batch;
    });
  }

  /** `take` once values are buffered; done once the stream ended; the failure once everything before it was read. */
  private when<R>(take: () => R): Promise<IteratorResult<R>> {
    if (this.buffered) {
      try {
        return Promise.resolve({ done: false, value: take() });
      } catch (e) {
        return Promise.reject(e);
      }
    }
    if (this.failure) return Promise.reject(this.takeFailure());
    if (this.finished) return Promise.resolve({ done: true, value: undefined });
    if (this.waiter) return Promise.reject(new Error('learned(): next() called again before the previous call settled'));
    return new Promise<void>((wake, reject) => { this.waiter = { wake, reject }; }).then(() => this.when(take));
  }

  return(): Promise<IteratorResult<LearnedValue<T>>> {
    this.end();
    return Promise.resolve({ done: true, value: undefined });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private dropBuffered(): void {
    this.buffer.drain();
    this.buffered = 0;
  }

  private take(): LearnedValue<T> {
    const chunk = this.buffer.peek()!;
    const k = chunk.next++;
    if (chunk.next === chunk.end) this.buffer.shift();
    this.buffered--;
    const o = k * STREAM_FIELDS;
    const { numbers } = chunk;
    const position = numbers[o]!;
    this.nextPosition = position + 1;
    this.grant();
    return { position, value: this.codec.decode(chunk.values[k]!), instance: numbers[o + 1]!, client: numbers[o + 2]!, seq: numbers[o + 3]! };
  }

  /** Top the credit up once it fell below half of the high-water mark. */
  private grant(): void {
    if (!this.port) return;
    const room = this.highWaterMark - this.outstanding - this.buffered;
    if (room * 2 < this.highWaterMark) return;
    this.outstanding += room;
    this.port.postMessage({ credit: room });
  }

  /** The error, once: afterwards the iterator is simply done. */
  private takeFailure(): Error {
    const failure = this.failure!;
    this.failure = undefined;
    this.end();
    return failure;
  }

  private receive(port: MessagePort, reply: StreamReply): void {
    if (this.finished || port !== this.port) return;
    const { numbers, values } = reply;
    this.outstanding -= values.length;
    // After a restart the new learner resends from where we asked; drop anything already held.
    let expected = this.nextPosition + this.buffered;
    if (reply.trimmedBelow !== undefined) this.failure = new TrimmedError(expected, reply.trimmedBelow);
    let start = -1;
    let end = values.length;
    for (let k = 0; k < values.length; k++) {
      const position = numbers[k * STREAM_FIELDS]!;
      if (position < expected) continue;
      if (position > expected) {
        // A learner restarted after a trim continued from the trim point: never a silent gap.
        this.failure = new TrimmedError(expected, position);
        end = k;
        break;
      }
      if (start < 0) start = k;
      expected = position + 1;
    }
    if (start >= 0 && start < end) {
      this.buffer.push({ numbers, values, next: start, end });
      this.buffered += end - start;
    }
    if (this.failure) this.detach();
    if (this.waiter && this.buffered === 0 && this.failure) {
      const w = this.waiter;
      this.waiter = undefined;
      w.reject(this.takeFailure());
      return;
    }
    if (this.waiter && this.buffered) {
      const w = this.waiter;
      this.waiter = undefined;
      w.wake();
    }
  }
}

/** `learnedBatches()`: the same stream, each step yielding every value that arrived (at most `maxBatch`). */
export class LearnedBatches<T> implements AsyncIterableIterator<LearnedValue<T>[]> {
  constructor(private readonly stream: LearnedStream<T>, private readonly maxBatch: number) {}

  next(): Promise<IteratorResult<LearnedValue<T>[]>> {
    return this.stream.nextBatch(this.maxBatch);
  }

  return(): Promise<IteratorResult<LearnedValue<T>[]>> {
    this.stream.end();
    return Promise.resolve({ done: true, value: undefined });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

/** @internal A cluster's open `learned()` iterators: attached to their learner while it runs. */
export class LearnedStreams<T> {
  private readonly open = new Set<LearnedStream<T>>();

  constructor(private readonly codec: ValueCodec<T>) {}

  /** A new iterator on `learner`, attached at once if the learner runs (`control`). */
  add(learner: number, options: LearnedOptions, control: Remote<WorkerControl> | undefined): LearnedStream<T> {
    const from = options.from ?? 0;
    if (!Number.isSafeInteger(from) || from < 0) throw new InvalidArgumentError(`from must be a non-negative integer, got ${String(from)}`);
    const hwm = options.highWaterMark ?? 4096;
    if (!Number.isSafeInteger(hwm) || hwm < 1) throw new InvalidArgumentError(`highWaterMark must be a positive integer, got ${String(hwm)}`);
    const signal = options.signal;
    const onAbort = (): void => stream.abort(signal!.reason as Error);
    const stream = new LearnedStream<T>(learner, from, this.codec, hwm, (s) => {
      this.open.delete(s);
      signal?.removeEventListener('abort', onAbort);
    });
    this.open.add(stream);
    if (signal?.aborted) {
      stream.abort(signal.reason as Error);
      return stream;
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    if (control) stream.attach(control);
    return stream;
  }

  /** The learner (re)started: its iterators subscribe from where each one is. */
  attach(learner: number, control: Remote<WorkerControl>): void {
    for (const s of this.open) if (s.learner === learner) s.attach(control);
  }

  /** The learner exited: its iterators keep what they hold and wait for it to restart. */
  detach(learner: number): void {
    for (const s of this.open) if (s.learner === learner) s.detach();
  }

  /** The cluster stops: every iterator ends. */
  endAll(): void {
    for (const s of [...this.open]) s.end();
  }
}
