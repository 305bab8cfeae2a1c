/**
 * Hosting roles (`paxos-cluster/host`): the one `RoleHost` every runtime uses, persist-before-send
 * storage, durable acceptors over a data directory, and transports built from settings.
 * @module paxos-cluster/host
 */
export { RoleHost, orderedStorage, type RoleHostOptions, type Hosted, type HostStorage } from './role-host.js';
export {
  openDurableAcceptor, releaseDataDirLock, LOCK_FILE, DEFAULT_COMPACTION, type DurableAcceptor, type DurableAcceptorSettings,
  type CompactionPolicy,
} from './durable-acceptor.js';
export {
  createTransport, validateTransportSpec, type TransportSpec, type TransportFactory, type TransportContext,
} from './worker-transport.js';
