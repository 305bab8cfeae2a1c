/**
 * The UDP transports (`paxos-cluster/udp`): UDP multicast, one multicast group per role, and UDP
 * unicast, one address per member (for networks without multicast routing); both with the binary
 * codec, HMAC, coalescing and splitting. Use them with `RoleHost` (`paxos-cluster/host`), or in a
 * cluster's workers through `Cluster.start({ transport: { module: 'paxos-cluster/udp', settings } })`
 * (multicast) or `{ module: 'paxos-cluster/udp', export: 'createUdpUnicastTransport', settings }`.
 * @module paxos-cluster/udp
 */
export {
  UdpMulticastTransport, createUdpMulticastTransport, createTransport, checkBatchFits, maxBatchBytesFor, resolveInterface,
  isMulticastAddress, DEFAULT_COALESCE_BYTES, type UdpMulticastSettings, type UdpMulticastHooks, type GroupAddress, type TransportMetrics,
} from './udp-multicast.js';
export { UdpUnicastTransport, createUdpUnicastTransport, type UdpUnicastSettings, type MemberAddress } from './udp-unicast.js';
export type { DatagramSettings } from './datagram-settings.js';
export type { UdpHooks } from './datagram-sender.js';
export { FRAME_VERSION, MAX_DATAGRAM_BYTES, MAX_BATCH_BYTES_FOR_DATAGRAM, keyFromSecret } from './codec.js';
export { readConfigFile, parseConfig, ConfigFileError, type PaxosConfig, type MulticastConfig, type UnicastConfig } from './config-file.js';
export { udpTransportSpec, type UdpConfig, type UdpSpecOptions } from './udp-config.js';
