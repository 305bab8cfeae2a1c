/**
 * The classic harness's run, over `NetLab`: servers first, clients about a second later, every
 * process SIGTERMed a fixed time after the clients start, then the three checks. Scenarios vary
 * who starts, packet loss, faults injected while clients send, and the transport (the config
 * file it writes: multicast groups, or every member's unicast address).
 */
import { existsSync, readFileSync } from 'node:fs';
import type { Group } from '../../lib/protocol/messages.js';
import { CONFIG, type LabProcess, NetLab, countLines, unicastConfig, unicastMembers } from '../kit/netns.js';
import { seededRandom } from '../kit/random.js';
import { totalOrderProblems } from '../kit/total-order.js';
import { sleep } from '../kit/wait.js';

/** Values per client by default, and with PAXOS_NET_FULL=1 (the target load: 100,000 per client). */
export const FULL = process.env.PAXOS_NET_FULL === '1';
export const VALUES_PER_CLIENT = Number(process.env.PAXOS_NET_N ?? (FULL ? 100_000 : 2_000));
/** Values per client of the scenarios that never run at the full load (the default N, even with PAXOS_NET_FULL=1). */
export const BASE_VALUES_PER_CLIENT = Number(process.env.PAXOS_NET_N ?? 2_000);

/** What the `paxos` processes talk over: the config file says which. */
export type NetTransport = 'multicast' | 'unicast';

/**
 * The paxos.conf of a run: the lab's multicast groups, or a line per member (`counts` of each
 * role) at `addressOf(group, cliId)` (default: the namespace's loopback).
 */
export function configText(transport: NetTransport, counts: Readonly<Record<Group, number>>, addressOf?: (group: Group, cliId: number) => string): string {
  if (transport === 'multicast') return CONFIG;
  return unicastConfig(unicastMembers(counts, addressOf && ((group, id) => addressOf(group, id + 1))));
}
/** Time between the clients' start and the SIGTERM to everyone. */
export const RUN_MS = Number(process.env.PAXOS_NET_RUN_MS ?? 5_000);
/** Time between servers' start and clients' start. */
export const SERVER_LEAD_MS = 1_000;

export interface ClassicSpec {
  label: string;
  /** Default multicast. */
  transport?: NetTransport;
  /** Cluster shape every process is told (--acceptors / --proposers). */
  clusterAcceptors?: number;
  clusterProposers?: number;
  /** Ids started (1-based). Default: all of the cluster shape. */
  acceptorIds?: number[];
  proposerIds?: number[];
  learners?: number;
  clients?: number;
  valuesPerClient?: number;
  runMs?: number;
  /** Drop this fraction of incoming UDP datagrams in the namespace. */
  loss?: number;
  /**
   * 'single': everything in one namespace on loopback. 'bridged': acceptor i alone on host i,
   * proposer/learner/client j on host 3+j, hosts joined by veth pairs to a bridge namespace, each
   * process told its host's address with --interface (multicast), or listed at it in the config
   * file (unicast).
   */
  topology?: 'single' | 'bridged';
  /** Clients (1-based) whose values do not count as proposed (e.g. an intruder with a wrong secret). */
  ignoredClients?: number[];
  /** Extra flags per process name (e.g. a different secret for an intruder). */
  flagsFor?: (name: string) => string[];
  /** Extra CLI flags for every process. */
  flags?: string[];
  seed?: number;
  /** Faults while clients send; `t0` is when clients started. */
  during?: (ctx: RunContext) => Promise<void>;
  /** Every proposed value must be learned. */
  expectAll: boolean;
}

export interface RunContext {
  lab: NetLab;
  ns: string;
  acceptors: Map<number, LabProcess>;
  proposers: Map<number, LabProcess>;
  learners: LabProcess[];
  clients: LabProcess[];
  t0: number;
  totalValues: number;
  /** Lines for the test log (e.g. when a fault was injected). */
  notes: string[];
  /** Start (or restart) one process with the scenario's flags, e.g. an acceptor after a crash. */
  start: (role: string, id: number, name: string) => LabProcess;
}

export interface ClassicResult {
  problems: string[];
  learnedLines: number[];
  proposedTotal: number;
  /** ms after clients started when every learner had printed everything (undefined: never). */
  allLearnedAtMs?: number;
  udp: Record<string, number>;
  iptablesDropped?: number;
  dir: string;
  notes: string[];
}

