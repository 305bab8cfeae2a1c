/**
 * The send path of a datagram transport, apart from where datagrams go: what a host flushes in
 * one turn is grouped by destination (order kept within each), each destination's messages are
 * coalesced into as few frames as fit (`encodeFrames`: split where a message can be cut, HMAC
 * when there is a key), and every frame goes to each target the transport routes that
 * destination to (one multicast group, or every member of a group), repeated as configured, with
 * the counters kept. A message the codec refuses or that can never fit is dropped, counted and
 * reported once per type; the rest still goes out.
 */
import type { Socket } from 'node:dgram';
import type { Destination, Message, Outgoing } from '../protocol/messages.js';
import { EncodeError, type EncodedFrames, MAX_DATAGRAM_BYTES, type FrameOptions, encodeFrames } from './codec.js';
import { DEFAULT_COALESCE_BYTES, type DatagramSettings } from './datagram-settings.js';
import type { TransportMetrics } from './datagram-receiver.js';
import type { Endpoint } from './transport.js';

/** Where a UDP transport's diagnostics go (not serializable, so not part of the settings). */
export interface UdpHooks {
  /** Debug lines (drops, socket sizes). */
  readonly log?: (line: string) => void;
  /** Problems worth telling the operator about even without debug (e.g. a message that can never fit). */
  readonly warn?: (line: string) => void;
}

/** One copy of a frame goes out through `socket`: to `address:port`, or where it is connected when they are absent. */
export interface DatagramTarget {
  readonly socket: Socket;
  readonly port?: number;
  readonly address?: string;
}

/** The targets of one destination; an empty list sends nothing (and encodes nothing). */
export type Route = (to: Destination) => readonly DatagramTarget[];

/** Messages of one turn grouped by destination, in order within each. */
function byDestination(messages: readonly Outgoing[]): Iterable<{ to: Destination; messages: Message[] }> {
  const groups = new Map<string, { to: Destination; messages: Message[] }>();
  for (const o of messages) {
    const k = o.to.member === undefined ? o.to.group : `${o.to.group}/${o.to.member}`;
    let entry = groups.get(k);
    if (!entry) groups.set(k, (entry = { to: o.to, messages: [] }));
    entry.messages.push(o.message);
  }
  return groups.values();
}

export class DatagramSender {
  private readonly options: FrameOptions;
  private readonly maxDatagramBytes: number;
  private readonly warned = new Set<string>();

  constructor(private readonly settings: DatagramSettings, key: Uint8Array | undefined, private readonly stats: TransportMetrics,
    private readonly hooks: UdpHooks) {
    this.maxDatagramBytes = settings.maxDatagramBytes ?? MAX_DATAGRAM_BYTES;
    this.options = { maxBytes: this.maxDatagramBytes, key, coalesceBytes: settings.coalesceBytes ?? DEFAULT_COALESCE_BYTES };
  }

  /** Send `messages` from `from`, each destination's frames to the targets `route` names. */
  send(from: Endpoint, messages: readonly Outgoing[], route: Route): void {
    for (const { to, messages: list } of byDestination(messages)) {
      const targets = route(to);
      if (targets.length === 0) continue;
      const { frames, oversize } = this.encode(to, from, list);
      this.stats.messagesOut += list.length - oversize.length;
      for (const m of oversize) {
        this.stats.droppedOversize++;
        this.warnOnce(m.type, `cannot send a ${m.type} message to ${to.group}: it does not fit one ${this.maxDatagramBytes}-byte datagram`);
      }
      const copies = this.settings.repeat?.[to.group] ?? 1;
      const done = (err: Error | null): void => {
        if (!err) return;
        this.stats.sendErrors++;
        this.hooks.log?.(`send to ${to.group} failed: ${err.message}`);
      };
      for (const frame of frames) {
        for (let i = 0; i < copies; i++) {
          for (const t of targets) {
            this.stats.datagramsOut++;
            this.stats.bytesOut += frame.length;
            if (t.port === undefined) t.socket.send(frame, done);
            else t.socket.send(frame, t.port, t.address, done);
          }
        }
      }
    }
  }

  private warnOnce(type: string, line: string): void {
    if (this.warned.has(type)) return;
    this.warned.add(type);
    this.hooks.warn?.(line);
  }

  /**
   * Encode, isolating a message the codec refuses (a malformed message from a buggy role): it is
   * dropped and counted, the rest still goes out, and the process keeps running.
   */
  private encode(to: Destination, self: Endpoint, list: Message[]): EncodedFrames {
    try {
      return encodeFrames(to, self, list, this.options);
    } catch (err) {
      if (!(err instanceof EncodeError)) throw err;
      const frames: Buffer[] = [];
      const oversize: Message[] = [];
      for (const m of list) {
        try {
          const one = encodeFrames(to, self, [m], this.options);
          frames.push(...one.frames);
          oversize.push(...one.oversize);
        } catch (e) {
          if (!(e instanceof EncodeError)) throw e;
          this.stats.droppedUnencodable++;
          this.hooks.warn?.(`cannot encode a ${String(m.type)} message to ${to.group}: ${e.message}`);
        }
      }
      return { frames, oversize };
    }
  }
}
