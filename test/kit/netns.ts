/**
 * A small lab for end-to-end tests over UDP multicast, built on Linux network namespaces: the
 * `paxos` processes of test/cli/ and the in-process cluster over UDP of test/transport/.
 *
 * NETWORK SAFETY: multicast never leaves namespaces this lab creates. Every process runs under
 * `ip netns exec <ns>` in a private namespace whose only route for 224.0.0.0/4 is its own
 * loopback (or a veth to a private bridge namespace). The lab kills only the processes it started
 * (by PID: SIGTERM, then SIGKILL after a grace period) and deletes every namespace it created,
 * also when a test fails or the test process exits or is interrupted.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Group } from '../../lib/protocol/messages.js';
import type { UdpMulticastSettings } from '../../lib/transport/udp-multicast.js';
import type { MemberAddress, UdpUnicastSettings } from '../../lib/transport/udp-unicast.js';
import { type TempDir, tempDir } from './temp-dir.js';

const here = dirname(fileURLToPath(import.meta.url));
/** dist/lib/cli/paxos.js, from dist/test/kit/. */
export const CLI_PATH = resolve(here, '../../lib/cli/paxos.js');

/** The multicast groups of the processes a lab runs (private to its namespaces: any will do). */
export const GROUPS: UdpMulticastSettings['groups'] = {
  clients: { address: '239.0.0.1', port: 5000 },
  proposers: { address: '239.0.0.1', port: 6000 },
  acceptors: { address: '239.0.0.1', port: 7000 },
  learners: { address: '239.0.0.1', port: 8000 },
};

/** `GROUPS` as a paxos.conf, for `paxos` processes. */
export const CONFIG = [
  '# multicast groups, private to the test namespace',
  ...Object.entries(GROUPS).map(([role, { address, port }]) => `${role} ${address} ${port}`),
  '',
].join('\n');

/** Port of member `id` (API id, from 0) of each role in `unicastMembers`: 5001.. clients, 6001.. proposers, ... */
const UNICAST_BASE_PORT: Readonly<Record<Group, number>> = { clients: 5001, proposers: 6001, acceptors: 7001, learners: 8001 };

/**
 * Every member's unicast address for members counted by role, API-indexed: on `addressOf(group, id)`
 * (default 127.0.0.1, everything on the namespace's loopback), each at a port of its own.
 */
export function unicastMembers(counts: Readonly<Record<Group, number>>, addressOf: (group: Group, id: number) => string = () => '127.0.0.1'):
UdpUnicastSettings['members'] {
  const list = (g: Group): MemberAddress[] =>
    Array.from({ length: counts[g] }, (_, id) => ({ address: addressOf(g, id), port: UNICAST_BASE_PORT[g] + id }));
  return { clients: list('clients'), proposers: list('proposers'), acceptors: list('acceptors'), learners: list('learners') };
}

/** `members` as a unicast paxos.conf: `<role> <id> <ip> <port>`, ids counted from 1 as on the command line. */
export function unicastConfig(members: UdpUnicastSettings['members']): string {
  const lines = Object.entries(members).flatMap(([role, list]) =>
    list.map((a, id) => (a ? `${role.slice(0, -1)} ${id + 1} ${a.address} ${a.port}` : '')).filter(Boolean));
  return ['# unicast members, private to the test namespaces', ...lines, ''].join('\n');
}

const PREFIX = 'pxt';

