/**
 * paxos-cluster: Multi-Paxos atomic broadcast for Node.js.
 *
 * The root export is what an application needs to run a cluster in process: `Cluster`, its
 * options, events and errors, value codecs. What plugs in lives under subpaths:
 * - `paxos-cluster/protocol`: the sans-IO core (roles, messages, ballots, options) for embedding;
 * - `paxos-cluster/host`: `RoleHost` and durable acceptors, to host roles over any transport;
 * - `paxos-cluster/transport`: the `Transport` interface and the in-process bus;
 * - `paxos-cluster/udp`: the UDP multicast transport;
 * - `paxos-cluster/storage`: the durable acceptor log.
 * @module paxos-cluster
 */
// In-process cluster (worker threads + bus)
export {
  Cluster, ClientHandle, roleGroup, type SubmitOptions, type ClusterOptions, type ClusterEvents, type ClusterFaults, type ClusterMetrics,
  type WorkerMetrics, type MetricName, type ExitReason, type RoleName, type WorkerPlacement, type Logger, type HostedMembers,
  Replica, type ReplicateOptions, type StateMachine, type Membership, type ReconfigureOptions,
} from './cluster/cluster.js';
export type { MembershipRequest } from './protocol/membership.js';
export { type ValueCodec, defaultCodec, rawCodec } from './cluster/codec.js';
export type { LearnedValue, LearnedOptions } from './cluster/learned.js';
export type { WorkerStatus } from './cluster/worker-protocol.js';
export {
  ClusterError, ClusterStoppedError, TransferFailedError, WorkerExitedError, MemberStateError, AcceptorStateLostError, WorkerStartError,
  FaultsUnsupportedError, TrimmedError, SessionExpiredError, UnknownMemberError, NotHostedError, InvalidArgumentError, ValueEncodingError,
  MembershipChangeError,
} from './cluster/errors.js';
// Errors and settings that surface through the cluster's API
export { ConfigurationError, type ProtocolOptions } from './protocol/options.js';
export { ValueTooLargeError } from './protocol/client.js';
export { StorageCorruptionError, StorageUnavailableError, DataDirInUseError, type SyncPolicy } from './storage/index.js';
export type { FaultSettings, BusMember } from './transport/bus-faults.js';
export type { TransportSpec, TransportFactory, TransportContext } from './runtime/worker-transport.js';
export type { Transport, Endpoint } from './transport/transport.js';
export type { Payload } from './protocol/messages.js';
