/**
 * UDP unicast transport, for networks that do not route IP multicast (most clouds): every member
 * has an address and port of its own, a message to a group is one datagram per member of that
 * group (the sender included, as the `Transport` contract says), and a message to one member
 * goes to that member only.
 *
 * The frames are those of the multicast transport: the same codec, HMAC, coalescing and
 * splitting, encoded once per destination and sent to each address of its fan-out, with the
 * same counters (`datagramsOut` counts every copy). Each hosted member binds its own socket to
 * its address and port (or to `bind`), and receives there only what is for it; sends go out
 * through the sending member's socket.
 *
 * Settings are plain data so that a worker thread can build the transport from them
 * (`createUdpUnicastTransport`, a `TransportFactory`).
 */
import type { Socket } from 'node:dgram';
import { isIPv4 } from 'node:net';
import type { Destination, Group, Message } from '../protocol/messages.js';
import { GROUPS } from '../protocol/messages.js';
import { ConfigurationError } from '../protocol/options.js';
import type { DatagramTarget, UdpHooks } from './datagram-sender.js';
import type { DatagramSettings } from './datagram-settings.js';
import type { Endpoint } from './transport.js';
import { isMulticastAddress } from './udp-multicast.js';
import { UdpTransportBase } from './udp-transport-base.js';
import { DEFAULT_RECV_BUFFER_BYTES, DEFAULT_SEND_BUFFER_BYTES, bindSocket, openUdpSocket } from './udp-sockets.js';

/** One member's unicast address. */
export interface MemberAddress {
  /** IPv4 unicast address. */
  readonly address: string;
  readonly port: number;
}

/** Everything the transport needs, as plain serializable data. */
export interface UdpUnicastSettings extends DatagramSettings {
  /**
   * Every member's address by group, indexed by member id (API ids, from 0). A member without an
   * address (`undefined`) is sent nothing and cannot be hosted.
   */
  readonly members: Readonly<Record<Group, readonly (MemberAddress | undefined)[]>>;
  /** Address to bind each hosted member's socket to (default: its configured address). Useful behind NAT, or `0.0.0.0`. */
  readonly bind?: string;
}

const label = (group: Group, id: number): string => `${group}/${id}`;

function validatePort(where: string, port: unknown): void {
  if (!Number.isInteger(port) || (port as number) < 1 || (port as number) > 65535) throw new ConfigurationError(`${where}: bad port ${String(port)}`);
}

/** Every address is a unicast IPv4 address with a port, and no two members share one. */
function validateMembers(s: UdpUnicastSettings): void {
  if (typeof s.members !== 'object' || s.members === null) {
    throw new ConfigurationError('udp-unicast settings need `members`: every member\'s { address, port } by group, indexed by id');
  }
  const owner = new Map<string, string>();
  for (const g of GROUPS) {
    const list: unknown = s.members[g];
    if (!Array.isArray(list)) throw new ConfigurationError(`members.${g} must be an array of { address, port }, indexed by member id`);
    (list as (MemberAddress | undefined | null)[]).forEach((a, id) => {
      if (a === undefined || a === null) return;
      const where = label(g, id);
      if (typeof a.address !== 'string' || !isIPv4(a.address) || isMulticastAddress(a.address) || a.address === '0.0.0.0') {
        throw new ConfigurationError(`${where}: ${String(a.address)} is not an IPv4 unicast address`);
      }
      validatePort(where, a.port);
      const key = `${a.address}:${a.port}`;
      const other = owner.get(key);
      if (other) throw new ConfigurationError(`${where}: ${key} is already the address of ${other}`);
      owner.set(key, where);
    });
  }
  if (s.bind !== undefined && (typeof s.bind !== 'string' || !isIPv4(s.bind))) throw new ConfigurationError(`bind: ${String(s.bind)} is not an IPv4 address`);
}

export class UdpUnicastTransport extends UdpTransportBase {
  /** Where a hosted member is reached from here: its bound address (loopback for 0.0.0.0). */
  private readonly local = new Map<string, MemberAddress>();
  /** The socket of each hosted member (sends from it go out with the member's port as source). */
  private readonly memberSockets = new Map<string, Socket>();
  /** Routes per sending socket and destination, built on first use. */
  private readonly routes = new Map<Socket, Map<string, readonly DatagramTarget[]>>();
  /** Every socket is bound (routes are only cached from then on). */
  private opened = false;

