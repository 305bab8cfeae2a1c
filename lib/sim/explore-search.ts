/**
 * The bounded search over a world's actions: depth-first (little memory) or breadth-first
 * (shortest paths first), each distinct state expanded once per depth left (a state reached
 * again with no more depth left is not expanded again), stopping at the state, violation and
 * time bounds, with the statistics the explorer reports.
 */
import { type ExploreOptions, type WarmupPredicate, resolveExploreOptions } from './explore-options.js';
import { replay } from './explore-replay.js';
import { InvariantViolation } from './invariants.js';
import { type Action, World } from './world.js';

export interface ViolationReport {
  invariant: string;
  message: string;
  /** Actions after the warm-up. */
  path: Action[];
  /** Readable history: warm-up summary, then every action with what it delivered at once. */
  history: string[];
}

export interface ExploreResult {
  states: number;
  transitions: number;
  violations: number;
  depthReached: number;
  elapsedMs: number;
  /** Why the search stopped early, if it did. */
  stoppedBy?: 'max-states' | 'time-limit' | 'max-violations';
  warmupSteps: number;
  /** Most values delivered in any state, and states in which an acceptor had trimmed. */
  maxDelivered: number;
  trimmedStates: number;
  /** States in which some proposer's log had crossed the membership change's stop-sign. */
  reconfiguredStates: number;
  reports: ViolationReport[];
}

/** How often (in transitions) the wall clock is read; reading it every time would cost. */
const TIME_CHECK_MASK = 255;
const PROGRESS_CHECK_MASK = 4095;
const PROGRESS_EVERY_MS = 5000;

export function explore(partial: Partial<ExploreOptions> = {}): ExploreResult {
  const config = resolveExploreOptions(partial);
  const started = Date.now();
  const root = World.initial(config);
  const warmup = warmUp(root, config);
  const search = new Search(config, started, root);
  if (config.search === 'dfs') search.depthFirst(root);
  else search.breadthFirst(root);
  for (const r of search.reports) r.history = replay(config, warmup, r.path);
  return {
    states: search.seen.size, transitions: search.transitions, violations: search.violations, depthReached: search.depthReached,
    elapsedMs: Date.now() - started,
    ...(search.stoppedBy ? { stoppedBy: search.stoppedBy } : {}),
    warmupSteps: warmup.length, maxDelivered: search.maxDelivered, trimmedStates: search.trimmedStates, reconfiguredStates: search.reconfiguredStates, reports: search.reports,
  };
}

/** Runs the fault-free prefix the config asks for on `root`; returns its actions. */
function warmUp(root: World, config: ExploreOptions): Action[] {
  const warmup: Action[] = [];
  const predicate: WarmupPredicate | undefined =
    config.warmup === 'none' ? undefined : config.warmup === 'leader' ? (w) => w.settledWithLeader : config.warmup;
  if (!predicate) return warmup;
  while (!predicate(root)) {
    if (warmup.length >= config.warmupMaxSteps) throw new Error(`warm-up did not reach its predicate in ${config.warmupMaxSteps} steps`);
    warmup.push(root.warmupStep());
  }
  return warmup;
}

/**
 * What an action costs against the depth bound. Counting choices, the default schedule is free:
 * delivering the oldest message, submitting, advancing the clock (bounded on their own).
 */
function costOf(a: Action, oldest: string | undefined, choices: boolean): number {
  if (!choices) return 1;
  if (a.kind === 'deliver') return a.key === oldest ? 0 : 1;
  return a.kind === 'submit' || a.kind === 'barrier' || a.kind === 'reconfigure' || a.kind === 'advance' ? 0 : 1;
}

class Search {
  /** State hash -> most depth left with which it was expanded. */
  readonly seen = new Map<string, number>();
  readonly reports: ViolationReport[] = [];
  transitions = 0;
  violations = 0;
  depthReached = 0;
  maxDelivered: number;
  trimmedStates = 0;
  reconfiguredStates = 0;
  stoppedBy: ExploreResult['stoppedBy'];
  private lastProgress: number;
  private readonly choices: boolean;

  constructor(private readonly config: ExploreOptions, private readonly started: number, root: World) {
    this.maxDelivered = root.delivered;
    this.lastProgress = started;
    this.choices = config.depthCounts === 'choices';
  }

