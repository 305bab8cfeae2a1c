/**
 * The transport a `paxos` process talks over, as its config file says: UDP multicast for a file
 * of multicast groups, UDP unicast for a file that lists every member's address. Options that
 * only make sense for the other kind are usage errors.
 */
import { isIPv4 } from 'node:net';
import type { ProtocolOptions } from '../protocol/options.js';
import type { TransportMetrics } from '../transport/datagram-receiver.js';
import type { UdpHooks } from '../transport/datagram-sender.js';
import type { DatagramSettings } from '../transport/datagram-settings.js';
import type { Transport } from '../transport/transport.js';
import { createUdpMulticastTransport, resolveInterface } from '../transport/udp-multicast.js';
import { createUdpUnicastTransport } from '../transport/udp-unicast.js';
import { CLI_REPEAT_ACKS, type Invocation, UsageError, intOption } from './arguments.js';
import type { PaxosConfig, UnicastConfig } from '../transport/config-file.js';

/** What the CLI needs of its transport beyond the `Transport` interface. */
export type CliTransport = Transport & { readonly metrics: Readonly<TransportMetrics>; readonly settings: DatagramSettings };

/** The settings both kinds take from the command line (and the environment, for the secret). */
function commonSettings(inv: Invocation): DatagramSettings {
  const v = inv.values;
  const secret = (v.secret as string | undefined) ?? (process.env.PAXOS_SECRET || undefined);
  if (secret === '') throw new UsageError('the shared secret must not be empty');
  return {
    secret: secret || undefined,
    recvBufferSize: intOption(v, 'recv-buffer', 1024),
    coalesceBytes: intOption(v, 'coalesce-bytes', 64, 65_507),
    repeat: { clients: intOption(v, 'repeat-acks', 1, 8) ?? CLI_REPEAT_ACKS },
  };
}

/** With unicast every member has a line: the cluster shape is the file's, and our ids are in it. */
function checkUnicastShape(config: UnicastConfig, inv: Invocation, options: ProtocolOptions): void {
  const file = inv.configPath;
  for (const role of ['acceptors', 'proposers'] as const) {
    if (options[role] !== config.members[role]) {
      throw new UsageError(`--${role} ${options[role]}, but ${file} lists ${config.members[role]} ${role} (with unicast every member has a line)`);
    }
  }
  for (const role of inv.roles) {
    if (inv.id > config.members[role]) {
      throw new UsageError(`${role.slice(0, -1)} ${inv.id} has no line in ${file} (it lists ${role} 1 to ${config.members[role]})`);
    }
  }
}

/** Build (not start) the transport the config file and options ask for; usage errors throw. */
export function cliTransport(config: PaxosConfig, inv: Invocation, options: ProtocolOptions, hooks: UdpHooks): CliTransport {
  const v = inv.values;
  if (config.transport === 'multicast') {
    if (v.bind !== undefined) throw new UsageError(`--bind is for unicast, but ${inv.configPath} gives multicast groups`);
    resolveInterface(v.interface as string | undefined); // an unknown interface is a usage error
    return createUdpMulticastTransport({
      groups: config.groups, ...commonSettings(inv), interface: v.interface as string | undefined, ttl: intOption(v, 'ttl', 0, 255),
    }, hooks);
  }
  for (const name of ['interface', 'ttl']) {
    if (v[name] !== undefined) throw new UsageError(`--${name} is for multicast, but ${inv.configPath} lists unicast members`);
  }
  const bind = v.bind as string | undefined;
  if (bind !== undefined && !isIPv4(bind)) throw new UsageError(`--bind must be an IPv4 address, got "${bind}"`);
  checkUnicastShape(config, inv, options);
  return createUdpUnicastTransport({ members: config.addresses, ...commonSettings(inv), bind }, undefined, hooks);
}
