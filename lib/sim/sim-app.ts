/**
 * The application above each simulated learner, when a scenario keeps application state
 * (`Scenario.learnerState`, protocol option `stateSnapshots`): a running digest of every value
 * applied, snapshotted every few instances, persisted across the learner's crashes (its data
 * directory) and restored from whatever the learner hands back, its own disk or a peer's state.
 *
 * What it checks (invariant 'state'):
 * - a learner never skips values: it restores a state instead;
 * - a restored state is whole and uncorrupted (its padding is derived from its digest), and sits
 *   at exactly the position the learner says (`RestoredState.position`);
 * - every application at a position has the same digest as every other one there was: a
 *   restored application is the one that would have applied every value below it, each once.
 */
import type { Learner } from '../protocol/learner.js';
import type { Delivery, Ready, RestoredState } from '../protocol/role.js';
import type { InvariantChecker } from './invariants.js';
import { InvariantViolation } from './invariants.js';
import { Rng } from './rng.js';
import type { Scenario } from './scenario.js';

const FNV_OFFSET = 0x811c9dc5;

function mix(h: number, x: number): number {
  let v = h;
  for (let k = 0; k < 4; k++) {
    v ^= (x >>> (k * 8)) & 0xff;
    v = Math.imul(v, 0x01000193) >>> 0;
  }
  return v;
}

function valueHash(d: Delivery): number {
  let h = FNV_OFFSET;
  if (typeof d.value === 'string') for (let i = 0; i < d.value.length; i++) h = mix(h, d.value.charCodeAt(i));
  else for (const b of d.value) h = mix(h, b);
  return h;
}

/** What a simulated application holds: how many values it applied and their running digest. */
export class SimApp {
  position = 0;
  digest = FNV_OFFSET;

  apply(d: Delivery): void {
    this.digest = mix(mix(mix(this.digest, d.client), d.seq), valueHash(d));
    this.position++;
  }

  /** Position, digest, then `padding` bytes derived from the digest (so states span several chunks). */
  snapshot(padding: number): Uint8Array {
    const bytes = new Uint8Array(16 + padding);
    const view = new DataView(bytes.buffer);
    view.setFloat64(0, this.position);
    view.setFloat64(8, this.digest);
    for (let i = 0; i < padding; i++) bytes[16 + i] = (this.digest >>> ((i % 4) * 8)) ^ i;
    return bytes;
  }

  /** The application a snapshot describes, or undefined if the bytes are not one `snapshot` made. */
  static fromSnapshot(bytes: Uint8Array): SimApp | undefined {
    if (bytes.byteLength < 16) return undefined;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const app = new SimApp();
    app.position = view.getFloat64(0);
    app.digest = view.getFloat64(8);
    for (let i = 16; i < bytes.byteLength; i++) if (bytes[i] !== (((app.digest >>> (((i - 16) % 4) * 8)) ^ (i - 16)) & 0xff)) return undefined;
    return app;
  }
}

/** Per learner slot: the application running above it and the state it persisted. */
export interface AppSlot {
  app?: SimApp;
  /** The newest state the learner held, as its data directory has it: survives crashes. */
  stateBlob?: Uint8Array;
  /** The instance of the last point marked. */
  stateTakenAt?: number;
  /** States the application made at marked points and has not handed over yet (`lag`). */
  pendingStates?: { instance: number; bytes: Uint8Array }[];
}

/** The applications of a run, and the digest every application must have at each position. */
export class SimApps {
  private readonly digests = new Map<number, number>([[0, FNV_OFFSET]]);
  private readonly settings: NonNullable<Scenario['learnerState']>;
  /** Its own stream: which restarts lose the disk. */
  private readonly rng: Rng;

  constructor(private readonly checker: InvariantChecker, scenario: Scenario) {
    this.settings = scenario.learnerState!;
    this.rng = new Rng(scenario.seed ^ 0xd15c);
  }

  /**
   * A learner (re)starts: a fresh application; the learner reloads what its disk holds, unless
   * the disk is wiped, which it is only while another learner that will be back holds a state
   * (the trim point never passes any learner's state, so that one covers what was trimmed).
   */
  boot(slot: AppSlot, learner: Learner, peers: readonly (AppSlot & { permanent: boolean })[]): void {
    slot.app = new SimApp();
    slot.stateTakenAt = 0;
    slot.pendingStates = [];
    const covered = peers.some((p) => p !== slot && !p.permanent && p.stateBlob);
    if (slot.stateBlob && covered && this.rng.chance(this.settings.wipe)) slot.stateBlob = undefined;
    if (slot.stateBlob && !learner.loadState(slot.stateBlob)) throw new InvariantViolation('state', 'a persisted state did not load');
  }

  /** Apply a Ready's deliveries (and restore) in order, then snapshot every `every` instances. */
  onReady(name: string, slot: AppSlot, learner: Learner, ready: Ready): void {
    if (ready.gaps.length) throw new InvariantViolation('state', `${name} skipped ${JSON.stringify(ready.gaps[0])} instead of restoring a state`);
    const restored = ready.restored;
    for (const d of ready.deliveries) {
      if (restored && d.position >= restored.position && slot.app!.position < restored.position) this.restore(name, slot, restored);
      this.checker.deliver(name, d);
      this.apply(name, slot.app!, d);
    }
    if (restored && slot.app!.position < restored.position) this.restore(name, slot, restored);
    if (restored) slot.stateBlob = learner.heldState;
    if (learner.delivered - slot.stateTakenAt! < this.settings.every) return;
    const point = learner.markState()!;
    if (point.position !== slot.app!.position) throw new InvariantViolation('state', `${name} marked position ${point.position}, its application is at ${slot.app!.position}`);
    slot.stateTakenAt = point.instance;
    const pending = slot.pendingStates!;
    pending.push({ instance: point.instance, bytes: slot.app!.snapshot(this.settings.padding) });
    while (pending.length > (this.settings.lag ?? 0)) {
      const taken = pending.shift()!;
      if (learner.stateTaken(taken.instance, taken.bytes)) slot.stateBlob = learner.heldState;
    }
  }

  private apply(name: string, app: SimApp, d: Delivery): void {
    if (d.position !== app.position) throw new InvariantViolation('state', `${name} delivered position ${d.position} to an application at ${app.position}`);
    app.apply(d);
    this.agree(name, app);
  }

  private restore(name: string, slot: AppSlot, restored: RestoredState): void {
    const app = SimApp.fromSnapshot(restored.state);
    if (!app) throw new InvariantViolation('state', `${name} restored a corrupt state at position ${restored.position}`);
    if (app.position !== restored.position) {
      throw new InvariantViolation('state', `${name} restored a state of position ${app.position} as position ${restored.position}`);
    }
    this.checker.restore(name, restored.position);
    slot.app = app;
    this.agree(name, app);
  }

  private agree(name: string, app: SimApp): void {
    const known = this.digests.get(app.position);
    if (known === undefined) this.digests.set(app.position, app.digest);
    else if (known !== app.digest) throw new InvariantViolation('state', `${name}'s application differs from another one's at position ${app.position}`);
  }
}
