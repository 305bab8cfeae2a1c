/**
 * Membership changes in a scenario, drawn from the seed apart from every other draw (so no other
 * part of a seed's scenario changed when they were added): a third of the scenarios with two
 * acceptor slots or more start with only some slots voting (the others are spares) and ask for
 * one to three changes while values are ordered, faults strike and leaders change: a spare
 * replaces a member (first one that crashed for good, when there is one), a spare is added, a
 * member is removed. Each membership draws its own quorums (any valid flexible pair); half of
 * those with flexible quorums race a rival request for the same epoch (majorities).
 */
import { permanentlyDown, type Reconfiguration, type Scenario } from './scenario.js';
import { shuffle } from './fault-schedule.js';
import { Rng } from './rng.js';

const MEMBERSHIP_SEED = 0x3e3be75;

/** Majorities, or any flexible pair (q1 + q2 > n) for `n` members. */
function drawQuorums(rng: Rng, n: number): { phase1Quorum?: number; phase2Quorum?: number } {
  if (!rng.chance(0.5)) return {};
  const phase1Quorum = rng.between(1, n);
  return { phase1Quorum, phase2Quorum: rng.between(n - phase1Quorum + 1, n) };
}

const sorted = (ids: number[]): number[] => [...ids].sort((a, b) => a - b);

export function drawMembership(s: Scenario): void {
  const rng = new Rng(s.seed ^ MEMBERSHIP_SEED);
  const slots = s.shape.acceptors;
  if (slots < 2 || !rng.chance(1 / 3)) return;
  const dead = new Set(permanentlyDown(s).filter((n) => n.group === 'acceptors').map((n) => n.id));
  const all = shuffle(rng, Array.from({ length: slots }, (_, i) => i));
  // Usually an acceptor that goes down for good is a member at first: the case of replacing a dead machine.
  const doomed = all.findIndex((id) => dead.has(id));
  if (doomed > 0 && rng.chance(0.7)) all.unshift(...all.splice(doomed, 1));
  let members = sorted(all.slice(0, rng.between(1, slots - 1)));
  const initialQuorums = drawQuorums(rng, members.length);
  s.protocol.initialAcceptors = members;
  delete s.protocol.phase1Quorum;
  delete s.protocol.phase2Quorum;
  Object.assign(s.protocol, initialQuorums);
  const until = Math.max(s.submitUntilMs, s.healAtMs);
  const times = Array.from({ length: rng.between(1, 3) }, () => Math.floor(rng.next() * until)).sort((a, b) => a - b);
  // The machine-replacement case: a member that epoch 0 can do without goes down for good before the first change.
  const majority = Math.floor(members.length / 2) + 1;
  const needed = Math.max(initialQuorums.phase1Quorum ?? majority, initialQuorums.phase2Quorum ?? majority);
  const up = members.filter((id) => !dead.has(id));
  if (up.length > needed && members.length < slots && rng.chance(0.4)) {
    const victim = rng.pick(up);
    dead.add(victim);
    s.faults.push({ kind: 'crash', at: rng.int(times[0]! + 1), node: { group: 'acceptors', id: victim }, downMs: null });
    s.faults.sort((a, b) => a.at - b.at);
  }
  const changes: Reconfiguration[] = [];
  for (const at of times) {
    const spares = all.filter((id) => !members.includes(id));
    const crashed = members.find((id) => dead.has(id));
    const kind = crashed !== undefined && spares.length && rng.chance(0.7) ? 'replace-dead' : rng.pick(['replace', 'replace', 'add', 'remove']);
    if (kind === 'replace-dead') members = sorted([...members.filter((id) => id !== crashed), rng.pick(spares)]);
    else if (kind === 'replace' && spares.length) members = sorted([...shuffle(rng, [...members]).slice(1), rng.pick(spares)]);
    else if (kind === 'add' && spares.length) members = sorted([...members, rng.pick(spares)]);
    else if (members.length > 1) members = sorted(shuffle(rng, [...members]).slice(1));
    const quorums = drawQuorums(rng, members.length);
    const rival = quorums.phase1Quorum !== undefined && rng.chance(0.5);
    changes.push({ at, acceptors: members, ...quorums, ...(rival ? { rival } : {}) });
  }
  s.reconfigurations = changes;
  keepEveryEpochLive(s, dead);
}

/**
 * Liveness after healing needs a quorum of every epoch's members up (each change is ordered by
 * the epoch before it): a crash for good that would leave one without is a long crash instead.
 */
function keepEveryEpochLive(s: Scenario, dead: Set<number>): void {
  const { phase1Quorum, phase2Quorum } = s.protocol;
  const epochs = [{ members: [...s.protocol.initialAcceptors!], phase1Quorum, phase2Quorum }, ...(s.reconfigurations ?? []).map((r) => ({ ...r, members: r.acceptors }))];
  for (const e of epochs) {
    const n = e.members.length;
    const majority = Math.floor(n / 2) + 1;
    const needed = Math.max(e.phase1Quorum ?? majority, e.phase2Quorum ?? majority);
    for (const id of e.members) {
      if (e.members.filter((a) => !dead.has(a)).length >= needed) break;
      if (!dead.has(id)) continue;
      dead.delete(id);
      for (const f of s.faults) if (f.kind === 'crash' && f.node.group === 'acceptors' && f.node.id === id && f.downMs === null) f.downMs = 1000;
    }
  }
}
