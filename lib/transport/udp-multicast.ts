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
import type { Socket } from 'node:dgram';
import { isIPv4 } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { Destination, Group, Message } from '../protocol/messages.js';
import { GROUPS } from '../protocol/messages.js';
import { ConfigurationError } from '../protocol/options.js';
import type { DatagramTarget, UdpHooks } from './datagram-sender.js';
import type { DatagramSettings } from './datagram-settings.js';
import type { Endpoint } from './transport.js';
import { UdpTransportBase } from './udp-transport-base.js';
import { DEFAULT_RECV_BUFFER_BYTES, DEFAULT_SEND_BUFFER_BYTES, bindSocket, connectSocket, openUdpSocket } from './udp-sockets.js';

export { DEFAULT_COALESCE_BYTES, checkBatchFits, maxBatchBytesFor } from './datagram-settings.js';

/** A role's multicast group. */
export interface GroupAddress {
  /** IPv4 multicast address (224.0.0.0/4). */
  readonly address: string;
  readonly port: number;
}

/** Everything the transport needs, as plain serializable data. */
export interface UdpMulticastSettings extends DatagramSettings {
  /** The multicast group of every role. */
  readonly groups: Readonly<Record<Group, GroupAddress>>;
  /** Local interface for multicast: an IPv4 address or an interface name. Default: the routing table decides. */
  readonly interface?: string;
  /** Multicast TTL (hops). Default 1: the local link only. */
  readonly ttl?: number;
  /** Deliver our own multicast datagrams to sockets on this host (needed when several roles share a host). Default true. */
  readonly loopback?: boolean;
}

/** Non-serializable extras: where diagnostics go. */
export type UdpMulticastHooks = UdpHooks;

export { type TransportMetrics, createReceiver, emptyTransportMetrics } from './datagram-receiver.js';

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

function validateGroups(s: UdpMulticastSettings): void {
  for (const g of GROUPS) {
    const a = s.groups?.[g];
    if (!a) throw new ConfigurationError(`no multicast group configured for ${g}`);
    if (!isMulticastAddress(a.address)) throw new ConfigurationError(`${g}: ${a.address} is not an IPv4 multicast address`);
    if (!Number.isInteger(a.port) || a.port < 1 || a.port > 65535) throw new ConfigurationError(`${g}: bad port ${a.port}`);
  }
  if (s.ttl !== undefined && (!Number.isInteger(s.ttl) || s.ttl < 0 || s.ttl > 255)) throw new ConfigurationError('ttl must be 0..255');
}

export class UdpMulticastTransport extends UdpTransportBase {
  /** One connected send socket per destination group, as one-element routes. */
  private readonly routes = new Map<Group, readonly DatagramTarget[]>();

  constructor(readonly settings: UdpMulticastSettings, hooks: UdpMulticastHooks = {}) {
    validateGroups(settings);
    super(settings, hooks);
  }

  protected async open(members: readonly Endpoint[], deliver: (message: Message, to: Endpoint) => void): Promise<void> {
    const s = this.settings;
    const log = this.hooks.log;
    const iface = resolveInterface(s.interface);

    // Receive: per hosted group, bound to the group's port (and on Linux its address, so that
    // several groups on one port stay apart), member of the group on the chosen interface.
    for (const group of GROUPS) {
      const hosted = members.filter((m) => m.group === group);
      if (hosted.length === 0) continue;
      const own = s.groups[group];
      const rx = openUdpSocket({ reuseAddr: true, recvBufferSize: s.recvBufferSize ?? DEFAULT_RECV_BUFFER_BYTES });
      this.sockets.push(rx);
      this.listen(rx, hosted, deliver, 'receive socket');
      await bindSocket(rx, own.port, process.platform === 'linux' ? own.address : '0.0.0.0');
      rx.addMembership(own.address, iface);
      log?.(`${group} ${hosted.map((m) => m.id).join(',')}: listening on ${own.address}:${own.port}` +
        `${iface ? ` via ${iface}` : ''}, receive buffer ${rx.getRecvBufferSize()} bytes`);
    }

    // Send: one connected socket per destination group.
    for (const g of GROUPS) await this.openSendSocket(g, iface);
  }

  private async openSendSocket(g: Group, iface: string | undefined): Promise<void> {
    const s = this.settings;
    const tx: Socket = openUdpSocket({ reuseAddr: true, sendBufferSize: s.sendBufferSize ?? DEFAULT_SEND_BUFFER_BYTES });
    this.sockets.push(tx);
    tx.on('error', (err) => {
      this.stats.sendErrors++;
      this.hooks.warn?.(`send socket (${g}): ${err.message}`);
    });
    await bindSocket(tx, 0, iface ?? '0.0.0.0');
    tx.setMulticastTTL(s.ttl ?? 1);
    tx.setMulticastLoopback(s.loopback ?? true);
    if (iface) tx.setMulticastInterface(iface);
    await connectSocket(tx, s.groups[g].port, s.groups[g].address);
    this.routes.set(g, [{ socket: tx }]);
  }

  /** A message to a whole group or to one member goes to the group; the frame names the member. */
  protected route(to: Destination): readonly DatagramTarget[] {
    return this.routes.get(to.group) ?? [];
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
