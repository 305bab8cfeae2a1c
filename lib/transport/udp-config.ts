/**
 * From a `paxos.conf` to the transport a `Cluster`'s workers build: the same file serves the
 * `paxos` CLI and an application that hosts its replica from code (`Cluster.start({ host })`).
 */
import type { TransportSpec } from '../runtime/worker-transport.js';
import type { GroupAddress, UdpMulticastSettings } from './udp-multicast.js';
import type { Group } from '../protocol/messages.js';

/** What a parsed config file says about where the roles are. */
export interface UdpConfig {
  readonly groups: Readonly<Record<Group, GroupAddress>>;
}

/** Network options beside the config file (the CLI's `--secret`, `--interface`). */
export interface UdpSpecOptions {
  /** Shared secret for HMAC-SHA256 on every datagram. Default: env `PAXOS_SECRET`. */
  readonly secret?: string;
  /** Multicast: the local interface (address or name). */
  readonly interface?: string;
}

/** The `Cluster.start({ transport })` spec for `config`: every worker imports `paxos-cluster/udp` and builds it. */
export function udpTransportSpec(config: UdpConfig, options: UdpSpecOptions = {}): TransportSpec {
  const secret = options.secret ?? (process.env.PAXOS_SECRET || undefined);
  const settings: UdpMulticastSettings = { groups: config.groups, secret, interface: options.interface };
  return { module: new URL('./udp.js', import.meta.url).href, export: 'createTransport', settings };
}
