/**
 * UDP multicast transport: one IP multicast group per role, so a message to a group is one
 * datagram however many members the group has, and a member addressed alone (`{group, member}`)
 * gets the datagram of its group and keeps it only if the frame names it.
 *
 * Everything a `RoleHost` flushes in one event-loop turn is coalesced per destination into as
 * few datagrams as fit (see `encodeFrames`). With a shared secret every datagram carries an
 * HMAC-SHA256 and unsigned or tampered datagrams are dropped and counted. Nothing that arrives
 * can crash the process: undecodable, unauthenticated, misaddressed or wrong-role datagrams are
 * dropped and counted in `metrics`.
 *
 * Settings are plain data so that a worker thread can build the transport from them
 * (`createUdpMulticastTransport`).
 */
import { createSocket, type Socket } from 'node:dgram';
import { isIPv4 } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { Destination, Group, Message, Outgoing } from '../protocol/messages.js';
import { GROUPS } from '../protocol/messages.js';
import { ConfigurationError, type ResolvedOptions } from '../protocol/options.js';
import {
  ACCEPT_OVERHEAD_BYTES, EncodeError, type EncodedFrames, HMAC_BYTES, MAX_DATAGRAM_BYTES, MAX_FRAME_HEADER_BYTES,
  encodeFrames, keyFromSecret,
} from './codec.js';
import type { Endpoint, Transport } from './transport.js';
import { type TransportMetrics, createReceiver, emptyTransportMetrics } from './datagram-receiver.js';

export const DEFAULT_COALESCE_BYTES = 16 * 1024;

/** A role's multicast group. */
export interface GroupAddress {
  /** IPv4 multicast address (224.0.0.0/4). */
  readonly address: string;
  readonly port: number;
}

/** Everything the transport needs, as plain serializable data. */
export interface UdpMulticastSettings {
  /** The multicast group of every role. */
  readonly groups: Readonly<Record<Group, GroupAddress>>;
  /** Shared secret: sign every datagram with HMAC-SHA256 and drop any that is unsigned or tampered. */
  readonly secret?: string;
  /** Local interface for multicast: an IPv4 address or an interface name. Default: the routing table decides. */
  readonly interface?: string;
  /** Multicast TTL (hops). Default 1: the local link only. */
  readonly ttl?: number;
  /** Deliver our own multicast datagrams to sockets on this host (needed when several roles share a host). Default true. */
  readonly loopback?: boolean;
  /** Receive buffer requested per socket; the kernel caps it at net.core.rmem_max. Default 8 MiB. */
  readonly recvBufferSize?: number;
  /** Send buffer requested per socket; the kernel caps it at net.core.wmem_max. Default 4 MiB. */
  readonly sendBufferSize?: number;
  /** Largest datagram sent, HMAC included. Default 65,507 (the UDP/IPv4 maximum). */
  readonly maxDatagramBytes?: number;
  /**
   * Coalesce messages into one datagram only up to this many bytes (a single larger message
   * still goes alone, up to `maxDatagramBytes`): one lost datagram then loses fewer messages,
   * and on a 1500-byte MTU fewer IP fragments. Default 16 KiB.
   */
  readonly coalesceBytes?: number;
  /**
   * Send every datagram to these groups this many times (default 1 each). Cheap insurance for a
   * group that receives only small messages whose loss is expensive, e.g. `{ clients: 2 }`: a
   * client's only recovery from a lost acknowledgement is its resend timer.
   */
  readonly repeat?: Readonly<Partial<Record<Group, number>>>;
}

/** Non-serializable extras: where diagnostics go. */
export interface UdpMulticastHooks {
  /** Debug lines (drops, socket sizes). */
  readonly log?: (line: string) => void;
  /** Problems worth telling the operator about even without debug (e.g. a message that can never fit). */
  readonly warn?: (line: string) => void;
}

export { type TransportMetrics, createReceiver, emptyTransportMetrics } from './datagram-receiver.js';

/**
 * Bytes a batch may have (by the protocol's `batchSize` estimate) so that every message fits one
 * datagram of `maxDatagramBytes` with an HMAC.
 */
export function maxBatchBytesFor(maxDatagramBytes = MAX_DATAGRAM_BYTES): number {
  return maxDatagramBytes - HMAC_BYTES - MAX_FRAME_HEADER_BYTES - ACCEPT_OVERHEAD_BYTES - 32;
}

/** Throws a `ConfigurationError` when a batch within `batchMaxBytes` might not fit one datagram. */
export function checkBatchFits(options: Pick<ResolvedOptions, 'batchMaxBytes'>, maxDatagramBytes = MAX_DATAGRAM_BYTES): void {
  const limit = maxBatchBytesFor(maxDatagramBytes);
  if (options.batchMaxBytes > limit) {
    throw new ConfigurationError(
      `batchMaxBytes ${options.batchMaxBytes} is too large for ${maxDatagramBytes}-byte datagrams: at most ${limit}`);
  }
}