export function args(role: string, id: number, config: string, spec: Pick<ClassicSpec, 'clusterAcceptors' | 'clusterProposers' | 'flags'>): string[] {
  // --debug: counters every second on stderr, kept with the outputs of a failed run.
  return [role, String(id), config, '--acceptors', String(spec.clusterAcceptors ?? 3), '--proposers', String(spec.clusterProposers ?? 2),
    '--debug', ...(spec.flags ?? [])];
}

/** Processes a scenario killed deliberately (their exit status is not checked). */
export const killedOnPurpose = new Set<LabProcess>();

/** SIGKILL one process on purpose, noting it. */
export function crash(ctx: RunContext, proc: LabProcess): void {
  killedOnPurpose.add(proc);
  ctx.lab.signal(proc, 'SIGKILL');
  ctx.notes.push(`${proc.name} SIGKILLed ${Date.now() - ctx.t0} ms after clients started, learner 1 at ${countLines(ctx.learners[0]!.stdoutPath)} lines`);
}

/** `n` random integers 0..32767 (like the classic harness's `$RANDOM`), one per line. */
export function randomValues(n: number, random: () => number): string[] {
  return Array.from({ length: n }, () => String(Math.floor(random() * 32768)));
}

/**
 * The classic harness's three checks over what learners printed, counting duplicates (the random
 * values repeat): learners agree line for line (a prefix when not everything is expected), every
 * learned value was proposed (once per submission), and, when `expectAll`, every proposed value
 * was learned once per submission. Returns the problems found (empty: all good).
 */
export function checkLines(proposed: readonly (readonly string[])[], learned: readonly (readonly string[])[], expectAll: boolean): string[] {
  return totalOrderProblems({ learned, submitted: proposed.flat(), complete: expectAll, firstLearnerId: 1 });
}

/** Problems with exit codes: anything not ended by our SIGTERM/SIGKILL with code 0. */
export function exitProblems(procs: readonly LabProcess[], killed: ReadonlySet<LabProcess> = new Set()): string[] {
  const problems: string[] = [];
  for (const p of procs) {
    if (killed.has(p)) continue;
    const s = p.exitStatus;
    if (!s) problems.push(`${p.name} still running`);
    else if (s.code !== 0) {
      const err = existsSync(p.stderrPath) ? readFileSync(p.stderrPath, 'utf8').trim().split('\n').slice(-3).join(' | ') : '';
      problems.push(`${p.name} exited with ${s.code ?? s.signal}${err ? `: ${err}` : ''}`);
    }
  }
  return problems;
}

