/**
 * Errors the `Cluster` API rejects with. Each has a stable `code` for programs; messages are for
 * people. `ConfigurationError` (invalid options) and `ValueTooLargeError` come from the protocol
 * core and are re-used as they are.
 */
import type { Group } from '../protocol/messages.js';

/** Base class of the cluster's own errors. */
export class ClusterError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = 'ClusterError';
  }
}

/** The cluster was stopped: `submit`, `kill`, `restart`, `faults` and `metrics` are refused. */
/** `transferLeadership(to)` did not hand over: no hosted proposer led, or `to` did not take over in time. */
export class TransferFailedError extends ClusterError {
  constructor(readonly to: number, reason: string) {
    super('ERR_PAXOS_TRANSFER_FAILED', `leadership transfer to proposers/${to} failed: ${reason}`);
    this.name = 'TransferFailedError';
  }
}

/** `reconfigure()` did not take effect: no hosted proposer, no quorum to order it in time, or another change won. */
export class MembershipChangeError extends ClusterError {
  constructor(reason: string) {
    super('ERR_PAXOS_MEMBERSHIP_CHANGE', `membership change failed: ${reason}`);
    this.name = 'MembershipChangeError';
  }
}

export class ClusterStoppedError extends ClusterError {
  constructor(what = 'the operation') {
    super('ERR_PAXOS_CLUSTER_STOPPED', `the cluster is stopped; ${what} was refused`);
    this.name = 'ClusterStoppedError';
  }
}

/**
 * The client worker a value went through exited (killed or crashed) before the value's position
 * was known. The value may or may not have been decided: look for it in `learned()`.
 */
export class WorkerExitedError extends ClusterError {
  constructor(readonly group: Group, readonly id: number) {
    super('ERR_PAXOS_WORKER_EXITED', `${group}/${id} exited before the value's position was known; it may or may not be decided`);
    this.name = 'WorkerExitedError';
  }
}

/**
 * The value's client session was retired by the log before the leader could confirm the value
 * (it stayed unanswered longer than the deduplication window, `sessionIdleInstances`, or more
 * than `maxSessions` sessions were active). It was delivered at most once, maybe not at all:
 * look for it in `learned()` before submitting it again.
 */
export class SessionExpiredError extends ClusterError {
  constructor() {
    super('ERR_PAXOS_SESSION_EXPIRED', "the value's client session expired before its outcome was known; it was delivered at most once");
    this.name = 'SessionExpiredError';
  }
}

/** The member asked for is not running (killed or crashed, not restarted yet) or is running already. */
export class MemberStateError extends ClusterError {
  constructor(readonly group: Group, readonly id: number, message: string) {
    super('ERR_PAXOS_MEMBER_STATE', `${group}/${id} ${message}`);
    this.name = 'MemberStateError';
  }
}

/**
 * An acceptor that crashed on its own (not through `kill`) left no durable state, and restarting
 * an acceptor with empty memory could make two different values chosen. Refused.
 */
export class AcceptorStateLostError extends ClusterError {
  constructor(readonly id: number) {
    super('ERR_PAXOS_ACCEPTOR_STATE_LOST',
      `acceptors/${id} crashed without saving its state; restarting it empty could break agreement, so it stays down`);
    this.name = 'AcceptorStateLostError';
  }
}

/** A worker failed to start (its script threw, or it did not report ready in time). */
export class WorkerStartError extends ClusterError {
  constructor(readonly group: Group, readonly id: number, reason: string) {
    super('ERR_PAXOS_WORKER_START', `${group}/${id} failed to start: ${reason}`);
    this.name = 'WorkerStartError';
  }
}

/** The transport in use has no fault injection (only the bus has). */
export class FaultsUnsupportedError extends ClusterError {
  constructor() {
    super('ERR_PAXOS_FAULTS_UNSUPPORTED', 'the configured transport does not support fault injection');
    this.name = 'FaultsUnsupportedError';
  }
}

/**
 * `learned()` reached values that are no longer held anywhere: the log was trimmed (`trim: true`)
 * before this iterator — or the learner it reads, after a restart — got to them. The iterator ends
 * with this error; `learned({ from: error.firstAvailable })` continues after the gap.
 */
export class TrimmedError extends ClusterError {
  constructor(readonly requested: number, readonly firstAvailable: number) {
    super('ERR_PAXOS_TRIMMED',
      `positions ${requested}..${firstAvailable - 1} were trimmed from the log before they could be read; ` +
        `the first one still available is ${firstAvailable}`);
    this.name = 'TrimmedError';
  }
}

/**
 * No such member: `client(i)`, `learned({ learner })`, `kill`/`restart` with an id the cluster
 * does not have. A `RangeError`, as Node's own out-of-range errors are, with a stable code.
 */
export class UnknownMemberError extends RangeError {
  readonly code = 'ERR_PAXOS_UNKNOWN_MEMBER';
  constructor(readonly group: Group, readonly id: unknown, size: number) {
    super(`no ${group}/${String(id)}; the cluster has ${size} ${group}`);
    this.name = 'UnknownMemberError';
  }
}

/**
 * A member the deployment has but this process does not host (`Cluster.start({ host })`):
 * `client(i)`, `learned({ learner })`, `kill`/`restart` of a member another process runs.
 */
export class NotHostedError extends ClusterError {
  constructor(readonly group: Group, readonly id: number) {
    super('ERR_PAXOS_NOT_HOSTED', `${group}/${id} is not hosted by this process (see the host option)`);
    this.name = 'NotHostedError';
  }
}

/** An argument out of its range (e.g. `learned({ from: -1 })`). */
export class InvalidArgumentError extends RangeError {
  readonly code = 'ERR_PAXOS_INVALID_ARGUMENT';
  constructor(message: string) {
    super(message);
    this.name = 'InvalidArgumentError';
  }
}

/** The codec cannot turn a submitted value into a payload (`rawCodec` and a non-string, a value JSON cannot hold, ...). */
export class ValueEncodingError extends TypeError {
  readonly code = 'ERR_PAXOS_VALUE_ENCODING';
  constructor(message: string) {
    super(message);
    this.name = 'ValueEncodingError';
  }
}