/** Resolve `--interface`: an IPv4 address as is, or the first IPv4 address of a named interface. */
export function resolveInterface(spec: string | undefined): string | undefined {
  if (spec === undefined || spec === '') return undefined;
  if (isIPv4(spec)) return spec;
  const addresses = networkInterfaces()[spec];
  const v4 = addresses?.find((a) => a.family === 'IPv4');
  if (!v4) throw new ConfigurationError(`interface ${spec}: no such interface with an IPv4 address`);
  return v4.address;
}

export function isMulticastAddress(address: string): boolean {
  if (!isIPv4(address)) return false;
  const first = Number(address.split('.')[0]);
  return first >= 224 && first <= 239;
}

function validateSettings(s: UdpMulticastSettings): void {
  for (const g of GROUPS) {
    const a = s.groups?.[g];
    if (!a) throw new ConfigurationError(`no multicast group configured for ${g}`);
    if (!isMulticastAddress(a.address)) throw new ConfigurationError(`${g}: ${a.address} is not an IPv4 multicast address`);
    if (!Number.isInteger(a.port) || a.port < 1 || a.port > 65535) throw new ConfigurationError(`${g}: bad port ${a.port}`);
  }
  const max = s.maxDatagramBytes ?? MAX_DATAGRAM_BYTES;
  if (!Number.isInteger(max) || max < 512 || max > MAX_DATAGRAM_BYTES) {
    throw new ConfigurationError(`maxDatagramBytes must be an integer from 512 to ${MAX_DATAGRAM_BYTES}`);
  }
  if (s.ttl !== undefined && (!Number.isInteger(s.ttl) || s.ttl < 0 || s.ttl > 255)) throw new ConfigurationError('ttl must be 0..255');
  if (s.coalesceBytes !== undefined && (!Number.isInteger(s.coalesceBytes) || s.coalesceBytes < 64)) {
    throw new ConfigurationError('coalesceBytes must be an integer of at least 64');
  }
  for (const [g, n] of Object.entries(s.repeat ?? {})) {
    if (!GROUPS.includes(g as Group) || !Number.isInteger(n) || n < 1 || n > 8) throw new ConfigurationError(`repeat.${g} must be an integer from 1 to 8`);
  }
}

function bindSocket(socket: Socket, port: number, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    socket.once('error', onError);
    socket.bind({ port, address, exclusive: false }, () => {
      socket.off('error', onError);
      resolve();
    });
  });
}

function connectSocket(socket: Socket, port: number, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.connect(port, address, (err?: Error) => (err ? reject(err) : resolve()));
  });
}

export class UdpMulticastTransport implements Transport {
  private readonly stats = emptyTransportMetrics();
  private readonly key: Uint8Array | undefined;
  private started = false;
  /** One receive socket per group hosted here. */
  private readonly receiveSockets: Socket[] = [];
  /** One connected send socket per destination group. */
  private readonly sendSockets = new Map<Group, Socket>();
  private readonly maxDatagramBytes: number;
  private closed = false;
  private readonly warnOnce = new Set<string>();

  constructor(readonly settings: UdpMulticastSettings, private readonly hooks: UdpMulticastHooks = {}) {
    validateSettings(settings);
    this.key = settings.secret !== undefined ? keyFromSecret(settings.secret) : undefined;
    this.maxDatagramBytes = settings.maxDatagramBytes ?? MAX_DATAGRAM_BYTES;
  }

  get metrics(): Readonly<TransportMetrics> {
    return this.stats;
  }

  async start(members: readonly Endpoint[], deliver: (message: Message, to: Endpoint) => void): Promise<void> {
    if (this.started) throw new Error('transport already started');
    this.started = true;
    const s = this.settings;
    const log = this.hooks.log;
    const iface = resolveInterface(s.interface);
    const recvBufferSize = s.recvBufferSize ?? 8 * 1024 * 1024;
    const sendBufferSize = s.sendBufferSize ?? 4 * 1024 * 1024;

    // Receive: per hosted group, bound to the group's port (and on Linux its address, so that
    // several groups on one port stay apart), member of the group on the chosen interface.
    for (const group of GROUPS) {
      const hosted = members.filter((m) => m.group === group);
      if (hosted.length === 0) continue;
      const own = s.groups[group];
      const rx = createSocket({ type: 'udp4', reuseAddr: true, recvBufferSize });
      this.receiveSockets.push(rx);
      const receive = createReceiver(hosted, this.key, deliver, this.stats, log);
      rx.on('message', (datagram) => {
        if (!this.closed) receive(datagram);
      });
      rx.on('error', (err) => this.hooks.warn?.(`receive socket: ${err.message}`));
      await bindSocket(rx, own.port, process.platform === 'linux' ? own.address : '0.0.0.0');
      rx.addMembership(own.address, iface);
      log?.(`${group} ${hosted.map((m) => m.id).join(',')}: listening on ${own.address}:${own.port}` +
        `${iface ? ` via ${iface}` : ''}, receive buffer ${rx.getRecvBufferSize()} bytes`);
    }

    // Send: one connected socket per destination group.
    for (const g of GROUPS) {
      const tx = createSocket({ type: 'udp4', reuseAddr: true, sendBufferSize });
      tx.on('error', (err) => {
        this.stats.sendErrors++;
        this.hooks.warn?.(`send socket (${g}): ${err.message}`);
      });
      await bindSocket(tx, 0, iface ?? '0.0.0.0');
      tx.setMulticastTTL(s.ttl ?? 1);
      tx.setMulticastLoopback(s.loopback ?? true);
      if (iface) tx.setMulticastInterface(iface);
      await connectSocket(tx, s.groups[g].port, s.groups[g].address);
      this.sendSockets.set(g, tx);
    }
  }