export async function runClassic(lab: NetLab, spec: ClassicSpec): Promise<ClassicResult> {
  const clusterAcceptors = spec.clusterAcceptors ?? 3;
  const clusterProposers = spec.clusterProposers ?? 2;
  const acceptorIds = spec.acceptorIds ?? Array.from({ length: clusterAcceptors }, (_, i) => i + 1);
  const proposerIds = spec.proposerIds ?? Array.from({ length: clusterProposers }, (_, i) => i + 1);
  const nLearners = spec.learners ?? 2;
  const nClients = spec.clients ?? 2;
  const perClient = spec.valuesPerClient ?? VALUES_PER_CLIENT;
  const runMs = spec.runMs ?? RUN_MS;
  const random = seededRandom(spec.seed ?? 20_260_101);
  const notes: string[] = [];

  const transport = spec.transport ?? 'multicast';
  const counts = { acceptors: clusterAcceptors, proposers: clusterProposers, learners: nLearners, clients: nClients };
  let ns: string;
  const namespaces: string[] = [];
  // Where each process runs, and the flags that go with the place.
  let place: (role: string, id: number) => { ns: string; flags: string[] };
  let config: string;
  if (spec.topology === 'bridged') {
    const hostCount = Math.max(clusterAcceptors, 0) + Math.max(clusterProposers, nLearners, nClients);
    const hosts = lab.addBridgedHosts(hostCount);
    namespaces.push(...hosts.map((h) => h.ns));
    ns = hosts[0]!.ns;
    const hostOf = (role: string, id: number) => (role === 'acceptor' ? hosts[id - 1]! : hosts[clusterAcceptors + id - 1]!);
    place = (role, id) => ({ ns: hostOf(role, id).ns, flags: transport === 'multicast' ? ['--interface', hostOf(role, id).address] : [] });
    config = lab.file('paxos.conf', configText(transport, counts, (group, id) => hostOf(group.slice(0, -1), id).address));
  } else {
    ns = lab.addNamespace('a');
    namespaces.push(ns);
    place = () => ({ ns, flags: [] });
    config = lab.file('paxos.conf', configText(transport, counts));
  }
  if (spec.loss) for (const n of namespaces) lab.addInputLoss(n, spec.loss);
  const start = (role: string, id: number, name: string, input?: string): LabProcess => {
    const where = place(role, id);
    const argv = [...args(role, id, config, { ...spec, clusterAcceptors, clusterProposers }), ...where.flags, ...(spec.flagsFor?.(name) ?? [])];
    return lab.spawnPaxos(where.ns, name, argv, input);
  };

  const acceptors = new Map<number, LabProcess>();
  const proposers = new Map<number, LabProcess>();
  for (const id of acceptorIds) acceptors.set(id, start('acceptor', id, `acceptor${id}`));
  const learners: LabProcess[] = [];
  for (let i = 1; i <= nLearners; i++) learners.push(start('learner', i, `learner${i}`));
  for (const id of proposerIds) proposers.set(id, start('proposer', id, `proposer${id}`));
  await sleep(SERVER_LEAD_MS);

  const proposed: string[][] = [];
  const clients: LabProcess[] = [];
  for (let i = 1; i <= nClients; i++) {
    const values = randomValues(perClient, random);
    proposed.push(values);
    const input = lab.file(`prop${i}`, values.join('\n') + '\n');
    clients.push(start('client', i, `client${i}`, input));
  }
  const t0 = Date.now();
  const totalValues = perClient * (nClients - (spec.ignoredClients?.length ?? 0));
  const ctx: RunContext = { lab, ns, acceptors, proposers, learners, clients, t0, totalValues, notes, start };

  let allLearnedAtMs: number | undefined;
  const watch = (async () => {
    while (Date.now() - t0 < runMs) {
      if (allLearnedAtMs === undefined && learners.every((l) => countLines(l.stdoutPath) >= totalValues)) {
        allLearnedAtMs = Date.now() - t0;
      }
      await sleep(50);
    }
  })();
  const during = spec.during ? spec.during(ctx) : Promise.resolve();
  await sleep(runMs);
  await lab.stopAll(3000);
  await Promise.all([watch, during]);

  const udp: Record<string, number> = {};
  for (const n of namespaces) for (const [k, v] of Object.entries(lab.udpStats(n))) udp[k] = (udp[k] ?? 0) + v;
  const iptablesDropped = spec.loss ? namespaces.reduce((sum, n) => sum + lab.droppedPackets(n), 0) : undefined;
  const learned = learners.map((l) => lab.readLines(l.stdoutPath));
  const problems: string[] = [];
  learned.forEach((l, i) => {
    if (l.partial) problems.push(`learner ${i + 1} output ends with a partial line "${l.partial}"`);
  });
  const counted = proposed.filter((_v, i) => !(spec.ignoredClients ?? []).includes(i + 1));
  problems.push(...checkLines(counted, learned.map((l) => l.lines), spec.expectAll));
  problems.push(...exitProblems(lab.processes, killedOnPurpose));
  if (allLearnedAtMs === undefined && learners.every((l) => countLines(l.stdoutPath) >= totalValues)) allLearnedAtMs = runMs;
  return {
    problems, learnedLines: learned.map((l) => l.lines.length), proposedTotal: totalValues, allLearnedAtMs, udp, iptablesDropped,
    dir: lab.dir, notes,
  };
}

/** One line for the test log. */
export function describeResult(r: ClassicResult): string {
  const parts = [
    `learned ${r.learnedLines.join('/')} of ${r.proposedTotal}`,
    r.allLearnedAtMs !== undefined ? `all learned ${r.allLearnedAtMs} ms after clients started` : 'not all learned',
    `udp in ${r.udp.InDatagrams ?? '?'} rcvbuf-errors ${r.udp.RcvbufErrors ?? '?'}`,
  ];
  if (r.iptablesDropped !== undefined) parts.push(`iptables dropped ${r.iptablesDropped}`);
  parts.push(...r.notes);
  return parts.join('; ');
}