  constructor(readonly settings: UdpUnicastSettings, hooks: UdpHooks = {}) {
    validateMembers(settings);
    super(settings, hooks);
  }

  /** The configured address of a member, if any. */
  addressOf(group: Group, id: number): MemberAddress | undefined {
    return this.settings.members[group][id] ?? undefined;
  }

  protected async open(members: readonly Endpoint[], deliver: (message: Message, to: Endpoint) => void): Promise<void> {
    const s = this.settings;
    for (const m of members) {
      if (!this.addressOf(m.group, m.id)) throw new ConfigurationError(`${label(m.group, m.id)} is hosted here but has no address in settings.members`);
    }
    const buffers = { recvBufferSize: s.recvBufferSize ?? DEFAULT_RECV_BUFFER_BYTES, sendBufferSize: s.sendBufferSize ?? DEFAULT_SEND_BUFFER_BYTES };
    for (const m of members) {
      const own = this.addressOf(m.group, m.id)!;
      const socket = openUdpSocket(buffers);
      this.sockets.push(socket);
      this.listen(socket, [m], deliver, `socket of ${label(m.group, m.id)}`);
      const host = s.bind ?? own.address;
      await bindSocket(socket, own.port, host);
      this.memberSockets.set(label(m.group, m.id), socket);
      this.local.set(label(m.group, m.id), { address: host === '0.0.0.0' ? '127.0.0.1' : host, port: own.port });
      this.hooks.log?.(`${label(m.group, m.id)}: listening on ${host}:${own.port}, receive buffer ${socket.getRecvBufferSize()} bytes`);
    }
    if (members.length === 0) {
      // Nothing to receive: one socket on an ephemeral port, to send from.
      const socket = openUdpSocket(buffers);
      this.sockets.push(socket);
      socket.on('error', (err) => this.hooks.warn?.(`send socket: ${err.message}`));
      await bindSocket(socket, 0, s.bind ?? '0.0.0.0');
    }
    this.opened = true;
  }

  /** A group: every member with an address (hosted ones over their local address); one member: that member. */
  protected route(to: Destination, from: Endpoint): readonly DatagramTarget[] {
    const socket = this.memberSockets.get(label(from.group, from.id)) ?? this.sockets[0];
    if (!socket || !this.opened) return [];
    let bySocket = this.routes.get(socket);
    if (!bySocket) this.routes.set(socket, (bySocket = new Map()));
    const key = to.member === undefined ? to.group : label(to.group, to.member);
    let targets = bySocket.get(key);
    if (!targets) {
      const ids = to.member === undefined ? this.settings.members[to.group].map((_a, id) => id) : [to.member];
      targets = ids.flatMap((id) => {
        const a = this.local.get(label(to.group, id)) ?? this.addressOf(to.group, id);
        return a ? [{ socket, address: a.address, port: a.port }] : [];
      });
      bySocket.set(key, targets);
    }
    return targets;
  }
}

/**
 * `TransportFactory` for `Cluster.start({ transport })` (and the class's builder for any host):
 * every worker imports `paxos-cluster/udp` and calls it with the (structured-cloned) settings, e.g.
 *
 * ```ts
 * Cluster.start({ transport: {
 *   module: 'paxos-cluster/udp', export: 'createUdpUnicastTransport',
 *   settings: { members, secret: process.env.PAXOS_SECRET } satisfies UdpUnicastSettings,
 * } });
 * ```
 *
 * The members it serves come with `start(members, ...)`; the context is not needed. Diagnostics
 * go to `hooks`, else to stderr (debug lines only when `settings.debug` is true).
 */
export function createUdpUnicastTransport(settings: unknown, _context?: unknown, hooks?: UdpHooks): UdpUnicastTransport {
  if (typeof settings !== 'object' || settings === null) {
    throw new ConfigurationError('udp-unicast transport settings must be an object with `members`');
  }
  const s = settings as UdpUnicastSettings & { debug?: boolean };
  const line = (text: string): void => {
    process.stderr.write(`[udp-unicast] ${text}\n`);
  };
  return new UdpUnicastTransport(s, hooks ?? { log: s.debug ? line : undefined, warn: line });
}
