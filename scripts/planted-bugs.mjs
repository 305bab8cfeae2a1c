#!/usr/bin/env node
// Proves the simulator has teeth: plants known protocol bugs, one at a time, into a copy of the
// TypeScript source (an edit of the source, never of compiled text), compiles that copy, and
// counts how many seeds the simulator (or the bounded explorer) needs to catch each. Exits
// non-zero if a planted bug survives or an edit no longer matches the source (then update it:
// the bug must still be plantable after a refactor).
// Usage: node scripts/planted-bugs.mjs [--seeds 3000] [--only SUBSTRING] [--jobs 2]
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import ts from 'typescript';

/**
 * Each bug: the file, the exact source text it replaces, and what the simulator must see.
 * `mix`: run only seeds of that fault mix. `seeds`: at least this many seeds (a rare trigger). `explore`: also (or only, with `exploreOnly`) run the
 * bounded explorer with these flags.
 */
export const PLANTED_BUGS = [
  // ---- acceptors
  {
    name: 'acceptor skips the ballot check on 2a',
    file: 'lib/protocol/acceptor.ts',
    from: 'if (compareBallots(m.ballot, this.promisedIn(m.ballot)) < 0 || (held && compareBallots(m.ballot, held.ballot) < 0)) {',
    to: 'if (false) {',
  },
  {
    name: 'acceptor promises without remembering the promise',
    file: 'lib/protocol/acceptor.ts',
    from: 'this.promise(m.ballot);\n    this.metrics.promises++;',
    to: 'this.metrics.promises++;',
  },
  {
    name: 'acceptor keeps its promise in memory only (never logged for the disk)',
    file: 'lib/protocol/acceptor.ts',
    from: 'this.state.apply(r);\n    this.writes?.push(r);',
    to: "this.state.apply(r);\n    if (r.kind !== 'promise') this.writes?.push(r);",
  },
  {
    name: "acceptor answers before its writes are durable (sync 'none') and crashes",
    file: 'lib/sim/scenario.ts',
    from: "acceptorStorage: { sync: 'synced', fsyncMs: ",
    // the OS writes dirty pages back seconds later; a crash in between loses promises already sent
    to: "acceptorStorage: { sync: 'none', fsyncMs: 2000 + ",
  },
  {
    name: 'acceptor answers prepare from one instance above the asked one (off by one)',
    file: 'lib/protocol/acceptor.ts',
    from: 'const start = Math.max(from, this.trimmed?.instance ?? 0);',
    to: 'const start = Math.max(from + 1, this.trimmed?.instance ?? 0);',
  },
  {
    name: 'acceptor silently drops 2a below its trim point (the leader never moves past it)',
    file: 'lib/protocol/acceptor.ts',
    from: "for (const part of this.trimmedParts()) this.outbox.send(leader, { type: 'trimmed', snapshot: part });",
    to: 'void leader;',
  },
  // ---- ballots and quorums
  {
    name: 'ballots compare by round only (two proposers in one round look equal)',
    file: 'lib/protocol/ballot.ts',
    from: 'return a.round !== b.round ? a.round - b.round : a.node - b.node;',
    to: 'return a.round - b.round;',
  },
  {
    name: 'learner decides on a minority of votes',
    file: 'lib/protocol/pending-decisions.ts',
    from: 'countMembers(this.current, v.mask) >= this.current.phase2Quorum;',
    to: 'countMembers(this.current, v.mask) >= 1;',
  },
  {
    name: 'learner decides on a phase-1 quorum of votes (wrong with q1 < q2)',
    file: 'lib/protocol/pending-decisions.ts',
    from: 'countMembers(this.current, v.mask) >= this.current.phase2Quorum;',
    to: 'countMembers(this.current, v.mask) >= this.current.phase1Quorum;',
  },
  {
    name: 'leader finishes phase 1 on a phase-2 quorum of promises (wrong with q1 > q2)',
    file: 'lib/protocol/prepare-round.ts',
    from: 'return complete >= members.phase1Quorum;',
    to: 'return complete >= members.phase2Quorum;',
  },
  // ---- phase 1
  {
    name: 'leader ignores values reported in 1b (fills with no-ops)',
    file: 'lib/protocol/prepare-round.ts',
    from: 'const batch = highest.get(instance)?.batch ?? log.decidedBatch(instance) ?? [];',
    to: 'const batch = log.decidedBatch(instance) ?? [];',
  },
  {
    name: 'leader re-proposes the lowest-ballot value from 1b, not the highest',
    file: 'lib/protocol/prepare-round.ts',
    from: 'if (!known || compareBallots(e.ballot, known.ballot) > 0) highest.set(e.instance, e);',
    to: 'if (!known || compareBallots(e.ballot, known.ballot) < 0) highest.set(e.instance, e);',
  },
  {
    name: 'leader combines promise chunks by count, not by answer (the chunk-mixing bug)',
    file: 'lib/protocol/prepare-round.ts',
    mix: 'handover', // it takes a leader change while the old leader trims and chunks are lost
    from: 'if (c && m.cutAt < c.cutAt) return false;\n    if (!c || m.cutAt > c.cutAt || c.chunks !== m.chunks) {',
    to: 'if (!c || c.chunks !== m.chunks) {',
  },
  {
    name: 'learner adds up votes of different ballots',
    file: 'lib/protocol/pending-decisions.ts',
    from: 'let vote = p.votes.find((v) => sameBallot(v.ballot, ballot));',
    to: 'let vote = p.votes[0];',
  },
  // ---- phase 2, trimming, catch-up
  {
    name: 'leader stops retransmitting unanswered 2a',
    file: 'lib/protocol/accept-pipeline.ts',
    from: 'f.sentAt = now;\n      this.metrics.retransmissions++;\n      if (overtaken) this.metrics.overtakenRetransmissions++;\n      this.broadcastAccept(ballot, learner, instance, f.batch, now);',
    to: 'f.sentAt = now;',
  },
  {
    name: 'client forgets a value it resends early (overtaken by a later one)',
    file: 'lib/protocol/client.ts',
    from: 'p.sentAt = now;\n      this.pending.set(seq, p);\n      this.unsent.push(p);\n      resent++;\n    }\n    this.metrics.retransmissions += resent;\n    this.metrics.overtakenResends += resent;',
    to: 'p.sentAt = now;\n      this.unsent.push(p);\n      resent++;\n    }\n    this.metrics.retransmissions += resent;\n    this.metrics.overtakenResends += resent;',
  },
  {
    name: 'leader trims without waiting for the slowest learner',
    file: 'lib/protocol/log-trimmer.ts',
    from: 'for (const p of this.learnerProgress) below = Math.min(below, p);',
    to: '',
  },
  {
    name: 'learner continuing from a trim snapshot keeps its own filter instead of the snapshot\'s',
    file: 'lib/protocol/learner.ts',
    from: 'this.filter = DeliveryFilter.restore(snapshot, this.options);',
    to: '',
  },
  {
    name: 'a receiver acts on a snapshot before all of its parts arrived',
    file: 'lib/protocol/snapshot-parts.ts',
    from: 'if (entry.parts.size < part.parts) return undefined;',
    to: '',
  },
  // ---- exactly-once and positions
  {
    name: 'learner skips the exactly-once filter',
    file: 'lib/protocol/learner.ts',
    from: "if (admission !== 'new') {",
    to: "if (admission === 'expired') {",
  },
  {
    name: 'filter forgets seqs delivered above the watermark',
    file: 'lib/protocol/delivery-filter.ts',
    from: 'if (seq < s.low || s.above.has(seq)) return \'duplicate\';\n    if (seq === s.low) {',
    to: 'if (seq < s.low) return \'duplicate\';\n    if (seq === s.low) {',
  },
  {
    name: 'leader re-acks a delivered value with the position of the next one',
    file: 'lib/protocol/recent-positions.ts',
    from: 'this.positions[slot] = position;',
    to: 'this.positions[slot] = position + 1;',
  },
  {
    name: 'a client whose session expired resends its pending values in the new session',
    file: 'lib/protocol/client.ts',
    from: '      p.sentAt = -1;\n      this.completions.push({ seq: p.seq, position: SESSION_EXPIRED });\n      this.metrics.expired++;\n    }\n    this.pending.clear();',
    to: '      this.metrics.expired++;\n    }',
  },
  {
    name: 'a client renews its session while values are still pending (they travel again under the new key)',
    file: 'lib/protocol/client.ts',
    from: 'if (this.key !== undefined && this.pending.size === 0 && now - this.lastAnswerAt',
    to: 'if (this.key !== undefined && now - this.lastAnswerAt',
  },
  // ---- read barriers (read index)
  {
    name: 'leader answers a read barrier without a confirm round (a deposed leader answers stale)',
    file: 'lib/protocol/read-barriers.ts',
    from: '    for (const t of tokens) this.waiting.push(t);\n    if (!this.current) this.startRound(ballot, readIndex, now);',
    to: '    this.confirmed.push({ tokens: [...tokens], readIndex });',
  },
  {
    name: 'read index is what the leader delivered, not what it proposed',
    file: 'lib/protocol/proposer.ts',
    from: 'this.barriers.request(message.tokens, this.ballot, this.pipeline.proposedEnd, now);',
    to: 'this.barriers.request(message.tokens, this.ballot, this.learner.delivered, now);',
  },
  // ---- leadership transfer
  {
    name: 'a failed leadership transfer never ends (the leader admits no value again)',
    file: 'lib/protocol/leadership-transfer.ts',
    from: 'if (now >= this.deadline) {',
    to: 'if (false) {',
  },
  {
    name: 'the target of a takeover skips phase 1 and leads at once',
    file: 'lib/protocol/proposer.ts',
    from: 'if (this.phase === \'follower\') this.startPhase1(now);\n  }',
    to: 'if (this.phase === \'follower\') {\n      this.startPhase1(now);\n      this.prepare.clear();\n      this.pipeline.begin({ entries: [], end: this.learner.delivered });\n      this.phase = \'leading\';\n    }\n  }',
  },
  // ---- application state between learners (stateSnapshots)
  {
    name: 'a restored learner keeps its own exactly-once filter, not the state\'s',
    file: 'lib/protocol/learner.ts',
    from: 'this.filter = DeliveryFilter.restore(snapshot, this.options);\n    this.requestedTo = 0;',
    to: 'if (!this.state) this.filter = DeliveryFilter.restore(snapshot, this.options);\n    this.requestedTo = 0;',
  },
  {
    name: 'a restored state claims one position more than it holds',
    file: 'lib/protocol/learner.ts',
    from: 'this.restored = { instance: state.delivery.instance, position: state.delivery.position, state: state.app };',
    to: 'this.restored = { instance: state.delivery.instance, position: state.delivery.position + 1, state: state.app };',
  },
  {
    name: 'the leader trims past the learners\' application states',
    file: 'lib/protocol/log-trimmer.ts',
    from: 'if (this.options.stateSnapshots) for (const s of this.learnerStates)',
    to: 'if (false) for (const s of this.learnerStates)',
  },
  {
    name: 'a state is taken with the newest marked point, not the one the application snapshotted at',
    file: 'lib/protocol/state-transfer.ts',
    from: 'const delivery = this.points.get(instance);',
    to: 'const delivery = [...this.points.values()].pop();',
  },
  // ---- membership change (stop-sign epochs)
  {
    name: 'learner crossing a stop-sign keeps counting the old members (with the new quorums)',
    file: 'lib/protocol/pending-decisions.ts',
    from: 'enterEpoch(next: Membership): void {\n    this.current = next;',
    to: 'enterEpoch(next: Membership): void {\n    this.current = { ...next, acceptors: this.current.acceptors };',
  },
  {
    name: 'learner counts the votes of acceptors that are not members',
    file: 'lib/protocol/pending-decisions.ts',
    from: 'countMembers(this.current, v.mask) >= this.current.phase2Quorum;',
    to: 'countMembers({ ...this.current, acceptors: 0x7fffffff }, v.mask) >= this.current.phase2Quorum;',
  },
  {
    name: 'a decision of the old epoch above its stop-sign stays decided (void instances delivered)',
    file: 'lib/protocol/pending-decisions.ts',
    from: 'if (p.decided !== undefined && p.decidedEpoch < next.epoch) p.decided = undefined;',
    to: 'if (p.decided !== undefined) p.decidedEpoch = next.epoch;',
  },
  {
    name: 'leader counts promises of acceptors that are not members',
    file: 'lib/protocol/prepare-round.ts',
    from: 'if (!members || !sameBallot(m.ballot, ballot) || !isMember(members, m.acceptor)) return false;',
    to: 'if (!members || !sameBallot(m.ballot, ballot)) return false;',
  },
  {
    name: 'the new epoch\'s leader skips its phase 1 (keeps leading with a fresh ballot)',
    file: 'lib/protocol/proposer.ts',
    from: 'this.pipeline.restartEpoch();\n    this.phase = \'follower\';\n    this.startPhase1(now);',
    to: 'this.pipeline.restartEpoch();\n    this.ballot = { round: firstRoundOf(this.epoch) + 1000, node: this.ballot.node };\n    this.pipeline.begin({ entries: [], end: this.learner.delivered });\n    this.phase = \'leading\';',
  },
  {
    name: 'proposer campaigns in the newest epoch it has heard of, with its own epoch\'s acceptors',
    file: 'lib/protocol/proposer.ts',
    from: 'const round = Math.max(this.election.highestSeenInEpoch.round, own, firstRoundOf(this.epoch) - 1) + 1;',
    to: 'const round = Math.max(this.election.highestSeen.round, own, firstRoundOf(this.epoch) - 1) + 1;',
  },
  {
    name: 'catch-up answers lose the epoch their entries were decided in',
    file: 'lib/protocol/learner.ts',
    from: 'return epoch === 0 ? { instance, batch } : { instance, batch, epoch };',
    to: 'return { instance, batch };',
  },
  {
    name: 'a trim snapshot travels without its membership',
    file: 'lib/protocol/snapshot-parts.ts',
    from: 'const membership = snapshot.membership ? { membership: snapshot.membership } : {};',
    to: 'const membership = {};',
  },
  // ---- election
  {
    name: 'with nobody leading, proposers defer to the highest id heard, whether or not it can reach a quorum',
    file: 'lib/protocol/leader-election.ts',
    from: 'if (now - this.lastCanLead[id]! < this.options.leaderTimeoutMs) return id;',
    to: 'if (now - this.lastHeard[id]! < this.options.leaderTimeoutMs) return id;',
  },
  {
    name: 'CheckQuorum counts acceptors ever heard, not recently heard (a cut-off leader never yields)',
    file: 'lib/protocol/leader-election.ts',
    from: 'if (isMember(this.membership, a) && now - this.lastHeardAcceptor[a]! < this.options.leaderTimeoutMs) heard++;',
    to: 'if (isMember(this.membership, a) && this.lastHeardAcceptor[a]! > -Infinity) heard++;',
  },
  // ---- the host (the same RoleHost drives workers, CLI processes and the simulator)
  {
    name: "host sends an acceptor's answers before its storage released them",
    file: 'lib/runtime/role-host.ts',
    from: 'h.storage.persist(ready.writes, () => {\n          if (messages.length && !this.silenced) this.transport.send(from, messages);\n        });',
    to: 'h.storage.persist(ready.writes, () => undefined);\n        if (messages.length) this.transport.send(from, messages);',
  },
  {
    name: 'host skips a Ready that holds no messages (deliveries and completions alone get lost)',
    file: 'lib/runtime/role-host.ts',
    from: 'if (ready === EMPTY_READY) continue;',
    to: 'if (ready === EMPTY_READY || ready.messages.length === 0) continue;',
  },
];

