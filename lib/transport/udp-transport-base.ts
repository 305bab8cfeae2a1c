/**
 * What the UDP transports have in common beyond sockets and addressing: the lifecycle (start
 * once, send only while started, close once, releasing every socket), the counters, the HMAC key,
 * the send path (`DatagramSender`) and the receive path (`createReceiver`) wired to a socket.
 * A subclass opens its sockets (`open`) and says where a destination's datagrams go (`route`).
 */
import type { Socket } from 'node:dgram';
import type { Destination, Message, Outgoing } from '../protocol/messages.js';
import { keyFromSecret } from './codec.js';
import { type TransportMetrics, createReceiver, emptyTransportMetrics } from './datagram-receiver.js';
import { type DatagramTarget, DatagramSender, type UdpHooks } from './datagram-sender.js';
import { type DatagramSettings, validateDatagramSettings } from './datagram-settings.js';
import type { Endpoint, Transport } from './transport.js';
import { closeSockets } from './udp-sockets.js';

export abstract class UdpTransportBase implements Transport {
  protected readonly stats = emptyTransportMetrics();
  protected readonly key: Uint8Array | undefined;
  private readonly sender: DatagramSender;
  /** Every socket opened, closed by `close()`. */
  protected readonly sockets: Socket[] = [];
  private started = false;
  private closed = false;

  protected constructor(settings: DatagramSettings, protected readonly hooks: UdpHooks) {
    validateDatagramSettings(settings);
    this.key = settings.secret !== undefined ? keyFromSecret(settings.secret) : undefined;
    this.sender = new DatagramSender(settings, this.key, this.stats, hooks);
  }

  get metrics(): Readonly<TransportMetrics> {
    return this.stats;
  }

  async start(members: readonly Endpoint[], deliver: (message: Message, to: Endpoint) => void): Promise<void> {
    if (this.started) throw new Error('transport already started');
    this.started = true;
    await this.open(members, deliver);
  }

  /** Open, bind and register the sockets for `members`. */
  protected abstract open(members: readonly Endpoint[], deliver: (message: Message, to: Endpoint) => void): Promise<void>;

  /** Where the frames for `to` go when `from` sends (nothing yet while sockets are opening). */
  protected abstract route(to: Destination, from: Endpoint): readonly DatagramTarget[];

  send(from: Endpoint, messages: readonly Outgoing[]): void {
    if (!this.started || this.closed || messages.length === 0) return;
    this.sender.send(from, messages, (to) => this.route(to, from));
  }

  /** Feed what `socket` receives to the receive path of `members` (one group), until closed. */
  protected listen(socket: Socket, members: readonly Endpoint[], deliver: (message: Message, to: Endpoint) => void, label: string): void {
    const receive = createReceiver(members, this.key, deliver, this.stats, this.hooks.log);
    socket.on('message', (datagram) => {
      if (!this.closed) receive(datagram);
    });
    socket.on('error', (err) => this.hooks.warn?.(`${label}: ${err.message}`));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await closeSockets(this.sockets.splice(0));
  }
}