function which(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

let cachedSkip: string | undefined | null = null;

/** Why namespace tests cannot run here, or undefined when they can. */
export function netnsSkipReason(): string | undefined {
  if (cachedSkip !== null) return cachedSkip;
  if (process.platform !== 'linux') cachedSkip = 'network namespace tests need Linux';
  else if (typeof process.getuid !== 'function' || process.getuid() !== 0) cachedSkip = 'network namespace tests need root (ip netns); skipped';
  else if (!which('ip')) cachedSkip = 'network namespace tests need the `ip` command (iproute2); skipped';
  else if (!existsSync(CLI_PATH)) cachedSkip = `${CLI_PATH} missing: build first`;
  else {
    // Probe: can we really create a namespace?
    const probe = `${PREFIX}${process.pid}-probe`;
    try {
      execFileSync('ip', ['netns', 'add', probe], { stdio: 'pipe' });
      cachedSkip = undefined;
    } catch (err) {
      cachedSkip = `cannot create a network namespace (${String((err as Error).message).split('\n')[0]}); skipped`;
    } finally {
      try {
        execFileSync('ip', ['netns', 'del', probe], { stdio: 'ignore' });
      } catch {
        // was never created
      }
    }
  }
  return cachedSkip;
}

/** Whether packet loss can be injected with iptables' statistic match. */
export function iptablesAvailable(): boolean {
  return which('iptables');
}

function ip(args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function inNs(ns: string, cmd: string, args: string[]): string {
  return execFileSync('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
}

/** Remove namespaces left by earlier test processes that died without cleaning up. */
function removeStaleNamespaces(): void {
  let list = '';
  try {
    list = execFileSync('ip', ['netns', 'list'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString();
  } catch {
    return;
  }
  for (const line of list.split('\n')) {
    const name = line.split(/\s+/)[0] ?? '';
    const m = /^pxt(\d+)-/.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    let alive = true;
    try {
      process.kill(pid, 0);
    } catch {
      alive = false;
    }
    if (!alive) {
      try {
        ip(['netns', 'del', name]);
      } catch {
        // raced with someone else
      }
    }
  }
}

export interface LabProcess {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  readonly stdoutPath: string;
  readonly stderrPath: string;
  /** Resolves when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exitStatus?: { code: number | null; signal: NodeJS.Signals | null };
}

const liveLabs = new Set<NetLab>();
let hooksInstalled = false;

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', () => {
    for (const lab of liveLabs) lab.cleanupSync();
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      for (const lab of liveLabs) lab.cleanupSync();
      process.exit(130);
    });
  }
}

let labCounter = 0;

export class NetLab {
  readonly tag: string;
  readonly dir: string;
  private readonly files: TempDir;
  private readonly namespaces: string[] = [];
  readonly processes: LabProcess[] = [];
  private cleaned = false;

  constructor(label = 'lab') {
    installExitHooks();
    removeStaleNamespaces();
    this.tag = `${PREFIX}${process.pid}-${++labCounter}`;
    this.files = tempDir(`paxos-${label}-`);
    this.dir = this.files.path;
    liveLabs.add(this);
  }

  /** A private namespace with loopback up, multicast on, and 224.0.0.0/4 routed to loopback. */
  addNamespace(suffix: string): string {
    const ns = `${this.tag}-${suffix}`;
    ip(['netns', 'add', ns]);
    this.namespaces.push(ns);
    ip(['-n', ns, 'link', 'set', 'lo', 'up']);
    ip(['-n', ns, 'link', 'set', 'lo', 'multicast', 'on']);
    ip(['-n', ns, 'route', 'add', '224.0.0.0/4', 'dev', 'lo']);
    return ns;
  }

  /**
   * `count` host namespaces joined by veth pairs to a bridge that lives in its own namespace.
   * Host i gets 10.199.0.(i+1)/24 on its veth, which carries its multicast route. Returns the
   * host namespaces and their addresses.
   */
  addBridgedHosts(count: number): { ns: string; address: string }[] {
    const bridgeNs = `${this.tag}-br`;
    ip(['netns', 'add', bridgeNs]);
    this.namespaces.push(bridgeNs);
    ip(['-n', bridgeNs, 'link', 'set', 'lo', 'up']);
    ip(['-n', bridgeNs, 'link', 'add', 'br0', 'type', 'bridge', 'mcast_snooping', '0']);
    ip(['-n', bridgeNs, 'link', 'set', 'br0', 'up']);
    const hosts: { ns: string; address: string }[] = [];
    for (let i = 0; i < count; i++) {
      const ns = `${this.tag}-h${i + 1}`;
      ip(['netns', 'add', ns]);
      this.namespaces.push(ns);
      const address = `10.199.0.${i + 1}`;
      // Create the pair inside the host namespace, then move the bridge end over.
      ip(['-n', ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', `port${i + 1}`]);
      ip(['-n', ns, 'link', 'set', `port${i + 1}`, 'netns', bridgeNs]);
      ip(['-n', bridgeNs, 'link', 'set', `port${i + 1}`, 'master', 'br0']);
      ip(['-n', bridgeNs, 'link', 'set', `port${i + 1}`, 'up']);
      ip(['-n', ns, 'link', 'set', 'lo', 'up']);
      ip(['-n', ns, 'addr', 'add', `${address}/24`, 'dev', 'eth0']);
      ip(['-n', ns, 'link', 'set', 'eth0', 'multicast', 'on']);
      ip(['-n', ns, 'link', 'set', 'eth0', 'up']);
      ip(['-n', ns, 'route', 'add', '224.0.0.0/4', 'dev', 'eth0']);
      hosts.push({ ns, address });
    }
    return hosts;
  }

  /** Drop each incoming UDP datagram in `ns` with probability `p` (iptables statistic match). */
  addInputLoss(ns: string, p: number): void {
    inNs(ns, 'iptables', ['-A', 'INPUT', '-p', 'udp', '-m', 'statistic', '--mode', 'random', '--probability', String(p), '-j', 'DROP']);
  }

  /** Packets iptables dropped in `ns` (INPUT chain DROP rules). */
  droppedPackets(ns: string): number {
    const out = inNs(ns, 'iptables', ['-L', 'INPUT', '-v', '-n', '-x']);
    let total = 0;
    for (const line of out.split('\n')) {
      const f = line.trim().split(/\s+/);
      if (f[2] === 'DROP') total += Number(f[0]);
    }
    return total;
  }

  /** UDP counters of a namespace (from /proc/net/snmp): InDatagrams, RcvbufErrors, ... */
  udpStats(ns: string): Record<string, number> {
    const lines = inNs(ns, 'cat', ['/proc/net/snmp']).split('\n').filter((l) => l.startsWith('Udp:'));
    if (lines.length < 2) return {};
    const keys = lines[0]!.split(/\s+/).slice(1);
    const values = lines[1]!.split(/\s+/).slice(1).map(Number);
    return Object.fromEntries(keys.map((k, i) => [k, values[i]!]));
  }

  /** Write a file in the lab directory and return its path. */
  file(name: string, content = ''): string {
    const path = join(this.dir, name);
    writeFileSync(path, content);
    return path;
  }

  path(name: string): string {
    return join(this.dir, name);
  }

  /** Start `paxos <args>` in `ns`, stdout and stderr to files in the lab directory. */
  spawnPaxos(ns: string, name: string, args: readonly string[], stdinPath?: string): LabProcess {
    return this.spawnNode(ns, name, CLI_PATH, args, stdinPath);
  }

  /** Start `node <script> <args>` in `ns`, stdout and stderr to `<name>.out` and `<name>.err` in the lab directory. */
  spawnNode(ns: string, name: string, script: string, args: readonly string[], stdinPath?: string): LabProcess {
    const stdoutPath = this.path(`${name}.out`);
    const stderrPath = this.path(`${name}.err`);
    const out = openSync(stdoutPath, 'w');
    const err = openSync(stderrPath, 'w');
    const input = stdinPath ? openSync(stdinPath, 'r') : 'ignore';
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, script, ...args], {
      stdio: [input, out, err],
      detached: false,
    });
    closeSync(out);
    closeSync(err);
    if (typeof input === 'number') closeSync(input);
    if (child.pid === undefined) throw new Error(`could not start ${name}`);
    let proc!: LabProcess;
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) => {
      child.once('exit', (code, signal) => {
        proc.exitStatus = { code, signal };
        resolveExit({ code, signal });
      });
    });
    proc = { name, pid: child.pid, child, stdoutPath, stderrPath, exited };
    this.processes.push(proc);
    return proc;
  }

  /** Run `node script args` in `ns` to completion; resolves with its stdout, rejects with its stderr. */
  runNode(ns: string, script: string, args: readonly string[], timeoutMs: number): Promise<string> {
    return new Promise((resolveRun, reject) => {
      execFile('ip', ['netns', 'exec', ns, process.execPath, script, ...args], { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 16 << 20 },
        (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolveRun(stdout)));
    });
  }

  isRunning(proc: LabProcess): boolean {
    return proc.exitStatus === undefined;
  }

  /** Signal one of our processes by PID, if it still runs. */
  signal(proc: LabProcess, signal: NodeJS.Signals): void {
    if (!this.isRunning(proc)) return;
    try {
      process.kill(proc.pid, signal);
    } catch {
      // already gone
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it has exited. */
  async stop(proc: LabProcess, graceMs = 3000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    this.signal(proc, 'SIGTERM');
    const timer = setTimeout(() => this.signal(proc, 'SIGKILL'), graceMs);
    try {
      return await proc.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGTERM every process still running at once (like the classic harness), then wait. */
  async stopAll(graceMs = 3000): Promise<void> {
    await Promise.all(this.processes.map((p) => this.stop(p, graceMs)));
  }

  /** Stop everything and delete the namespaces (and keep the files unless `removeFiles`). */
  async cleanup(removeFiles = false): Promise<void> {
    if (this.cleaned) return;
    await this.stopAll(2000);
    this.cleanupSync();
    if (removeFiles) this.files.remove();
  }

  /** Synchronous last-resort cleanup: SIGKILL our processes, delete our namespaces. */
  cleanupSync(): void {
    if (this.cleaned) return;
    this.cleaned = true;
    for (const p of this.processes) this.signal(p, 'SIGKILL');
    for (const ns of [...this.namespaces].reverse()) {
      try {
        ip(['netns', 'del', ns]);
      } catch {
        // already gone
      }
    }
    liveLabs.delete(this);
  }

  readLines(path: string): { lines: string[]; partial: string } {
    const text = existsSync(path) ? readFileSync(path, 'utf8') : '';
    const lines = text.split('\n');
    const partial = lines.pop() ?? '';
    return { lines, partial };
  }
}

const lineCounts = new Map<string, { offset: number; lines: number }>();
const chunk = Buffer.allocUnsafe(1 << 20);

/**
 * Count the complete lines of a growing file so far. Incremental (reads only the bytes added
 * since the last call), so polling it often does not steal CPU from the processes under test.
 */
export function countLines(path: string): number {
  let state = lineCounts.get(path);
  if (!state) lineCounts.set(path, (state = { offset: 0, lines: 0 }));
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return state.lines;
  }
  try {
    for (;;) {
      const n = readSync(fd, chunk, 0, chunk.length, state.offset);
      if (n <= 0) break;
      state.offset += n;
      for (let i = chunk.indexOf(10); i !== -1 && i < n; i = chunk.indexOf(10, i + 1)) state.lines++;
    }
  } finally {
    closeSync(fd);
  }
  return state.lines;
}

/**
 * Mocha hooks for a suite whose tests each run one lab: the suite skips (with the reason) where
 * namespaces cannot be made, and each test's lab is cleaned up after it, its files kept if it
 * failed. Returns the function that opens the current test's lab.
 */
export function labPerTest(): (label: string) => NetLab {
  const reason = netnsSkipReason();
  let lab: NetLab | undefined;
  before(function () {
    if (reason) {
      console.log(`      skipping: ${reason}`);
      this.skip();
    }
  });
  afterEach(async function () {
    const l = lab;
    lab = undefined;
    await l?.cleanup(this.currentTest?.state === 'passed');
  });
  return (label) => (lab = new NetLab(label));
}
