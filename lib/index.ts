/**
 * paxos-cluster: Multi-Paxos atomic broadcast for Node.js.
 * @packageDocumentation
 */
export * from './protocol/index.js';
export { type Transport, type Endpoint, addresses } from './transport/transport.js';
export { RoleHost, orderedStorage, type RoleHostOptions, type Hosted, type HostStorage } from './runtime/role-host.js';
// In-process cluster (worker threads + bus)
export {
  Cluster, ClientHandle, roleGroup, type ClusterOptions, type ClusterEvents, type ClusterFaults, type ClusterMetrics,
  type WorkerMetrics, type ExitReason, type RoleName, type WorkerPlacement,
} from './cluster/cluster.js';
export { type ValueCodec, defaultCodec, rawCodec } from './cluster/codec.js';
export type { LearnedValue, LearnedOptions } from './cluster/learned.js';
export {
  ClusterError, ClusterStoppedError, WorkerExitedError, MemberStateError, AcceptorStateLostError, WorkerStartError,
  FaultsUnsupportedError, TrimmedError, SessionExpiredError,
} from './cluster/errors.js';
export {
  BusTransport, createBusTransport, busTransportFactory, type BusSettings, type BusTopology, type BusEncoding, type FaultControllable,
} from './transport/bus.js';
export { type FaultSettings, type ResolvedFaults, type BusMember, resolveFaults } from './transport/bus-faults.js';
export type { TransportSpec, TransportFactory, TransportContext } from './runtime/worker-transport.js';
export type { WorkerStatus } from './cluster/worker-protocol.js';
// Durable acceptor storage
export {
  openAcceptorStore, MemoryAcceptorStore, StorageCorruptionError, StorageUnavailableError, DataDirInUseError, SYNC_POLICIES,
} from './storage/index.js';
export type { AcceptorStore, AcceptorStoreOptions, CompactStep, StoreMetrics, SyncPolicy } from './storage/index.js';
export {
  openDurableAcceptor, releaseDataDirLock, type DurableAcceptor, type DurableAcceptorSettings, type CompactionPolicy,
} from './runtime/durable-acceptor.js';