  send(from: Endpoint, messages: readonly Outgoing[]): void {
    if (!this.started || this.closed || messages.length === 0) return;
    // Group by destination, keeping order within each.
    const byDestination = new Map<string, { to: Destination; messages: Message[] }>();
    for (const o of messages) {
      const k = o.to.member === undefined ? o.to.group : `${o.to.group}/${o.to.member}`;
      let entry = byDestination.get(k);
      if (!entry) byDestination.set(k, (entry = { to: o.to, messages: [] }));
      entry.messages.push(o.message);
    }
    for (const { to, messages: list } of byDestination.values()) {
      const socket = this.sendSockets.get(to.group);
      if (!socket) continue;
      const { frames, oversize } = this.encode(to, from, list);
      this.stats.messagesOut += list.length - oversize.length;
      for (const m of oversize) {
        this.stats.droppedOversize++;
        const line = `cannot send a ${m.type} message to ${to.group}: it does not fit one ${this.maxDatagramBytes}-byte datagram`;
        if (!this.warnOnce.has(m.type)) {
          this.warnOnce.add(m.type);
          this.hooks.warn?.(line);
        }
      }
      const copies = this.settings.repeat?.[to.group] ?? 1;
      for (const frame of frames) {
        for (let i = 0; i < copies; i++) {
          this.stats.datagramsOut++;
          this.stats.bytesOut += frame.length;
          socket.send(frame, (err) => {
            if (err) {
              this.stats.sendErrors++;
              this.hooks.log?.(`send to ${to.group} failed: ${err.message}`);
            }
          });
        }
      }
    }
  }

  /**
   * Encode, isolating a message the codec refuses (a malformed message from a buggy role): it is
   * dropped and counted, the rest still goes out, and the process keeps running.
   */
  private encode(to: Destination, self: Endpoint, list: Message[]): EncodedFrames {
    const options = { maxBytes: this.maxDatagramBytes, key: this.key, coalesceBytes: this.settings.coalesceBytes ?? DEFAULT_COALESCE_BYTES };
    try {
      return encodeFrames(to, self, list, options);
    } catch (err) {
      if (!(err instanceof EncodeError)) throw err;
      const frames: Buffer[] = [];
      const oversize: Message[] = [];
      for (const m of list) {
        try {
          const one = encodeFrames(to, self, [m], options);
          frames.push(...one.frames);
          oversize.push(...one.oversize);
        } catch (e) {
          if (!(e instanceof EncodeError)) throw e;
          this.stats.droppedUnencodable++;
          this.hooks.warn?.(`cannot encode a ${String(m.type)} message to ${to.group}: ${e.message}`);
        }
      }
      return { frames, oversize };
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const sockets = [...this.sendSockets.values(), ...this.receiveSockets];
    this.sendSockets.clear();
    this.receiveSockets.length = 0;
    await Promise.all(sockets.map((s) => new Promise<void>((resolve) => {
      try {
        s.close(() => resolve());
      } catch {
        resolve();
      }
    })));
  }
}

/** Build the transport from plain settings (e.g. inside a worker thread). */
export function createUdpMulticastTransport(settings: UdpMulticastSettings, hooks?: UdpMulticastHooks): UdpMulticastTransport {
  return new UdpMulticastTransport(settings, hooks);
}

/**
 * `TransportFactory` for `Cluster.start({ transport })`: every worker imports this module and
 * calls it with the (structured-cloned) settings, e.g.
 *
 * ```ts
 * Cluster.start({ transport: {
 *   module: new URL('./transport/udp-multicast.js', import.meta.url).href,
 *   export: 'createTransport',
 *   settings: { groups: config.groups, secret: process.env.PAXOS_SECRET } satisfies UdpMulticastSettings,
 * } });
 * ```
 *
 * The members it serves come with `start(members, ...)`; the context is not needed. Diagnostics
 * go to stderr when `settings.debug` is true.
 */
export function createTransport(settings: unknown, _context?: unknown): UdpMulticastTransport {
  if (typeof settings !== 'object' || settings === null) {
    throw new ConfigurationError('udp-multicast transport settings must be an object with `groups`');
  }
  const s = settings as UdpMulticastSettings & { debug?: boolean };
  const line = (text: string): void => {
    process.stderr.write(`[udp-multicast] ${text}\n`);
  };
  return new UdpMulticastTransport(s, { log: s.debug ? line : undefined, warn: line });
}
