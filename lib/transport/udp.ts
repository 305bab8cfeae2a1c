/**
 * The UDP multicast transport (`paxos-cluster/udp`): one multicast group per role, the binary
 * codec with HMAC, coalescing and splitting. Use it with `RoleHost` (`paxos-cluster/host`), or in
 * a cluster's workers through `Cluster.start({ transport: { module: 'paxos-cluster/udp', settings } })`.
 * @module paxos-cluster/udp
 */
export {
  UdpMulticastTransport, createUdpMulticastTransport, createTransport, checkBatchFits, maxBatchBytesFor, resolveInterface,
  isMulticastAddress, DEFAULT_COALESCE_BYTES, type UdpMulticastSettings, type UdpMulticastHooks, type GroupAddress, type TransportMetrics,
} from './udp-multicast.js';
export { FRAME_VERSION, MAX_DATAGRAM_BYTES, MAX_BATCH_BYTES_FOR_DATAGRAM, keyFromSecret } from './codec.js';