  depthFirst(root: World): void {
    if (this.visit(root, this.config.depth)) this.descend(root, this.config.depth, []);
  }

  breadthFirst(root: World): void {
    interface Frontier { world: World; path: Action[] }
    const { depth } = this.config;
    let level: Frontier[] = this.visit(root, depth) ? [{ world: root, path: [] }] : [];
    for (let d = 0; d < depth && level.length && !this.stop(); d++) {
      const next: Frontier[] = [];
      for (const f of level) {
        for (const a of f.world.actions()) {
          if (this.stop()) break;
          const path = [...f.path, a];
          const w = this.step(f.world, a, () => path);
          if (w && this.visit(w, depth - d - 1)) next.push({ world: w, path });
        }
      }
      if (next.length || level.length) this.depthReached = d + 1;
      level = next;
    }
  }

  /** Every action from `w` that fits in `left`, depth first; `path` leads to `w` (and is restored). */
  private descend(w: World, left: number, path: Action[]): void {
    this.depthReached = Math.max(this.depthReached, path.length);
    if (path.length >= (this.choices ? this.config.maxPathLength : Infinity)) return;
    const oldest = w.packets[0]?.key;
    for (const a of w.actions()) {
      if (this.stop()) return;
      const cost = costOf(a, oldest, this.choices);
      if (cost > left) continue;
      path.push(a);
      const next = this.step(w, a, () => path.slice());
      if (next && this.visit(next, left - cost, cost === 0)) this.descend(next, left - cost, path);
      else this.depthReached = Math.max(this.depthReached, path.length);
      path.pop();
    }
  }

  /** Visit a state reached with `left` depth to go; returns false if it need not be expanded. */
  private visit(w: World, left: number, expandAtZero = false): boolean {
    const h = w.hash();
    const before = this.seen.get(h);
    if (before !== undefined && before >= left) return false;
    if (before === undefined) {
      if (w.delivered > this.maxDelivered) this.maxDelivered = w.delivered;
      if (w.anyTrimmed) this.trimmedStates++;
      if (w.anyReconfigured) this.reconfiguredStates++;
    }
    this.seen.set(h, left);
    return left > 0 || expandAtZero || this.choices;
  }

  /** `a` applied to a clone of `w`; undefined if it violated an invariant (recorded once per state). */
  private step(w: World, a: Action, pathOf: () => Action[]): World | undefined {
    this.transitions++;
    const next = w.clone();
    try {
      next.apply(a);
    } catch (err) {
      if (!(err instanceof InvariantViolation)) throw err;
      const h = next.hash();
      if (!this.seen.has(h)) {
        this.seen.set(h, 0);
        this.record(err, pathOf());
      }
      return undefined;
    }
    return next;
  }

  /** Counts a violation and keeps its path if it is among the shortest `keepPaths`. */
  private record(err: InvariantViolation, path: Action[]): void {
    this.violations++;
    const reports = this.reports;
    if (reports.length >= this.config.keepPaths && path.length >= reports[reports.length - 1]!.path.length) return;
    reports.push({ invariant: err.invariant, message: err.message, path, history: [] });
    reports.sort((a, b) => a.path.length - b.path.length);
    if (reports.length > this.config.keepPaths) reports.pop();
  }

  private stop(): boolean {
    if (this.stoppedBy) return true;
    const config = this.config;
    if (this.seen.size >= config.maxStates) this.stoppedBy = 'max-states';
    else if (this.violations >= config.maxViolations) this.stoppedBy = 'max-violations';
    else if ((this.transitions & TIME_CHECK_MASK) === 0 && Date.now() - this.started > config.timeLimitMs) this.stoppedBy = 'time-limit';
    if (config.progress && (this.transitions & PROGRESS_CHECK_MASK) === 0 && Date.now() - this.lastProgress > PROGRESS_EVERY_MS) {
      this.lastProgress = Date.now();
      config.progress(`  ... ${this.seen.size} states, ${this.violations} violations, ${((Date.now() - this.started) / 1000).toFixed(0)} s`);
    }
    return this.stoppedBy !== undefined;
  }
}
