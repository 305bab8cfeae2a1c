/**
 * Socket plumbing shared by the UDP transports: open a socket with the buffer sizes asked for,
 * bind and connect it as promises, and close a set of sockets without caring whether each is
 * still open.
 */
import { createSocket, type Socket } from 'node:dgram';

/** Receive buffer requested when the settings name none; the kernel caps it at net.core.rmem_max. */
export const DEFAULT_RECV_BUFFER_BYTES = 8 * 1024 * 1024;
/** Send buffer requested when the settings name none; the kernel caps it at net.core.wmem_max. */
export const DEFAULT_SEND_BUFFER_BYTES = 4 * 1024 * 1024;

export interface SocketOptions {
  /** Share the port with other sockets (multicast receivers); unicast members bind alone. */
  readonly reuseAddr?: boolean;
  readonly recvBufferSize?: number;
  readonly sendBufferSize?: number;
}

/** A UDP/IPv4 socket with the requested buffer sizes (only the ones named). */
export function openUdpSocket(options: SocketOptions): Socket {
  return createSocket({
    type: 'udp4', reuseAddr: options.reuseAddr ?? false,
    ...(options.recvBufferSize !== undefined ? { recvBufferSize: options.recvBufferSize } : {}),
    ...(options.sendBufferSize !== undefined ? { sendBufferSize: options.sendBufferSize } : {}),
  });
}

/** Bind, rejecting with the socket's error (e.g. EADDRINUSE) instead of emitting it. */
export function bindSocket(socket: Socket, port: number, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    socket.once('error', onError);
    socket.bind({ port, address, exclusive: false }, () => {
      socket.off('error', onError);
      resolve();
    });
  });
}

/** Connect, so that `send(frame)` needs no address. */
export function connectSocket(socket: Socket, port: number, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.connect(port, address, (err?: Error) => (err ? reject(err) : resolve()));
  });
}

/** Close every socket; one already closed (or never bound) is fine. */
export async function closeSockets(sockets: readonly Socket[]): Promise<void> {
  await Promise.all(sockets.map((s) => new Promise<void>((resolve) => {
    try {
      s.close(() => resolve());
    } catch {
      resolve();
    }
  })));
}
