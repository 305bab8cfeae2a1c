// A strict TypeScript consumer of the installed package: the types of every entry point check.
import { Cluster, type ClusterOptions, type HostedMembers, type TransportSpec, type LearnedValue, NotHostedError, SessionExpiredError } from 'paxos-cluster';
import { Acceptor, type Message, type Ready, resolveOptions } from 'paxos-cluster/protocol';
import { RoleHost, type HostStorage } from 'paxos-cluster/host';
import { type Transport, BusTransport } from 'paxos-cluster/transport';
import { type UdpMulticastSettings, checkBatchFits, parseConfig, udpTransportSpec } from 'paxos-cluster/udp';
import type { AcceptorStore } from 'paxos-cluster/storage';

const options: ClusterOptions<{ op: string }> = { proposers: 1, acceptors: 3, learners: 1, clients: 1 };
const settings: UdpMulticastSettings = {
  groups: {
    clients: { address: '239.0.0.1', port: 5000 }, proposers: { address: '239.0.0.1', port: 6000 },
    acceptors: { address: '239.0.0.1', port: 7000 }, learners: { address: '239.0.0.1', port: 8000 },
  },
};
// A replica per host: the shape of the deployment, this host's members, a transport from a paxos.conf.
const unicast: TransportSpec = udpTransportSpec(parseConfig('acceptor 1 10.0.0.1 7001\nproposer 1 10.0.0.1 6001\nlearner 1 10.0.0.1 8001\nclient 1 10.0.0.1 5001\n'));
const replica: HostedMembers = { acceptors: [0], proposers: [0], learners: [0], clients: [0] };
const perHost: ClusterOptions = { proposers: 1, acceptors: 1, learners: 1, clients: 1, host: replica, transport: unicast };
checkBatchFits(resolveOptions({ proposers: 1, acceptors: 3 }));
const acceptor = new Acceptor(0, resolveOptions({ proposers: 1, acceptors: 3 }));
const ready: Ready = acceptor.takeReady();
const first: Message | undefined = ready.messages[0]?.message;
const transport: Transport = new BusTransport({ namespace: 'n', topology: { clients: 0, proposers: 1, acceptors: 1, learners: 0 } });
const storage: HostStorage = { persist: (_writes, released) => released() };
const host = new RoleHost([{ role: acceptor, storage }], transport, { now: () => 0 });
let store: AcceptorStore | undefined;

const cluster = await Cluster.start(options);
const position: number = await cluster.submit({ op: 'set' });
for await (const v of cluster.learned({ from: 0 })) {
  const value: LearnedValue<{ op: string }> = v;
  console.log(`${value.position} ${value.value.op} ${position}`);
  break;
}
await cluster.stop();
console.log(first === undefined, host.roles.length, store === undefined, settings.groups.clients.port, SessionExpiredError.name, NotHostedError.name, perHost.transport?.export);
