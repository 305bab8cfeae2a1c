/** paxos.conf: the multicast groups file every `paxos` process reads. */
import { expect } from 'chai';
import { ConfigFileError, parseConfig } from '../../lib/cli/config-file.js';

describe('paxos.conf', () => {
  it('reads one line per role, with comments', () => {
    const c = parseConfig('# groups\nclients 239.0.0.1 5000\nproposers 239.0.0.1 6000 # leader\n\nacceptors 239.0.0.1 7000\nlearners 239.0.0.1 8000\n');
    expect(c.groups.acceptors).to.deep.equal({ address: '239.0.0.1', port: 7000 });
    expect(c.members).to.deep.equal({});
  });

  it('reads the older one-line-per-member form, with or without ids, and counts members', () => {
    const c = parseConfig([
      'client 239.0.0.1 5000', 'proposer 1 239.0.0.1 6000', 'proposer 2 239.0.0.1 6000',
      'acceptors 239.0.0.1 7000', 'acceptors 239.0.0.1 7000', 'acceptors 239.0.0.1 7000', 'acceptors 239.0.0.1 7000', 'acceptors 239.0.0.1 7000',
      'LEARNERS 239.0.0.1 8000',
    ].join('\n'));
    expect(c.members).to.deep.equal({ proposers: 2, acceptors: 5 });
    expect(c.groups.proposers.port).to.equal(6000);
  });

  it('gives one-line errors naming the line', () => {
    const base = 'clients 239.0.0.1 5000\nproposers 239.0.0.1 6000\nacceptors 239.0.0.1 7000\nlearners 239.0.0.1 8000\n';
    const cases: [string, RegExp][] = [
      [base + 'replicas 239.0.0.1 9000', /f:5: unknown role "replicas"/],
      [base.replace('7000', '70000'), /f:3: bad port "70000"/],
      [base.replace('239.0.0.1 8000', '10.0.0.1 8000'), /f:4: "10.0.0.1" is not an IPv4 multicast address/],
      [base + 'acceptors 239.0.0.2 7000', /f:5: acceptors already use 239.0.0.1 7000 \(line 3\)/],
      [base.replace('learners 239.0.0.1 8000\n', ''), /f: no line for learners/],
      [base + 'acceptors x 239.0.0.1 7000', /f:5: expected "<role> \[<id>\] <ip> <port>"/],
    ];
    for (const [text, re] of cases) {
      expect(() => parseConfig(text, 'f')).to.throw(ConfigFileError, re);
      try {
        parseConfig(text, 'f');
      } catch (err) {
        expect((err as Error).message).to.not.include('\n');
      }
    }
  });
});
