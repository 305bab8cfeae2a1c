/** udpTransportSpec (lib/transport/udp-config.ts): a parsed paxos.conf to the transport spec a cluster's workers build. */
import { expect } from 'chai';
import { parseConfig } from '../../lib/transport/config-file.js';
import { udpTransportSpec } from '../../lib/transport/udp-config.js';

describe('udpTransportSpec', () => {
  it('a multicast config gives the multicast transport, a unicast one the unicast transport with every member\'s address', () => {
    const multicast = udpTransportSpec(parseConfig('clients 239.0.0.1 5000\nproposers 239.0.0.1 6000\nacceptors 239.0.0.1 7000\nlearners 239.0.0.1 8000'),
      { secret: 's' });
    expect(multicast.export).to.equal('createTransport');
    expect(multicast.settings).to.deep.include({ secret: 's' });
    const unicast = udpTransportSpec(parseConfig('client 1 10.0.0.4 5000\nproposer 1 10.0.0.1 6000\nacceptor 1 10.0.0.1 7000\nlearner 1 10.0.0.2 8000'),
      { secret: 's', bind: '0.0.0.0' });
    expect(unicast.export).to.equal('createUdpUnicastTransport');
    expect(unicast.module).to.equal(multicast.module);
    expect(unicast.settings).to.deep.equal({
      members: {
        clients: [{ address: '10.0.0.4', port: 5000 }], proposers: [{ address: '10.0.0.1', port: 6000 }],
        acceptors: [{ address: '10.0.0.1', port: 7000 }], learners: [{ address: '10.0.0.2', port: 8000 }],
      },
      secret: 's', bind: '0.0.0.0',
    });
  });

  it('an option of the other kind is a configuration error', () => {
    const unicast = parseConfig('client 1 10.0.0.4 5000\nproposer 1 10.0.0.1 6000\nacceptor 1 10.0.0.1 7000\nlearner 1 10.0.0.2 8000');
    expect(() => udpTransportSpec(unicast, { interface: 'eth0' })).to.throw(/interface is for multicast/);
    const multicast = parseConfig('clients 239.0.0.1 5000\nproposers 239.0.0.1 6000\nacceptors 239.0.0.1 7000\nlearners 239.0.0.1 8000');
    expect(() => udpTransportSpec(multicast, { bind: '0.0.0.0' })).to.throw(/bind is for unicast/);
  });
});
