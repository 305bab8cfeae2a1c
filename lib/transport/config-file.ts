/**
 * The `paxos.conf` file of the UDP processes: where each role's multicast group is, or where
 * every member is reached over unicast.
 *
 * ```text
 *  # multicast: one line per role, <role> <ip> <port>
 *  clients   239.0.0.1 5000
 *  proposers 239.0.0.1 6000
 *  acceptors 239.0.0.1 7000
 *  learners  239.0.0.1 8000
 * ```
 *
 * The older multicast form with one line per member is accepted too: the same role line repeated
 * once per member (`acceptors 239.0.0.1 7000` three times), optionally with the member id after
 * the role (`acceptor 1 239.0.0.1 7000`). All members of a role share its group, so their lines
 * must agree on address and port; the number of members listed becomes the default
 * `--acceptors` / `--proposers` count.
 *
 * A file whose lines give unicast addresses selects the unicast transport: one
 * `<role> <id> <ip> <port>` line per member of every role (clients and learners too), ids
 * counted from 1 as on the command line, every id from 1 to the role's count once. Roles may be
 * singular or plural; `#` starts a comment. A file is all multicast or all unicast.
 */
import { readFileSync } from 'node:fs';
import { isIPv4 } from 'node:net';
import type { Group } from '../protocol/messages.js';
import { GROUPS } from '../protocol/messages.js';
import { type GroupAddress, isMulticastAddress } from './udp-multicast.js';
import type { MemberAddress } from './udp-unicast.js';

/** One multicast group per role. */
export interface MulticastConfig {
  readonly transport: 'multicast';
  /** The multicast group of every role. */
  readonly groups: Readonly<Record<Group, GroupAddress>>;
  /**
   * Members a role lists in the one-line-per-member form (distinct ids, or repeated lines);
   * absent for a role given by a single line.
   */
  readonly members: Readonly<Partial<Record<Group, number>>>;
}

/** One unicast address per member. */
export interface UnicastConfig {
  readonly transport: 'unicast';
  /** Every member's address by role, indexed by API id (the file's id - 1). */
  readonly addresses: Readonly<Record<Group, readonly MemberAddress[]>>;
  /** Members listed per role (every role has at least one). */
  readonly members: Readonly<Record<Group, number>>;
}

export type PaxosConfig = MulticastConfig | UnicastConfig;

/** A config file that cannot be used; the message is one line naming the file and line. */
export class ConfigFileError extends Error {
  readonly code = 'ERR_PAXOS_CONFIG_FILE';
  constructor(message: string) {
    super(message);
    this.name = 'ConfigFileError';
  }
}

const ROLE_NAMES: Readonly<Record<string, Group>> = {
  client: 'clients', clients: 'clients',
  proposer: 'proposers', proposers: 'proposers',
  acceptor: 'acceptors', acceptors: 'acceptors',
  learner: 'learners', learners: 'learners',
};

/** A role name, singular or plural, any case; undefined if unknown. */
export function parseRole(name: string): Group | undefined {
  return ROLE_NAMES[name.toLowerCase()];
}

const isDecimal = (s: string): boolean => /^\d+$/.test(s);
const singular = (g: Group): string => g.slice(0, -1);

/** One meaningful line of the file. */
interface Line {
  readonly lineNo: number;
  readonly where: string;
  readonly role: Group;
  readonly id: number | undefined;
  readonly address: string;
  readonly port: number;
  readonly kind: 'multicast' | 'unicast';
}

