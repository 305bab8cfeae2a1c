/**
 * From a `paxos.conf` to the transport a `Cluster`'s workers build: the same file serves the
 * `paxos` CLI and an application that hosts its replica from code (`Cluster.start({ host })`).
 * A file of multicast groups gives the multicast transport; one that lists every member's
 * unicast address gives the unicast transport.
 */
import { ConfigurationError } from '../protocol/options.js';
import type { TransportSpec } from '../runtime/worker-transport.js';
import type { GroupAddress, UdpMulticastSettings } from './udp-multicast.js';
import type { MemberAddress, UdpUnicastSettings } from './udp-unicast.js';
import type { Group } from '../protocol/messages.js';

/** What a parsed config file says about where the roles are: multicast groups, or every member's address. */
export type UdpConfig =
  | { readonly transport?: 'multicast'; readonly groups: Readonly<Record<Group, GroupAddress>> }
  | { readonly transport: 'unicast'; readonly addresses: Readonly<Record<Group, readonly (MemberAddress | undefined)[]>> };

/** Network options beside the config file (the CLI's `--secret`, `--interface`, `--bind`). */
export interface UdpSpecOptions {
  /** Shared secret for HMAC-SHA256 on every datagram. Default: env `PAXOS_SECRET`. */
  readonly secret?: string;
  /** Multicast: the local interface (address or name). */
  readonly interface?: string;
  /** Unicast: the address to bind each hosted member's socket to (default: its own address). */
  readonly bind?: string;
}

/** The `Cluster.start({ transport })` spec for `config`: every worker imports `paxos-cluster/udp` and builds it. */
export function udpTransportSpec(config: UdpConfig, options: UdpSpecOptions = {}): TransportSpec {
  const secret = options.secret ?? (process.env.PAXOS_SECRET || undefined);
  const module = new URL('./udp.js', import.meta.url).href;
  if (config.transport === 'unicast') {
    if (options.interface !== undefined) throw new ConfigurationError('interface is for multicast, but the config lists unicast members');
    const settings: UdpUnicastSettings = { members: config.addresses, secret, bind: options.bind };
    return { module, export: 'createUdpUnicastTransport', settings };
  }
  if (options.bind !== undefined) throw new ConfigurationError('bind is for unicast, but the config gives multicast groups');
  const settings: UdpMulticastSettings = { groups: config.groups, secret, interface: options.interface };
  return { module, export: 'createTransport', settings };
}
