/**
 * Multicast and unicast modes of `npm run bench`: the cluster over a UDP transport (multicast,
 * or unicast with one address per member), run as a child process inside a private network
 * namespace this module creates and always deletes again.
 *
 * NETWORK SAFETY: nothing here ever sends multicast in the machine's own namespace. The namespace
 * has only its loopback, with multicast on and 224.0.0.0/4 routed to it; the child runs under
 * `ip netns exec`. The namespace is deleted in `finally`, on process exit and on SIGINT/SIGTERM.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface MulticastResult {
  valuesPerSec: number[];
  datagrams: number;
}

const CHILD = fileURLToPath(new URL('./multicast-child.js', import.meta.url));
const TRANSPORT = fileURLToPath(new URL('../lib/transport/udp-multicast.js', import.meta.url));
const CLI = fileURLToPath(new URL('../lib/cli/paxos.js', import.meta.url));

const created = new Set<string>();

function deleteNamespace(ns: string): void {
  try {
    execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  } catch {
    // already gone
  }
  created.delete(ns);
}

let hooked = false;
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const ns of [...created]) deleteNamespace(ns);
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      for (const ns of [...created]) deleteNamespace(ns);
      process.exit(130);
    });
  }
}

/** Why multicast mode cannot run here, or undefined when it can. */
export function multicastSkipReason(): string | undefined {
  if (process.platform !== 'linux') return 'needs Linux network namespaces';
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'needs root to create a private network namespace (ip netns)';
  try {
    execFileSync('sh', ['-c', 'command -v ip'], { stdio: 'ignore' });
  } catch {
    return 'needs the `ip` command (iproute2)';
  }
  if (!existsSync(TRANSPORT)) return 'the UDP multicast transport (lib/transport/udp-multicast.ts) is not built';
  if (!existsSync(CLI)) return 'the CLI (lib/cli/paxos.ts) is not built';
  return undefined;
}

/** The UDP transport a run measures. */
export type UdpMode = 'multicast' | 'unicast';

/** Run the child in a fresh namespace; the namespace is gone when this settles. */
export async function runMulticast(valueBytes: number, reps: number, seconds: number, warm: number, timeoutMs: number,
  mode: UdpMode = 'multicast'): Promise<MulticastResult> {
  hookExit();
  const ns = `pxbench${process.pid}-${mode}`;
  deleteNamespace(ns); // a leftover of an earlier run of this very pid cannot exist, but be sure
  try {
    execFileSync('ip', ['netns', 'add', ns], { stdio: 'pipe' });
    created.add(ns);
    const inNs = (...args: string[]) => execFileSync('ip', ['netns', 'exec', ns, 'ip', ...args], { stdio: 'pipe' });
    inNs('link', 'set', 'lo', 'up');
    inNs('link', 'set', 'lo', 'multicast', 'on');
    inNs('route', 'add', '224.0.0.0/4', 'dev', 'lo');
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile('ip', ['netns', 'exec', ns, process.execPath, CHILD, String(valueBytes), String(reps), String(seconds), String(warm), mode],
        { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 16 << 20 }, (err, out, errOut) => {
          if (err) reject(new Error(`${err.message.split('\n')[0]}\n${errOut.split('\n').slice(-8).join('\n')}`));
          else resolve(out);
        });
    });
    const line = stdout.trim().split('\n').pop() ?? '';
    return JSON.parse(line) as MulticastResult;
  } finally {
    deleteNamespace(ns);
  }
}
