/**
 * What the main thread and a role worker say to each other. Three lanes, none of them the data
 * path between roles (that is the bus):
 * - `workerData` (`WorkerInit`): everything the worker needs to build its role;
 * - a comlink control port (`WorkerControl`): status, metrics, faults, freeze, stop, subscribe;
 * - `parentPort` events (`WorkerEvent`): ready, leadership changes, debug log lines;
 * plus, for clients, a submission port (`SubmitRequest` / `SubmitReply`), and for every learned()
 * iterator a stream port (`StreamRequest` / `StreamReply`) with credit-based flow control.
 */
import type { Ballot } from '../protocol/ballot.js';
import type { MessagePort } from 'node:worker_threads';
import type { AcceptorState } from '../protocol/acceptor.js';
import type { RoleSpec } from '../runtime/role-factory.js';
import type { Group, Payload } from '../protocol/messages.js';
import type { ProtocolOptions } from '../protocol/options.js';
import type { MembershipRequest } from '../protocol/membership.js';
import type { Membership as MembershipView } from './reconfigure.js';
import type { BusTopology, FaultSettings } from '../transport/bus.js';
import type { TransportSpec } from '../runtime/worker-transport.js';

/** One role instance a worker hosts (always with its incarnation: the supervisor draws one per life). */
export interface HostedRole extends RoleSpec {
  readonly incarnation: number;
}

export interface WorkerInit {
  /** The role instances this worker hosts (one `RoleHost`, one transport endpoint): at most one per group. */
  readonly roles: readonly HostedRole[];
  /** Names the worker in logs, e.g. `learners/1` or `replica 1`. */
  readonly name: string;
  readonly clusterId: string;
  readonly topology: BusTopology;
  readonly protocol: ProtocolOptions;
  readonly tickMs: number;
  /** Learners with trimming: newest delivered values kept for replays. */
  readonly replayKeepValues: number;
  readonly transport?: TransportSpec;
  readonly faults?: FaultSettings;
  readonly debug: boolean;
  /** Per-host processes: report the leader heard in heartbeats (`leader-heard`), which may run elsewhere. */
  readonly watchLeader: boolean;
  readonly control: MessagePort;
  /** Workers that host a client. */
  readonly submit?: MessagePort;
}

export interface WorkerStatus {
  readonly group: Group;
  readonly id: number;
  readonly running: boolean;
  /** The worker thread that hosts it: `<group>/<id>`, or `replica <id>` (`workers: 'replica'`). */
  readonly worker: string;
  /** Proposers: whether it currently leads, and its ballot as `round.proposer.incarnation`. */
  readonly leading?: boolean;
  readonly ballot?: string;
  /** Learners and proposers: instances delivered; learners: values delivered. */
  readonly instancesDelivered?: number;
  readonly valuesDelivered?: number;
  /** Clients: values submitted and not yet decided. */
  readonly pending?: number;
}

/** The comlink API each worker exposes on its control port. */
export interface WorkerControl {
  /** The status of the hosted role `group`/`id`. */
  status(group: Group, id: number): WorkerStatus;
  /** The hosted role's counters plus the worker's transport counters (prefixed `transport.`). */
  metrics(group: Group, id: number): Record<string, number>;
  /** Change bus faults. Returns false when the transport has no fault injection. */
  setFaults(settings: FaultSettings): boolean;
  /** Proposers: hand leadership over to proposer `to`; false unless proposer `id` leads (see `Proposer.transferLeadership`). */
  transferLeadership(id: number, to: number): boolean;
  /** Proposers: ask whoever leads to hand over to `to` (`Proposer.requestTransfer`): a request, resent by the caller. */
  requestTransfer(id: number, to: number): boolean;
  /** Proposers: ask whoever leads for the next epoch with these acceptors (`Proposer.requestReconfiguration`); the epoch asked for. */
  requestReconfiguration(id: number, request: MembershipRequest): number;
  /** Proposers: the membership the proposer's log is in. */
  membership(id: number): MembershipView;
  /** Learners (`stateSnapshots`): mark where delivery stands, for an application state taken there (`Learner.markState`). */
  markState(id: number): { instance: number; position: number } | undefined;
  /** Learners: the application's state at the point marked at `instance`; false if stale. Persisted with a data directory. */
  stateTaken(id: number, instance: number, state: Uint8Array): boolean;
  /** Learners: the newest application state held (taken here, restored from a peer, or loaded from disk). */
  heldState(id: number): HeldState | undefined;
  /** Learners: stream delivered values from `from` on through `port` (see `StreamRequest`). */
  subscribe(port: MessagePort, from: number): void;
  /**
   * Stop handling messages at once and return the acceptor's durable state (undefined for other
   * roles). Everything the acceptor ever sent is reflected in the state it returns.
   */
  freeze(): Promise<AcceptorState | undefined>;
  /** Stop the runner and close the transport and every port; the worker can then exit. */
  stop(): Promise<void>;
}

/** An application state a learner holds: every value below `position` is in `state`. */
export interface HeldState {
  readonly instance: number;
  readonly position: number;
  readonly state: Uint8Array;
}

export type WorkerEvent =
  | { readonly type: 'ready' }
  | { readonly type: 'leader'; readonly proposer: number; readonly leading: boolean; readonly ballot: Ballot }
  | { readonly type: 'leader-heard'; readonly proposer?: number; readonly ballot?: Ballot }
  | { readonly type: 'log'; readonly line: string };

/** Main → client worker: values to submit, with the ids the replies will use. */
export interface SubmitRequest {
  readonly ids: readonly number[];
  readonly values: readonly Payload[];
  /** Read barriers asked, by id: answered in `SubmitReply.done` as (id, position) like values. */
  readonly barriers?: readonly number[];
}

/** Client worker → main: decided positions, and values the client refused. */
export interface SubmitReply {
  /** Decided values as (id, position) pairs: one typed array crosses instead of an array per value. */
  readonly done?: Float64Array;
  /** Values the client refused: ValueTooLargeError carries its size and limit, others a message. */
  readonly failed?: readonly (readonly [id: number, code: string, message: string, size?: number, limit?: number])[];
}

/** Main → learner worker on a stream port: permission to send `credit` more values. */
export interface StreamRequest {
  readonly credit: number;
}

/** Numbers per value in `StreamReply.numbers`: position, instance, client, seq. */
export const STREAM_FIELDS = 4;

export interface StreamReply {
  /**
   * Consecutive delivered values: `STREAM_FIELDS` numbers each (position, instance, client, seq)
   * in one typed array, and their payloads, so one chunk crosses as bytes and one array instead
   * of an object per value.
   */
  readonly numbers: Float64Array;
  readonly values: readonly Payload[];
  /**
   * Set (with nothing else) when the asked position is no longer held (log trimming): the first
   * position this learner can still stream.
   */
  readonly trimmedBelow?: number;
}
