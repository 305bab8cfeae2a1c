/**
 * The sans-IO protocol core: deterministic role state machines and their message vocabulary.
 * @module paxos-cluster/protocol
 */
export * from './ballot.js';
export * from './messages.js';
export * from './options.js';
export * from './role.js';
export * from './delivery-filter.js';
export * from './acceptor.js';
export * from './proposer.js';
export * from './learner.js';
export * from './client.js';
export * from './snapshot-parts.js';
export * from './state-blob.js';
export * from './membership.js';
