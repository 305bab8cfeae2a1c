/**
 * The one host of role state machines, for every runtime: worker threads, CLI processes and the
 * simulator. It feeds each hosted role the messages addressed to it and the clock's ticks, takes
 * each role's `Ready`, persists its writes, sends its messages only once those writes (and every
 * earlier one) are durable, and hands the Ready to whoever listens (deliveries, completions,
 * leadership). It never looks at what role it holds.
 *
 * Two ways to drive it:
 * - live (`tickMs` set, as workers and processes do): `start()` ticks on a timer and the host
 *   flushes once per event-loop turn, so a transport can coalesce a turn's messages;
 * - by hand (the simulator): `deliver`, `tick` and `act` flush at once, and virtual time comes
 *   from `now`.
 */
import type { AcceptorRecord } from '../protocol/acceptor-state.js';
import type { Message } from '../protocol/messages.js';
import type { Ready, Role } from '../protocol/role.js';
import { EMPTY_READY } from '../protocol/role.js';
import type { Endpoint, Transport } from '../transport/transport.js';

/**
 * Durable state of one role (acceptors). `persist` is called with every Ready of its role, in
 * order, writes or not; it calls `released` once these writes and every earlier one are durable,
 * in the same order, and never after the storage failed.
 */
export interface HostStorage {
  persist(writes: readonly AcceptorRecord[], released: () => void): void;
  /** Resolves once everything persisted so far was released (or failed). */
  drained?(): Promise<void>;
}

/** A role and, when its state must survive crashes, the storage its writes go to. */
export interface Hosted {
  readonly role: Role;
  readonly storage?: HostStorage;
}

export interface RoleHostOptions {
  /** Monotonic ms clock (virtual in the simulator). */
  readonly now: () => number;
  /** Live hosts: tick every `tickMs` from `start()` and flush once per turn. Omit to drive by hand. */
  readonly tickMs?: number;
  /** Each role's Ready, once its messages were sent or queued behind their writes. */
  readonly onReady?: (role: Role, ready: Ready) => void;
}

const endpointOf = (role: Role): Endpoint => ({ group: role.group, id: role.id });

export class RoleHost {
  private readonly hosted: readonly Hosted[];
  private readonly endpoints: readonly Endpoint[];
  private timer: NodeJS.Timeout | undefined;
  private flushScheduled = false;
  /** No more input: stopping or halted. */
  private stopped = false;
  /** Nothing more leaves: the storage failed. */
  private silenced = false;
  private stopping: Promise<void> | undefined;

  constructor(hosted: readonly (Hosted | Role)[], readonly transport: Transport, private readonly options: RoleHostOptions) {
    this.hosted = hosted.map((h) => ('role' in h ? h : { role: h }));
    this.endpoints = this.hosted.map((h) => endpointOf(h.role));
    const keys = new Set(this.endpoints.map((e) => `${e.group}/${e.id}`));
    if (keys.size !== this.endpoints.length) throw new Error('RoleHost: a role instance is hosted twice');
  }

  /** The hosted roles, in the order given. */
  get roles(): readonly Role[] {
    return this.hosted.map((h) => h.role);
  }

  /** Start receiving, and (live hosts) ticking. */
  async start(): Promise<void> {
    await this.transport.start(this.endpoints, (message, to) => this.deliver(message, to));
    if (this.options.tickMs !== undefined) {
      this.timer = setInterval(() => this.tick(), this.options.tickMs);
      this.tick();
    }
  }

  /** A message for the hosted member `to`. */
  deliver(message: Message, to: Endpoint): void {
    if (this.stopped) return;
    const h = this.find(to);
    if (!h) return;
    h.role.handle(message, this.options.now());
    this.stepped();
  }

  /** Let time pass for every hosted role. */
  tick(): void {
    if (this.stopped) return;
    const now = this.options.now();
    for (const h of this.hosted) h.role.tick(now);
    this.stepped();
  }

  /** Run `action` against a hosted role (a client's submit, say) and flush what it produced. */
  act<R extends Role, T>(role: R, action: (role: R, now: number) => T): T {
    const result = action(role, this.options.now());
    this.stepped();
    return result;
  }

  /** Take every role's Ready now: persist, send (once durable), hand over. */
  flush(): void {
    this.flushScheduled = false;
    for (let k = 0; k < this.hosted.length; k++) {
      const h = this.hosted[k]!;
      const ready = h.role.takeReady();
      if (ready === EMPTY_READY) continue;
      const from = this.endpoints[k]!;
      if (h.storage) {
        const { messages } = ready;
        h.storage.persist(ready.writes, () => {
          if (messages.length && !this.silenced) this.transport.send(from, messages);
        });
      } else if (ready.messages.length) {
        this.transport.send(from, ready.messages);
      }
      this.options.onReady?.(h.role, ready);
    }
  }

  /**
   * Stop ticking and receiving. What the roles produced so far is flushed (unless halted),
   * answers waiting for their writes leave once durable, then the transport closes. Idempotent.
   */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      if (!this.stopped) this.flush();
      this.stopped = true;
      clearInterval(this.timer);
      for (const h of this.hosted) await h.storage?.drained?.();
      await this.transport.close();
    })();
    return this.stopping;
  }

  /** Stop at once and send nothing more: a storage failed, so the disk no longer backs answers. */
  halt(): void {
    this.stopped = true;
    this.silenced = true;
    clearInterval(this.timer);
  }

  private find(to: Endpoint): Hosted | undefined {
    for (const h of this.hosted) if (h.role.group === to.group && h.role.id === to.id) return h;
    return undefined;
  }

  private stepped(): void {
    if (this.options.tickMs === undefined) {
      this.flush();
      return;
    }
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => { if (!this.stopped) this.flush(); });
    }
  }
}

/**
 * A `HostStorage` over a promise-returning append (a store's group commit): answers leave in
 * order, each once its own and every earlier write is durable. On failure `onError` is called
 * once and nothing is released again.
 */
export function orderedStorage(
  persist: (writes: readonly AcceptorRecord[]) => Promise<void>, onError: (err: unknown) => void,
): Required<HostStorage> {
  let chain: Promise<void> = Promise.resolve();
  let failed = false;
  return {
    persist(writes, released) {
      if (failed) return;
      let durable: Promise<void>;
      try {
        durable = persist(writes);
      } catch (e) {
        durable = Promise.reject(e);
      }
      chain = chain.then(async () => {
        await durable;
        if (!failed) released();
      }).catch((err: unknown) => {
        if (failed) return;
        failed = true;
        onError(err);
      });
    },
    drained: () => chain,
  };
}