/** Compile the whole `lib/` tree of `root` into `out` (no type check: the edit is the only change). */
function transpileTree(root, out) {
  const walk = (dir) => readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : path.endsWith('.ts') ? [path] : [];
  });
  for (const file of walk(join(root, 'lib'))) {
    const { outputText } = ts.transpileModule(readFileSync(file, 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2023 },
      fileName: file,
    });
    const target = join(out, relative(root, file)).replace(/\.ts$/, '.js');
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, outputText);
  }
  writeFileSync(join(out, 'package.json'), '{"type":"module"}');
}

function run(args) {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { maxBuffer: 64 << 20, timeout: 20 * 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? (err.code ?? 1) : 0, stdout, stderr }));
  });
}

/** Plant one bug into a fresh copy, then run seeds (stop at the first failure) and the explorer. */
async function plant(bug, seeds) {
  const dir = mkdtempSync(join(tmpdir(), 'paxos-mutant-'));
  try {
    const src = join(dir, 'src');
    const out = join(dir, 'out');
    for (const rel of walkLib('lib')) {
      const target = join(src, rel);
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, readFileSync(rel));
    }
    const path = join(src, bug.file);
    const source = readFileSync(path, 'utf8');
    if (!source.includes(bug.from)) return { bug, error: `edit no longer matches ${bug.file}` };
    writeFileSync(path, source.replace(bug.from, bug.to));
    transpileTree(src, out);
    if (bug.explore) {
      const r = await run([join(out, 'lib/sim/explore-cli.js'), ...bug.explore]);
      const m = /explored (\d+) states, (\d+) violations/.exec(r.stdout);
      if (m && Number(m[2]) > 0) return { bug, caughtBy: `explorer after ${m[1]} states`, detail: firstViolation(r.stdout) };
      if (bug.exploreOnly) return { bug };
    }
    const r = await run([join(out, 'lib/sim/cli.js'), '--seeds', String(seeds), '--stop-on-failure', ...(bug.mix ? ['--mix', bug.mix] : [])]);
    const failed = /seed (\d+) FAILED (.*?)  \(replay/.exec(r.stdout);
    if (failed) return { bug, caughtBy: `seed ${failed[1]}${bug.mix ? ` of mix ${bug.mix}` : ''}`, seeds: Number(failed[1]), detail: failed[2] };
    // A run that did not get to its summary line proves nothing: report it, never count it as caught.
    if (!/sim: \d+ seeds/.test(r.stdout)) return { bug, error: `the simulator did not run: ${(r.stderr || r.stdout).slice(-400)}` };
    return { bug };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function firstViolation(text) {
  return (/VIOLATION (.*)/.exec(text)?.[1] ?? '').slice(0, 120);
}

function walkLib(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walkLib(path) : [path];
  });
}

