/**
 * The `paxos.conf` file of the multicast processes: where each role's multicast group is.
 *
 * ```text
 *  # one line per role: <role> <ip> <port>
 *  clients   239.0.0.1 5000
 *  proposers 239.0.0.1 6000
 *  acceptors 239.0.0.1 7000
 *  learners  239.0.0.1 8000
 * ```
 *
 * The older form with one line per member is accepted too: the same role line repeated once per
 * member (`acceptors 239.0.0.1 7000` three times), optionally with the member id after the role
 * (`acceptor 1 239.0.0.1 7000`). All members of a role share its group, so their lines must agree
 * on address and port; the number of members listed becomes the default `--acceptors` /
 * `--proposers` count. Roles may be singular or plural; `#` starts a comment.
 */
import { readFileSync } from 'node:fs';
import type { Group } from '../protocol/messages.js';
import { GROUPS } from '../protocol/messages.js';
import { type GroupAddress, isMulticastAddress } from '../transport/udp-multicast.js';

export interface PaxosConfig {
  /** The multicast group of every role. */
  readonly groups: Readonly<Record<Group, GroupAddress>>;
  /**
   * Members a role lists in the one-line-per-member form (distinct ids, or repeated lines);
   * absent for a role given by a single line.
   */
  readonly members: Readonly<Partial<Record<Group, number>>>;
}

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

export function parseConfig(text: string, file = 'config'): PaxosConfig {
  const groups: Partial<Record<Group, GroupAddress & { line: number }>> = {};
  const lines: Partial<Record<Group, number>> = {};
  const ids: Partial<Record<Group, Set<number>>> = {};
  text.split(/\r?\n/).forEach((raw, index) => {
    const lineNo = index + 1;
    const where = `${file}:${lineNo}`;
    const fields = raw.replace(/#.*/, '').trim().split(/\s+/).filter(Boolean);
    if (fields.length === 0) return;
    const role = parseRole(fields[0]!);
    if (!role) throw new ConfigFileError(`${where}: unknown role "${fields[0]}" (expected clients, proposers, acceptors or learners)`);
    let id: number | undefined;
    let rest = fields.slice(1);
    if (rest.length === 3) {
      if (!isDecimal(rest[0]!)) throw new ConfigFileError(`${where}: expected "<role> [<id>] <ip> <port>", got "${raw.trim()}"`);
      id = Number(rest[0]);
      rest = rest.slice(1);
    }
    if (rest.length !== 2) throw new ConfigFileError(`${where}: expected "<role> [<id>] <ip> <port>", got "${raw.trim()}"`);
    const [address, portText] = rest as [string, string];
    if (!isMulticastAddress(address)) throw new ConfigFileError(`${where}: "${address}" is not an IPv4 multicast address (224.0.0.0 to 239.255.255.255)`);
    const port = Number(portText);
    if (!isDecimal(portText) || port < 1 || port > 65535) throw new ConfigFileError(`${where}: bad port "${portText}" (1 to 65535)`);
    const known = groups[role];
    if (known && (known.address !== address || known.port !== port)) {
      throw new ConfigFileError(`${where}: ${role} already use ${known.address} ${known.port} (line ${known.line}); all members of a role share one multicast group`);
    }
    if (!known) groups[role] = { address, port, line: lineNo };
    lines[role] = (lines[role] ?? 0) + 1;
    if (id !== undefined) (ids[role] ??= new Set()).add(id);
  });
  const missing = GROUPS.filter((g) => !groups[g]);
  if (missing.length) throw new ConfigFileError(`${file}: no line for ${missing.join(', ')} (each role needs "<role> <ip> <port>")`);
  const members: Partial<Record<Group, number>> = {};
  for (const g of GROUPS) {
    if (ids[g]) members[g] = ids[g]!.size;
    else if ((lines[g] ?? 0) > 1) members[g] = lines[g]!;
  }
  const plain = (g: Group): GroupAddress => ({ address: groups[g]!.address, port: groups[g]!.port });
  return {
    groups: { clients: plain('clients'), proposers: plain('proposers'), acceptors: plain('acceptors'), learners: plain('learners') },
    members,
  };
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
