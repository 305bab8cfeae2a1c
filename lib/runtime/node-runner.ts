/**
 * Wires one protocol node to a transport and a real clock: messages in, ticks on a timer,
 * everything the node produced during one event-loop turn flushed together (so the transport can
 * coalesce it). The same runner serves worker threads and CLI processes.
 */
import { performance } from 'node:perf_hooks';
import type { Message, Outgoing } from '../protocol/messages.js';
import type { ProtocolNode } from '../protocol/node.js';
import type { Endpoint, Transport } from '../transport/transport.js';

export interface NodeRunnerOptions {
  /** How often the node's clock ticks. Default 5 ms. */
  tickMs?: number;
  /** Monotonic ms clock. Default `performance.now`. */
  now?: () => number;
  /** Called after every handled message or tick, e.g. to drain deliveries. */
  afterStep?: () => void;
  /**
   * Durable nodes: persist what the node wrote since the last call and resolve once it is on
   * stable storage. Messages produced in a turn are sent only after that turn's persist (and
   * every earlier one) resolved, so no answer ever promises more than the disk remembers.
   * Called once per flushed turn; one call covering many steps is the group commit.
   */
  persist?: () => Promise<void>;
  /** Called if `persist` fails: the node must stop answering (its storage is unusable). */
  onPersistError?: (err: unknown) => void;
}

export class NodeRunner {
  private timer: NodeJS.Timeout | undefined;
  private flushScheduled = false;
  private stopped = false;
  /** Answers waiting for their writes to become durable, in order. */
  private sends: Promise<void> = Promise.resolve();
  private persistFailed = false;
  private readonly now: () => number;

  constructor(readonly node: ProtocolNode, readonly transport: Transport, private readonly options: NodeRunnerOptions = {}) {
    this.now = options.now ?? (() => performance.now());
  }

  async start(): Promise<void> {
    const self: Endpoint = { group: this.node.group, id: this.node.id };
    await this.transport.start(self, (m) => this.receive(m));
    this.timer = setInterval(() => this.tick(), this.options.tickMs ?? 5);
    this.tick();
  }

  /** Run `action` against the node (e.g. a client submit) and flush what it produced. */
  act<T>(action: (node: ProtocolNode, now: number) => T): T {
    const result = action(this.node, this.now());
    this.afterStep();
    return result;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    this.flush();
    await this.sends;
    await this.transport.close();
  }

  private receive(message: Message): void {
    if (this.stopped) return;
    this.node.handle(message, this.now());
    this.afterStep();
  }

  private tick(): void {
    if (this.stopped) return;
    this.node.tick(this.now());
    this.afterStep();
  }

  private afterStep(): void {
    this.options.afterStep?.();
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    const out: Outgoing[] = this.node.takeOutgoing();
    if (!this.options.persist) {
      if (out.length) this.transport.send(out);
      return;
    }
    if (this.persistFailed) return;
    const durable = this.options.persist();
    this.sends = this.sends.then(async () => {
      await durable;
      if (out.length && !this.persistFailed) this.transport.send(out);
    }).catch((err: unknown) => {
      if (this.persistFailed) return;
      // The disk no longer remembers what we would answer: never answer again.
      this.persistFailed = true;
      this.stopped = true;
      clearInterval(this.timer);
      this.options.onPersistError?.(err);
    });
  }

  /** Resolves when every answer released so far has been handed to the transport. */
  async drained(): Promise<void> {
    await this.sends;
  }
}
