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
}

export class NodeRunner {
  private timer: NodeJS.Timeout | undefined;
  private flushScheduled = false;
  private stopped = false;
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
    if (out.length) this.transport.send(out);
  }
}
