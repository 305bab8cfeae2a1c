/**
 * The in-process bus: the `Transport` that connects the worker threads of a `Cluster`.
 *
 * Data runs worker to worker over `BroadcastChannel`s, never through the main thread. One channel
 * per (destination, sender): `<ns>|<group>|<-|<senderGroup>/<senderId>` for a whole group and
 * `<ns>|<group>/<member>|<-|<senderGroup>/<senderId>` for one member. Every member opens, for each
 * possible sender, the channel of its group and the one of itself; a sender opens only the
 * channels it posts on. Because nobody else posts on a sender's channels, no worker ever receives
 * (and deserializes) traffic that is not addressed to it, and the receiver knows the sender from
 * the channel, which is what fault injection needs. A message to one's own group or self is looped
 * back locally, never posted.
 *
 * Frames are arrays of protocol messages, structured-cloned by Node once per channel post and
 * deserialized once per receiver; the frequent and large ones travel packed into typed arrays
 * (see `bus-frames.ts`). Why structured clone and not encoded buffers:
 * `benchmarks/bus-encoding.ts` and `docs/cluster.md`.
 */
import { parseWithBytes, stringifyWithBytes } from './json-bytes.js';
import { BroadcastChannel } from 'node:worker_threads';
import type { Group, Message, Outgoing } from '../protocol/messages.js';
import { type FrameItem, FramePacker, unpackFrame } from './bus-frames.js';
import { GROUPS } from '../protocol/messages.js';
import { type Endpoint, type Transport, addresses } from './transport.js';
import { type BusMember, type FaultSettings, FaultInjector, resolveFaults } from './bus-faults.js';

export type { BusMember, FaultSettings } from './bus-faults.js';

/** How many members each group has: every receiver listens to every possible sender. */
export interface BusTopology {
  readonly clients: number;
  readonly proposers: number;
  readonly acceptors: number;
  readonly learners: number;
}

/** Serializable settings of one bus endpoint (all members of one cluster share `namespace`). */
export interface BusSettings {
  /** Unique per cluster, so two clusters in one process never hear each other. */
  readonly namespace: string;
  readonly topology: BusTopology;
  /** Initial faults. Default none. */
  readonly faults?: FaultSettings;
  /**
   * How frames cross threads. `clone` (default): arrays of messages, structured-cloned by Node.
   * `json`: each message encoded to JSON text once (and reused for every destination it goes to),
   * frames posted as strings; `Uint8Array` values travel as base64. Kept for measurement: see
   * `benchmarks/cluster-throughput.ts` and docs/cluster.md.
   */
  readonly encoding?: BusEncoding;
}

export type BusEncoding = 'clone' | 'json';

/** A transport whose network faults can be changed at run time. */
export interface FaultControllable {
  setFaults(settings: FaultSettings): void;
}

function channelName(ns: string, to: Group, member: number | undefined, from: BusMember): string {
  return `${ns}|${to}${member === undefined ? '' : `/${member}`}|<-|${from.group}/${from.id}`;
}

/** A message looped back to a member hosted by the same transport. */
interface Looped {
  readonly from: Endpoint;
  readonly to: Endpoint;
  readonly message: Message;
}

const sameMember = (a: Endpoint, b: Endpoint): boolean => a.group === b.group && a.id === b.id;

export class BusTransport implements Transport, FaultControllable {
  private members: readonly Endpoint[] = [];
  /** One fault injector per hosted member: faults apply per receiving member, as in the simulator. */
  private injectors: FaultInjector<Message>[] = [];
  private readonly receiving: BroadcastChannel[] = [];
  private readonly sending = new Map<string, BroadcastChannel>();
  private loopback: Looped[] = [];
  private readonly json: boolean;
  /** JSON mode: each message's text, encoded once however many destinations it goes to. */
  private encoded = new WeakMap<Message, string>();
  private loopbackScheduled = false;
  private started = false;
  private closed = false;
  private readonly counters = { framesSent: 0, messagesSent: 0, framesReceived: 0, messagesReceived: 0 };

  constructor(private readonly settings: BusSettings) {
    resolveFaults(settings.faults);
    if (settings.encoding !== undefined && settings.encoding !== 'clone' && settings.encoding !== 'json') {
      throw new TypeError(`bus encoding must be 'clone' or 'json', got ${String(settings.encoding)}`);
    }
    this.json = settings.encoding === 'json';
  }

