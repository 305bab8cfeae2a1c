#!/usr/bin/env node
/**
 * `npm run explore -- [flags]`: bounded exhaustive exploration of a tiny cluster (see explore.ts).
 * Ends with the line `explored N states, M violations`; exits 1 if any violation was found.
 */
import type { Group, MessageType } from '../protocol/messages.js';
import { type ExploreOptions, DEFAULT_EXPLORE_OPTIONS, explore } from './explore.js';

const USAGE = `usage: npm run explore -- [flags]
  --depth N             most actions after the warm-up (default ${DEFAULT_EXPLORE_OPTIONS.depth})
  --choices             depth counts only departures from oldest-first delivery; paths run to quiescence
  --max-path N          longest path with --choices (default 300)
  --max-states N        stop after N distinct states (default ${DEFAULT_EXPLORE_OPTIONS.maxStates})
  --time-limit S        stop after S seconds of wall time
  --proposers N --acceptors N --learners N --clients N --values N --barriers N
  --reconfigure         one membership change, asked at any point: the highest acceptor replaced
                        by a spare (adds one acceptor slot)
  --reorder N           deliveries out of send order allowed per path (default: unlimited, every order)
  --loss N --dup N --crash N   fault budgets over a whole path (default 1 each)
  --crash-groups G,G    groups a crash may hit (default acceptors,proposers)
  --batch-max-bytes N   (default ${DEFAULT_EXPLORE_OPTIONS.batchMaxBytes}: every accepted entry its own promise chunk)
  --batch-max-values N  (default ${DEFAULT_EXPLORE_OPTIONS.batchMaxValues})
  --no-trim             keep every instance (default: trim, keeping 1 instance)
  --max-ticks N         most clock advances (default ${DEFAULT_EXPLORE_OPTIONS.maxTicks}); --step-ms N per advance
  --tick-policy P       always | quiescent (advance only with nothing in flight)
  --eager T,T|none      message types delivered at once, never lost (default heartbeat,alive,progress)
  --self-delay          a proposer's messages to itself travel like any other (default: at once)
  --warmup W            leader | none (default leader: fault-free FIFO prefix until a proposer leads)
  --search S            dfs | bfs (default dfs)
  --max-violations N    stop after N violations
  --paths N             violation histories printed (default ${DEFAULT_EXPLORE_OPTIONS.keepPaths})`;

function parse(argv: string[]): Partial<ExploreOptions> {
  const o: Partial<ExploreOptions> = {};
  const ints: Record<string, keyof ExploreOptions> = {
    '--depth': 'depth', '--max-states': 'maxStates', '--proposers': 'proposers', '--acceptors': 'acceptors',
    '--learners': 'learners', '--clients': 'clients', '--values': 'values', '--barriers': 'barriers', '--loss': 'loss', '--dup': 'dup',
    '--crash': 'crash', '--batch-max-bytes': 'batchMaxBytes', '--batch-max-values': 'batchMaxValues',
    '--max-ticks': 'maxTicks', '--max-path': 'maxPathLength', '--step-ms': 'stepMs', '--paths': 'keepPaths', '--max-violations': 'maxViolations',
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    if (flag in ints) {
      const n = Number(value());
      if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${flag} must be a non-negative integer`);
      (o as Record<string, unknown>)[ints[flag]!] = n;
    } else if (flag === '--reorder') { const v = value(); o.reorder = v === 'inf' ? Infinity : Number(v); }
    else if (flag === '--time-limit') o.timeLimitMs = Number(value()) * 1000;
    else if (flag === '--crash-groups') o.crashGroups = value().split(',') as Group[];
    else if (flag === '--choices') o.depthCounts = 'choices';
    else if (flag === '--no-trim') o.trim = false;
    else if (flag === '--tick-policy') o.tickPolicy = value() as ExploreOptions['tickPolicy'];
    else if (flag === '--eager') { const v = value(); o.eager = v === 'none' ? [] : v.split(',') as MessageType[]; }
    else if (flag === '--self-delay') o.selfImmediate = false;
    else if (flag === '--warmup') o.warmup = value() as 'leader' | 'none';
    else if (flag === '--search') o.search = value() as 'dfs' | 'bfs';
    else if (flag === '--reconfigure') Object.assign(o, { spares: 1, reconfigurations: 1 });
    else if (flag === '--help' || flag === '-h') { console.log(USAGE); process.exit(0); }
    else throw new Error(`unknown flag ${flag}\n${USAGE}`);
  }
  return o;
}

let options: Partial<ExploreOptions>;
try {
  options = parse(process.argv.slice(2));
} catch (err) {
  console.error((err as Error).message);
  process.exit(2);
}
const c = { ...DEFAULT_EXPLORE_OPTIONS, ...options };
console.log(`exploring ${c.proposers}P ${c.acceptors}A${c.spares ? ` (+${c.spares} spare)` : ''} ${c.learners}L ${c.clients}C, ${c.values} values, ` +
  `${c.reconfigurations ? `${c.reconfigurations} membership change, ` : ''}depth ${c.depth} ${c.depthCounts}, ` +
  `budgets reorder ${c.reorder} loss ${c.loss} dup ${c.dup} crash ${c.crash} (${c.crashGroups.join(',')}), ticks ${c.maxTicks} (${c.tickPolicy}), ` +
  `batchMaxBytes ${c.batchMaxBytes}, ${c.trim ? 'trim keeping 1' : 'no trim'}, eager [${c.eager.join(',')}], ${c.search}`);
const result = explore({ ...options, progress: (line) => console.log(line) });
for (const r of result.reports) {
  console.log(`\nviolation (${r.path.length} actions after warm-up): ${r.message}`);
  for (const line of r.history) console.log(`  ${line}`);
}
const secs = result.elapsedMs / 1000;
console.log(`\nwarm-up ${result.warmupSteps} steps; depth reached ${result.depthReached}; ${result.transitions} transitions; ` +
  `${secs.toFixed(1)} s (${Math.round(result.states / Math.max(secs, 0.001))} states/s); ` +
  `most values delivered ${result.maxDelivered}; ${result.trimmedStates} states with a trimmed acceptor` +
  (c.reconfigurations ? `, ${result.reconfiguredStates} past the membership change` : '') +
  (result.stoppedBy ? `; stopped early by ${result.stoppedBy}` : ''));
console.log(`explored ${result.states} states, ${result.violations} violations`);
process.exitCode = result.violations ? 1 : 0;