async function main() {
  const { values } = parseArgs({ options: { seeds: { type: 'string', default: '3000' }, only: { type: 'string' }, jobs: { type: 'string' } } });
  const seeds = Number(values.seeds);
  const bugs = PLANTED_BUGS.filter((b) => !values.only || b.name.includes(values.only));
  const jobs = Number(values.jobs ?? Math.max(1, Math.min(2, cpus().length)));
  const results = new Array(bugs.length);
  let next = 0;
  await Promise.all(Array.from({ length: jobs }, async () => {
    while (next < bugs.length) {
      const i = next++;
      results[i] = await plant(bugs[i], Math.max(seeds, bugs[i].seeds ?? 0));
      const r = results[i];
      console.log(r.error ? `BROKEN   ${r.bug.name}: ${r.error}`
        : r.caughtBy ? `caught   ${r.bug.name}: ${r.caughtBy} -> ${String(r.detail).slice(0, 110)}`
          : `SURVIVED ${r.bug.name}: no violation in ${seeds} seeds${r.bug.explore ? ' or the explorer' : ''}`);
    }
  }));
  const caught = results.filter((r) => r.caughtBy).length;
  console.log(`planted bugs: ${caught} caught, ${results.length - caught} survived`);
  process.exitCode = caught === results.length ? 0 : 1;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) await main();
