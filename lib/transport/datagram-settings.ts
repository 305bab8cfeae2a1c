/**
 * What every UDP transport is configured with, whatever its addressing (multicast groups or
 * unicast members): the secret, buffer and datagram sizes, coalescing and repeats; their checks,
 * and whether the protocol's batches fit a datagram.
 */
import type { Group } from '../protocol/messages.js';
import { GROUPS } from '../protocol/messages.js';
import { ConfigurationError, type ResolvedOptions } from '../protocol/options.js';
import { ACCEPT_OVERHEAD_BYTES, HMAC_BYTES, MAX_DATAGRAM_BYTES, MAX_FRAME_HEADER_BYTES } from './codec.js';

export const DEFAULT_COALESCE_BYTES = 16 * 1024;

/** The settings every UDP transport shares, as plain serializable data. */
export interface DatagramSettings {
  /** Shared secret: sign every datagram with HMAC-SHA256 and drop any that is unsigned or tampered. */
  readonly secret?: string;
  /** Receive buffer requested per socket; the kernel caps it at net.core.rmem_max. Default 8 MiB. */
  readonly recvBufferSize?: number;
  /** Send buffer requested per socket; the kernel caps it at net.core.wmem_max. Default 4 MiB. */
  readonly sendBufferSize?: number;
  /** Largest datagram sent, HMAC included. Default 65,507 (the UDP/IPv4 maximum). */
  readonly maxDatagramBytes?: number;
  /**
   * Coalesce messages into one datagram only up to this many bytes (a single larger message
   * still goes alone, up to `maxDatagramBytes`): one lost datagram then loses fewer messages,
   * and on a 1500-byte MTU fewer IP fragments. Default 16 KiB.
   */
  readonly coalesceBytes?: number;
  /**
   * Send every datagram to these groups this many times (default 1 each). Cheap insurance for a
   * group that receives only small messages whose loss is expensive, e.g. `{ clients: 2 }`: a
   * client's only recovery from a lost acknowledgement is its resend timer.
   */
  readonly repeat?: Readonly<Partial<Record<Group, number>>>;
}

/**
 * Bytes a batch may have (by the protocol's `batchSize` estimate) so that every message fits one
 * datagram of `maxDatagramBytes` with an HMAC.
 */
export function maxBatchBytesFor(maxDatagramBytes = MAX_DATAGRAM_BYTES): number {
  return maxDatagramBytes - HMAC_BYTES - MAX_FRAME_HEADER_BYTES - ACCEPT_OVERHEAD_BYTES - 32;
}

/** Throws a `ConfigurationError` when a batch within `batchMaxBytes` might not fit one datagram. */
export function checkBatchFits(options: Pick<ResolvedOptions, 'batchMaxBytes'>, maxDatagramBytes = MAX_DATAGRAM_BYTES): void {
  const limit = maxBatchBytesFor(maxDatagramBytes);
  if (options.batchMaxBytes > limit) {
    throw new ConfigurationError(
      `batchMaxBytes ${options.batchMaxBytes} is too large for ${maxDatagramBytes}-byte datagrams: at most ${limit}`);
  }
}

/** Check the shared settings; a `ConfigurationError` names the first one that is off. */
export function validateDatagramSettings(s: DatagramSettings): void {
  const max = s.maxDatagramBytes ?? MAX_DATAGRAM_BYTES;
  if (!Number.isInteger(max) || max < 512 || max > MAX_DATAGRAM_BYTES) {
    throw new ConfigurationError(`maxDatagramBytes must be an integer from 512 to ${MAX_DATAGRAM_BYTES}`);
  }
  if (s.coalesceBytes !== undefined && (!Number.isInteger(s.coalesceBytes) || s.coalesceBytes < 64)) {
    throw new ConfigurationError('coalesceBytes must be an integer of at least 64');
  }
  for (const [g, n] of Object.entries(s.repeat ?? {})) {
    if (!GROUPS.includes(g as Group) || !Number.isInteger(n) || n < 1 || n > 8) throw new ConfigurationError(`repeat.${g} must be an integer from 1 to 8`);
  }
}
