/** paxos.conf: the multicast groups, or the unicast members, that every `paxos` process reads. */
import { expect } from 'chai';
import { ConfigFileError, type PaxosConfig, parseConfig } from '../../lib/transport/config-file.js';

function expectErrors(cases: readonly [string, RegExp][]): void {
  for (const [text, re] of cases) {
    expect(() => parseConfig(text, 'f'), text).to.throw(ConfigFileError, re);
    try {
      parseConfig(text, 'f');
    } catch (err) {
      expect((err as Error).message).to.not.include('\n');
    }
  }
}

function multicast(c: PaxosConfig): Extract<PaxosConfig, { transport: 'multicast' }> {
  if (c.transport !== 'multicast') throw new Error(`expected a multicast config, got ${c.transport}`);
  return c;
}

const UNICAST = [
  'client 1 10.0.0.9 5000', 'client 2 10.0.0.9 5001', 'proposer 1 10.0.0.1 6000', 'proposer 2 10.0.0.2 6000',
  'acceptor 1 10.0.0.1 7000', 'acceptor 2 10.0.0.2 7000', 'acceptor 3 10.0.0.3 7000', 'learner 1 10.0.0.1 8000',
].join('\n') + '\n';

describe('paxos.conf', () => {
  it('reads one line per role, with comments', () => {
    const c = multicast(parseConfig('# groups\nclients 239.0.0.1 5000\nproposers 239.0.0.1 6000 # leader\n\nacceptors 239.0.0.1 7000\nlearners 239.0.0.1 8000\n'));
    expect(c.groups.acceptors).to.deep.equal({ address: '239.0.0.1', port: 7000 });
    expect(c.members).to.deep.equal({});
  });

  it('reads the older one-line-per-member form, with or without ids, and counts members', () => {
    const c = multicast(parseConfig([
      'client 239.0.0.1 5000', 'proposer 1 239.0.0.1 6000', 'proposer 2 239.0.0.1 6000',
      'acceptors 239.0.0.1 7000', 'acceptors 239.0.0.1 7000', 'acceptors 239.0.0.1 7000', 'acceptors 239.0.0.1 7000', 'acceptors 239.0.0.1 7000',
      'LEARNERS 239.0.0.1 8000',
    ].join('\n')));
    expect(c.members).to.deep.equal({ proposers: 2, acceptors: 5 });
    expect(c.groups.proposers.port).to.equal(6000);
  });

  it('gives one-line errors naming the line', () => {
    const base = 'clients 239.0.0.1 5000\nproposers 239.0.0.1 6000\nacceptors 239.0.0.1 7000\nlearners 239.0.0.1 8000\n';
    expectErrors([
      [base + 'replicas 239.0.0.1 9000', /f:5: unknown role "replicas"/],
      [base.replace('7000', '70000'), /f:3: bad port "70000"/],
      [base.replace('239.0.0.1 8000', 'somehost 8000'), /f:4: "somehost" is not an IPv4 address/],
      [base + 'acceptors 239.0.0.2 7000', /f:5: acceptors already use 239.0.0.1 7000 \(line 3\)/],
      [base.replace('learners 239.0.0.1 8000\n', ''), /f: no line for learners/],
      [base + 'acceptors x 239.0.0.1 7000', /f:5: expected "<role> \[<id>\] <ip> <port>"/],
    ]);
  });

  it('per-member lines with unicast addresses select unicast: every member of every role, API-indexed (file id - 1), counted', () => {
    const c = parseConfig(`# unicast\n${UNICAST.split('\n').reverse().join('\n')}`, 'f');
    if (c.transport !== 'unicast') throw new Error('expected unicast');
    expect(c.members).to.deep.equal({ clients: 2, proposers: 2, acceptors: 3, learners: 1 });
    expect(c.addresses.acceptors).to.deep.equal([
      { address: '10.0.0.1', port: 7000 }, { address: '10.0.0.2', port: 7000 }, { address: '10.0.0.3', port: 7000 },
    ]);
    expect(c.addresses.clients[1]).to.deep.equal({ address: '10.0.0.9', port: 5001 });
  });

  it('unicast errors name file and line: mixed kinds, a line without id, id 0, duplicates, gaps, a shared address, a missing role', () => {
    const lines = UNICAST.trimEnd().split('\n');
    const edit = (i: number, line: string): string => lines.map((l, j) => (j === i ? line : l)).join('\n');
    expectErrors([
      [UNICAST + 'learners 239.0.0.1 8000', /f:9: "239\.0\.0\.1" is a multicast address, but line 1 gives a unicast member: a config file is all/],
      ['clients 239.0.0.1 5000\nacceptor 1 10.0.0.1 7000', /f:2: "10\.0\.0\.1" is a unicast address, but line 1 gives a multicast group/],
      [UNICAST + 'learner 10.0.0.2 8000', /f:9: a unicast line names its member: "learner <id> 10\.0\.0\.2 8000"/],
      [UNICAST + 'learner 0 10.0.0.2 8000', /f:9: learner id 0: ids count from 1/],
      [UNICAST + 'acceptor 2 10.0.0.7 7000', /f:9: acceptor 2 is listed twice \(line 6\)/],
      [edit(6, 'acceptor 4 10.0.0.3 7000'), /f:7: acceptor 4 is listed but acceptor 3 is not/],
      [edit(7, 'learner 1 10.0.0.1 7000'), /f:8: 10\.0\.0\.1 7000 is already the address of acceptor 1 \(line 5\)/],
      [lines.filter((l) => !l.startsWith('learner')).join('\n'), /^f: no line for learners \(each role needs "<role> <id> <ip> <port>" per member\)/],
      [UNICAST + 'learner 2 0.0.0.0 8000', /f:9: 0\.0\.0\.0 is no member's address/],
    ]);
  });
});
