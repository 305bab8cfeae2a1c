/** Human-readable lines for the simulator's event history (what a failing seed prints). */
import { formatBallot } from '../protocol/ballot.js';
import type { Batch, Message } from '../protocol/messages.js';

export type HistoryEntry =
  | { time: number; kind: 'deliver'; from: string; to: string; message: Message }
  | { time: number; kind: 'fault'; detail: string }
  | { time: number; kind: 'note'; detail: string };

export function formatEvent(e: HistoryEntry): string {
  const t = `t=${e.time.toFixed(1).padStart(8)}`;
  if (e.kind === 'fault') return `${t}  !! ${e.detail}`;
  if (e.kind === 'note') return `${t}  .. ${e.detail}`;
  return `${t}  ${e.from} -> ${e.to}: ${formatMessage(e.message)}`;
}

const batch = (b: Batch): string =>
  b.length === 0 ? 'no-op' : b.slice(0, 4).map((s) => s.client === 0 ? `register:${String(s.value)}` : `${s.client}:${s.seq}`).join(',') + (b.length > 4 ? `,+${b.length - 4}` : '');

export function formatMessage(m: Message): string {
  switch (m.type) {
    case 'submit': return `submit [${batch(m.values)}]`;
    case 'heartbeat': return `heartbeat from ${m.from} b=${formatBallot(m.ballot)}${m.leading ? ' leading' : ''}` +
      `${m.quorum ? '' : ' no-quorum'} decided<${m.decided}`;
    case 'prepare': return `prepare b=${formatBallot(m.ballot)} from ${m.from}`;
    case 'promise': return `promise b=${formatBallot(m.ballot)} a=${m.acceptor} cut@${m.cutAt} chunk ${m.chunk + 1}/${m.chunks} ` +
      `[${m.accepted.map((e) => `${e.instance}@${formatBallot(e.ballot)}`).join(' ')}]` +
      (m.trimmed ? ` trimmed@${m.trimmed.instance} part ${m.trimmed.part + 1}/${m.trimmed.parts}` : '');
    case 'nack': return `nack b=${formatBallot(m.ballot)} promised=${formatBallot(m.promised)} a=${m.acceptor}`;
    case 'accept': return `accept b=${formatBallot(m.ballot)} i=${m.instance} [${batch(m.batch)}]`;
    case 'accepted': return `accepted b=${formatBallot(m.ballot)} i=${m.instance} a=${m.acceptor}`;
    case 'catchup': return `catchup [${m.from}, ${m.to}) for ${m.requester.group}/${m.requester.member}`;
    case 'decided': return `decided [${m.entries.map((e) => e.instance).join(' ')}]`;
    case 'committed': return `committed [${m.entries.map((e) => `${e.seq}@${e.position}`).join(' ')}]`;
    case 'progress': return `progress learner ${m.learner} delivered<${m.delivered}`;
    case 'trim': return `trim below ${m.snapshot.instance} (position ${m.snapshot.position}) part ${m.snapshot.part + 1}/${m.snapshot.parts}`;
    case 'trimmed': return `trimmed below ${m.snapshot.instance} (position ${m.snapshot.position}) part ${m.snapshot.part + 1}/${m.snapshot.parts}`;
    case 'registered': return `registered ${m.nonce} as session ${m.client}`;
    case 'alive': return `alive a=${m.acceptor} promised=${formatBallot(m.promised)}`;
    case 'barrier': return `barrier ${m.tokens.length} token(s)`;
    case 'barrierPassed': return `barrierPassed ${m.tokens.length} token(s) position ${m.position}`;
    case 'confirm': return `confirm b=${formatBallot(m.ballot)} round ${m.round}`;
    case 'confirmed': return `confirmed a=${m.acceptor} round ${m.round} promised=${formatBallot(m.promised)}`;
    case 'takeover': return `takeover from ${m.from} b=${formatBallot(m.ballot)}`;
    default: {
      // A message type this formatter does not know yet ('register', 'registered', ...).
      const other = m as { type: string };
      const text = JSON.stringify(other, (_k, v: unknown) => (v instanceof Uint8Array ? `bytes[${v.byteLength}]` : v));
      return `${other.type} ${text.length > 200 ? `${text.slice(0, 200)}...` : text}`;
    }
  }
}

/** The last `size` entries of a run's history, each also handed to `trace` as it happens. */
export class EventHistory {
  private readonly entries: HistoryEntry[] = [];

  constructor(private readonly size: number, private readonly trace?: (line: string) => void) {}

  remember(entry: HistoryEntry): void {
    this.trace?.(formatEvent(entry));
    this.entries.push(entry);
    if (this.entries.length > this.size) this.entries.shift();
  }

  lines(): string[] {
    return this.entries.map(formatEvent);
  }
}