function parseLine(raw: string, lineNo: number, file: string): Line | undefined {
  const where = `${file}:${lineNo}`;
  const fields = raw.replace(/#.*/, '').trim().split(/\s+/).filter(Boolean);
  if (fields.length === 0) return undefined;
  const role = parseRole(fields[0]!);
  if (!role) throw new ConfigFileError(`${where}: unknown role "${fields[0]}" (expected clients, proposers, acceptors or learners)`);
  const expected = `${where}: expected "<role> [<id>] <ip> <port>", got "${raw.trim()}"`;
  let id: number | undefined;
  let rest = fields.slice(1);
  if (rest.length === 3) {
    if (!isDecimal(rest[0]!)) throw new ConfigFileError(expected);
    id = Number(rest[0]);
    rest = rest.slice(1);
  }
  if (rest.length !== 2) throw new ConfigFileError(expected);
  const [address, portText] = rest as [string, string];
  if (!isIPv4(address)) throw new ConfigFileError(`${where}: "${address}" is not an IPv4 address`);
  if (address === '0.0.0.0') throw new ConfigFileError(`${where}: 0.0.0.0 is no member's address (bind to it with --bind)`);
  const port = Number(portText);
  if (!isDecimal(portText) || port < 1 || port > 65535) throw new ConfigFileError(`${where}: bad port "${portText}" (1 to 65535)`);
  return { lineNo, where, role, id, address, port, kind: isMulticastAddress(address) ? 'multicast' : 'unicast' };
}

export function parseConfig(text: string, file = 'config'): PaxosConfig {
  const lines: Line[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = parseLine(raw, index + 1, file);
    if (!line) return;
    const first = lines[0];
    if (first && line.kind !== first.kind) {
      throw new ConfigFileError(`${line.where}: "${line.address}" is a ${line.kind} address, but line ${first.lineNo} gives a ${first.kind} ` +
        `${first.kind === 'multicast' ? 'group' : 'member'}: a config file is all multicast groups or all unicast members`);
    }
    lines.push(line);
  });
  const missing = GROUPS.filter((g) => !lines.some((l) => l.role === g));
  if (missing.length) {
    const form = lines[0]?.kind === 'unicast' ? '"<role> <id> <ip> <port>" per member' : '"<role> <ip> <port>"';
    throw new ConfigFileError(`${file}: no line for ${missing.join(', ')} (each role needs ${form})`);
  }
  return lines[0]!.kind === 'unicast' ? unicastConfig(lines, file) : multicastConfig(lines);
}

function multicastConfig(lines: readonly Line[]): MulticastConfig {
  const groups: Partial<Record<Group, Line>> = {};
  const counts: Partial<Record<Group, number>> = {};
  const ids: Partial<Record<Group, Set<number>>> = {};
  for (const line of lines) {
    const known = groups[line.role];
    if (known && (known.address !== line.address || known.port !== line.port)) {
      throw new ConfigFileError(`${line.where}: ${line.role} already use ${known.address} ${known.port} (line ${known.lineNo}); ` +
        'all members of a role share one multicast group');
    }
    groups[line.role] ??= line;
    counts[line.role] = (counts[line.role] ?? 0) + 1;
    if (line.id !== undefined) (ids[line.role] ??= new Set()).add(line.id);
  }
  const members: Partial<Record<Group, number>> = {};
  for (const g of GROUPS) {
    if (ids[g]) members[g] = ids[g]!.size;
    else if ((counts[g] ?? 0) > 1) members[g] = counts[g]!;
  }
  const plain = (g: Group): GroupAddress => ({ address: groups[g]!.address, port: groups[g]!.port });
  return {
    transport: 'multicast',
    groups: { clients: plain('clients'), proposers: plain('proposers'), acceptors: plain('acceptors'), learners: plain('learners') },
    members,
  };
}

/** Every member once, ids 1..N per role, no address:port twice. */
function unicastConfig(lines: readonly Line[], file: string): UnicastConfig {
  const byRole: Record<Group, Map<number, Line>> = { clients: new Map(), proposers: new Map(), acceptors: new Map(), learners: new Map() };
  const owners = new Map<string, Line>();
  for (const line of lines) {
    const name = singular(line.role);
    if (line.id === undefined) throw new ConfigFileError(`${line.where}: a unicast line names its member: "${name} <id> ${line.address} ${line.port}"`);
    if (line.id < 1) throw new ConfigFileError(`${line.where}: ${name} id 0: ids count from 1`);
    const twice = byRole[line.role].get(line.id);
    if (twice) throw new ConfigFileError(`${line.where}: ${name} ${line.id} is listed twice (line ${twice.lineNo})`);
    const key = `${line.address} ${line.port}`;
    const owner = owners.get(key);
    if (owner) throw new ConfigFileError(`${line.where}: ${key} is already the address of ${singular(owner.role)} ${owner.id} (line ${owner.lineNo})`);
    owners.set(key, line);
    byRole[line.role].set(line.id, line);
  }
  const addresses = {} as Record<Group, MemberAddress[]>;
  const members = {} as Record<Group, number>;
  for (const g of GROUPS) {
    const list = [...byRole[g].values()].sort((a, b) => a.id! - b.id!);
    const gap = list.findIndex((l, i) => l.id !== i + 1);
    if (gap >= 0) {
      const l = list[gap]!;
      throw new ConfigFileError(`${l.where}: ${singular(g)} ${l.id} is listed but ${singular(g)} ${gap + 1} is not (${file} must list ids 1 to N)`);
    }
    addresses[g] = list.map((l) => ({ address: l.address, port: l.port }));
    members[g] = list.length;
  }
  return { transport: 'unicast', addresses, members };
}

export function readConfigFile(path: string): PaxosConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigFileError(`${path}: cannot read config file${code ? ` (${code})` : ''}`);
  }
  return parseConfig(text, path);
}
