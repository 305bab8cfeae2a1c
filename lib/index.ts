/**
 * paxos-cluster: Multi-Paxos atomic broadcast for Node.js.
 * @packageDocumentation
 */
export * from './protocol/index.js';
export type { Transport, Endpoint } from './transport/transport.js';
export { NodeRunner, type NodeRunnerOptions } from './runtime/node-runner.js';
