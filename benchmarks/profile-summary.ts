/**
 * Where the CPU went, from the `.cpuprofile` files of `node --cpu-prof` (one per thread): busy
 * time by category (protocol core, bus, runtime, Node messaging, GC, ...) and the hottest
 * functions by self time, summed over every file given. Idle time is left out.
 *
 *   node --cpu-prof --cpu-prof-dir=prof dist/benchmarks/profile-one.js 256 6
 *   node dist/benchmarks/profile-summary.js prof/*.cpuprofile [--top 30]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }
interface Profile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }

function category(url: string, fn: string): string {
  if (fn === '(garbage collector)') return 'GC';
  if (fn === '(program)') return 'V8/native (message ports, (de)serialization, natives)';
  if (url.includes('/lib/protocol/')) return 'protocol core (lib/protocol)';
  if (url.includes('/lib/transport/')) return 'bus transport (lib/transport)';
  if (url.includes('/lib/runtime/')) return 'runtime (lib/runtime)';
  if (url.includes('/lib/cluster')) return 'cluster main-thread API (lib/cluster*)';
  if (url.includes('/benchmarks/')) return 'benchmark driver';
  if (url.includes('node_modules')) return 'dependencies';
  if (fn === 'postMessage' || url.includes('worker/io') || url.includes('messageport') || url.includes('event_target')) {
    return 'Node worker messaging (postMessage, MessageEvent dispatch)';
  }
  return 'other Node internals (timers, promises, module loading)';
}

const args = process.argv.slice(2);
const topAt = args.indexOf('--top');
const top = topAt >= 0 ? Number(args.splice(topAt, 2)[1]) : 30;
const self = new Map<string, number>();
const categories = new Map<string, number>();
let busy = 0;
for (const file of args) {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  p.samples.forEach((id, i) => {
    const cf = byId.get(id)!.callFrame;
    if (cf.functionName === '(idle)') return;
    const t = p.timeDeltas[i] ?? 0;
    busy += t;
    const key = `${cf.functionName || '(anonymous)'} ${cf.url.split('/').slice(-2).join('/')}:${cf.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + t);
    const c = category(cf.url, cf.functionName);
    categories.set(c, (categories.get(c) ?? 0) + t);
  });
}
const pct = (t: number) => `${((100 * t) / Math.max(busy, 1)).toFixed(1).padStart(5)} %`;
console.log(`busy ${(busy / 1000).toFixed(0)} ms over ${args.length} threads`);
for (const [c, t] of [...categories].sort((a, b) => b[1] - a[1])) console.log(`${pct(t)}  ${c}`);
console.log('');
for (const [k, t] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(t)}  ${(t / 1000).toFixed(0).padStart(6)} ms  ${k}`);
