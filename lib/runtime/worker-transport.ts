/**
 * How a worker (or any runtime) builds its transport from serializable settings, so the main
 * thread can choose the transport without handing live objects across threads. The default is
 * the in-process bus; another transport (e.g. UDP multicast) plugs in by naming a module that
 * exports a `TransportFactory`.
 */
import type { Endpoint, Transport } from '../transport/transport.js';
import { type BusTopology, type FaultSettings, createBusTransport } from '../transport/bus.js';
import { ConfigurationError } from '../protocol/options.js';

/** What a transport factory learns about the member it serves. */
export interface TransportContext {
  /** The members this transport carries messages for (every role the worker hosts). */
  readonly members: readonly Endpoint[];
  /** Group sizes of the whole cluster. */
  readonly topology: BusTopology;
  /** Unique per cluster (the bus uses it to name its channels). */
  readonly clusterId: string;
  /** Initial bus faults; transports without fault injection ignore them. */
  readonly faults?: FaultSettings;
}

/** Builds one member's transport inside its worker. `settings` is whatever `TransportSpec.settings` held. */
export type TransportFactory = (settings: unknown, context: TransportContext) => Transport | Promise<Transport>;

/**
 * Names a transport for `Cluster.start({ transport })`. Everything here must survive structured
 * clone, since each worker receives it and imports `module` itself.
 */
export interface TransportSpec {
  /** Module specifier or absolute `file:` URL that each worker can `import()`. */
  readonly module: string;
  /** Name of the exported `TransportFactory`. Default `createTransport`. */
  readonly export?: string;
  /** Serializable settings passed to the factory. */
  readonly settings?: unknown;
}

/** Check a transport spec on the main thread, before any worker starts. */
export function validateTransportSpec(spec: unknown): TransportSpec | undefined {
  if (spec === undefined) return undefined;
  const s = spec as TransportSpec;
  if (typeof s !== 'object' || s === null || typeof s.module !== 'string' || s.module.length === 0) {
    throw new ConfigurationError('transport must be { module: string, export?: string, settings?: unknown }');
  }
  if (s.export !== undefined && typeof s.export !== 'string') throw new ConfigurationError('transport.export must be a string');
  try {
    structuredClone(s.settings);
  } catch (e) {
    throw new ConfigurationError(`transport.settings must survive structured clone: ${(e as Error).message}`);
  }
  return { module: s.module, export: s.export, settings: s.settings };
}

/** Build the transport a spec names (the bus when there is none). Runs inside the worker. */
export async function createTransport(spec: TransportSpec | undefined, context: TransportContext): Promise<Transport> {
  if (!spec) return createBusTransport({ namespace: context.clusterId, topology: context.topology, faults: context.faults });
  const mod = (await import(spec.module)) as Record<string, unknown>;
  const name = spec.export ?? 'createTransport';
  const factory = mod[name];
  if (typeof factory !== 'function') throw new ConfigurationError(`transport module ${spec.module} has no exported function ${name}`);
  return (factory as TransportFactory)(spec.settings, context);
}
