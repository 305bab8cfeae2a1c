/**
 * The receive path of a datagram transport, without sockets: decode, authenticate, filter by
 * group, member and role, deliver; and the counters of everything dropped on the way. Nothing
 * that arrives can crash the process.
 */
import type { Message } from '../protocol/messages.js';
import { RECEIVERS } from '../protocol/messages.js';
import { decodeFrame } from './codec.js';
import { type Endpoint, addresses } from './transport.js';

export interface TransportMetrics {
  datagramsIn: number;
  datagramsOut: number;
  bytesIn: number;
  bytesOut: number;
  messagesIn: number;
  messagesOut: number;
  /** Undecodable: random bytes, truncated, wrong version or magic, absurd lengths, invalid fields. */
  droppedBad: number;
  /** Unsigned, wrongly signed, or signed while we have no secret. */
  droppedUnauthenticated: number;
  /** A message type this role does not handle. */
  droppedWrongRole: number;
  /** A frame addressed to another group (possible when groups share an address and port). */
  droppedWrongGroup: number;
  /** Messages too large for any datagram that could not be split (not sent). */
  droppedOversize: number;
  /** Outgoing messages the codec refused (malformed; a bug in the sender). */
  droppedUnencodable: number;
  /** Frames for another member of our group (normal with member-addressed messages). */
  filteredOtherMember: number;
  /** Messages whose handler threw (a protocol bug; the process keeps running). */
  handlerErrors: number;
  sendErrors: number;
}

export function emptyTransportMetrics(): TransportMetrics {
  return {
    datagramsIn: 0, datagramsOut: 0, bytesIn: 0, bytesOut: 0, messagesIn: 0, messagesOut: 0, droppedBad: 0,
    droppedUnauthenticated: 0, droppedWrongRole: 0, droppedWrongGroup: 0, droppedOversize: 0, droppedUnencodable: 0, filteredOtherMember: 0,
    handlerErrors: 0, sendErrors: 0,
  };
}

/** Rate-limits a diagnostic stream: the first few lines, then one per `every`. */
function limited(log: ((line: string) => void) | undefined, first = 20, every = 1000): ((line: string) => void) | undefined {
  if (!log) return undefined;
  let n = 0;
  return (line) => {
    n++;
    if (n <= first || n % every === 0) log(n > first ? `${line} (${n} so far)` : line);
  };
}

/**
 * The receive path of the members of one group hosted here, without sockets: decode,
 * authenticate, filter by group, member and role, deliver (once per member a frame is for). The
 * UDP transport feeds it datagrams; the fuzz test feeds it garbage.
 */
export function createReceiver(
  members: readonly Endpoint[],
  key: Uint8Array | undefined,
  deliver: (message: Message, to: Endpoint) => void,
  metrics: TransportMetrics = emptyTransportMetrics(),
  log?: (line: string) => void,
): (datagram: Uint8Array) => void {
  const group = members[0]?.group;
  if (!group || members.some((m) => m.group !== group)) throw new Error('createReceiver: members of one group, at least one');
  const logDrop = limited(log);
  const mine = (m: Message): boolean => RECEIVERS[m.type].includes(group);
  return (datagram) => {
    metrics.datagramsIn++;
    metrics.bytesIn += datagram.byteLength;
    const result = decodeFrame(datagram, key);
    if (!result.ok) {
      if (result.reason === 'unauthenticated') metrics.droppedUnauthenticated++;
      else metrics.droppedBad++;
      logDrop?.(`dropped datagram (${datagram.byteLength} bytes): ${result.reason}: ${result.detail}`);
      return;
    }
    const { to, messages } = result.frame;
    if (to.group !== group) {
      metrics.droppedWrongGroup++;
      return;
    }
    const receivers = members.length === 1 ? (addresses(to, members[0]!) ? members : []) : members.filter((m) => addresses(to, m));
    if (receivers.length === 0) {
      metrics.filteredOtherMember++;
      return;
    }
    for (const m of messages) {
      if (!mine(m)) {
        metrics.droppedWrongRole++;
        logDrop?.(`dropped ${m.type} message: not for ${group}`);
        continue;
      }
      metrics.messagesIn++;
      for (const member of receivers) {
        try {
          deliver(m, member);
        } catch (err) {
          metrics.handlerErrors++;
          logDrop?.(`handler threw on ${m.type}: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
        }
      }
    }
  };
}