  start(members: readonly Endpoint[], deliver: (message: Message, to: Endpoint) => void): void {
    if (this.started) throw new Error('BusTransport.start called twice');
    this.started = true;
    this.members = members.map((m) => ({ group: m.group, id: m.id }));
    const faults = resolveFaults(this.settings.faults);
    this.injectors = this.members.map((member) => {
      const injector = new FaultInjector<Message>(member, (m) => { if (!this.closed) deliver(m, member); });
      injector.set(faults);
      return injector;
    });
    const { namespace: ns, topology } = this.settings;
    this.members.forEach((member, k) => {
      for (const group of GROUPS) {
        for (let id = 0; id < topology[group]; id++) {
          const from: BusMember = { group, id };
          // Hosted senders reach hosted receivers by loopback, never through a channel.
          if (this.isHosted(from)) continue;
          for (const address of [undefined, member.id]) {
            const channel = new BroadcastChannel(channelName(ns, member.group, address, from));
            channel.onmessage = (event) => this.receive(k, from, this.decode((event as MessageEvent).data as FrameItem[] | string));
            this.receiving.push(channel);
          }
        }
      }
    });
  }

  send(from: Endpoint, messages: readonly Outgoing[]): void {
    if (this.closed || !this.started) return;
    const frames = new Map<string, Message[]>();
    for (const { to, message } of messages) {
      let hostedOnly = false;
      for (const member of this.members) {
        if (!addresses(to, member)) continue;
        this.loop({ from, to: member, message });
        if (to.member !== undefined) hostedOnly = true;
      }
      if (hostedOnly) continue;
      const name = channelName(this.settings.namespace, to.group, to.member, from);
      let frame = frames.get(name);
      if (!frame) frames.set(name, (frame = []));
      frame.push(message);
    }
    // A message that goes to several channels (a 2a: acceptors, learners, proposers) is packed once.
    const packer = new FramePacker();
    for (const [name, frame] of frames) {
      let channel = this.sending.get(name);
      if (!channel) {
        channel = new BroadcastChannel(name);
        this.sending.set(name, channel);
      }
      channel.postMessage(this.json ? this.encode(frame) : packer.pack(frame));
      this.counters.framesSent++;
      this.counters.messagesSent += frame.length;
    }
  }

  setFaults(settings: FaultSettings): void {
    const resolved = resolveFaults(settings);
    for (const injector of this.injectors) injector.set(resolved);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const injector of this.injectors) injector.close();
    for (const c of this.receiving) c.close();
    for (const c of this.sending.values()) c.close();
    this.receiving.length = 0;
    this.sending.clear();
    this.loopback = [];
  }

  get metrics(): Readonly<Record<string, number>> {
    const faults = { lost: 0, duplicated: 0, delayed: 0, partitioned: 0 };
    for (const injector of this.injectors) {
      for (const k of Object.keys(faults) as (keyof typeof faults)[]) faults[k] += injector.counters[k];
    }
    return { ...this.counters, ...(this.injectors.length ? faults : {}) };
  }

  private isHosted(member: BusMember): boolean {
    return this.members.some((m) => sameMember(m, member));
  }

  private encode(frame: readonly Message[]): string {
    const parts: string[] = [];
    for (const m of frame) {
      let text = this.encoded.get(m);
      if (text === undefined) {
        text = stringifyWithBytes(m);
        this.encoded.set(m, text);
      }
      parts.push(text);
    }
    return `[${parts.join(',')}]`;
  }

  private decode(data: FrameItem[] | string): Message[] {
    if (typeof data !== 'string') return unpackFrame(data);
    return parseWithBytes(data) as Message[];
  }

  private receive(member: number, from: BusMember, frame: Message[]): void {
    if (this.closed) return;
    this.counters.framesReceived++;
    this.counters.messagesReceived += frame.length;
    this.injectors[member]!.receive(from, frame);
  }

  /** Messages between hosted members go round the event loop, like any other, so handlers never re-enter. */
  private loop(looped: Looped): void {
    this.loopback.push(looped);
    if (this.loopbackScheduled) return;
    this.loopbackScheduled = true;
    setImmediate(() => {
      this.loopbackScheduled = false;
      const batch = this.loopback;
      this.loopback = [];
      for (const { from, to, message } of batch) {
        if (this.closed) return;
        this.injectors[this.members.findIndex((m) => sameMember(m, to))]!.receive(from, [message]);
      }
    });
  }
}

/** Build a bus endpoint from complete settings (what `Cluster` does by default). */
export function createBusTransport(settings: BusSettings): BusTransport {
  return new BusTransport(settings);
}

/**
 * The bus as a `TransportFactory`, to choose its encoding through `Cluster.start({ transport })`:
 * `{ module: <URL of this module>, export: 'busTransportFactory', settings: { encoding: 'json' } }`.
 */
export function busTransportFactory(
  settings: { encoding?: BusEncoding } | undefined,
  context: { clusterId: string; topology: BusTopology; faults?: FaultSettings },
): BusTransport {
  return new BusTransport({ namespace: context.clusterId, topology: context.topology, faults: context.faults, encoding: settings?.encoding });
}
