/**
 * Transports (`paxos-cluster/transport`): the one interface between hosts and whatever moves
 * messages, and the in-process bus with its fault injection. UDP multicast and unicast: `paxos-cluster/udp`.
 * @module paxos-cluster/transport
 */
export { type Transport, type Endpoint, addresses } from './transport.js';
export {
  BusTransport, createBusTransport, busTransportFactory, type BusSettings, type BusTopology, type BusEncoding, type FaultControllable,
} from './bus.js';
export { type FaultSettings, type ResolvedFaults, type BusMember, resolveFaults } from './bus-faults.js';
