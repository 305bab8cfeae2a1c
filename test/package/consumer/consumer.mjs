// A plain-JavaScript consumer of the installed package: every entry point resolves, and a
// cluster whose workers import their transport by package name orders a value.
import { Cluster, ConfigurationError } from 'paxos-cluster';
import { Acceptor, resolveOptions } from 'paxos-cluster/protocol';
import { RoleHost } from 'paxos-cluster/host';
import { BusTransport } from 'paxos-cluster/transport';
import { createTransport } from 'paxos-cluster/udp';
import { openAcceptorStore } from 'paxos-cluster/storage';

for (const [name, x] of Object.entries({ Acceptor, RoleHost, BusTransport, createTransport, openAcceptorStore, ConfigurationError })) {
  if (typeof x !== 'function') throw new Error(`${name} is not exported`);
}
const cluster = await Cluster.start({
  proposers: 1, acceptors: 3, learners: 1, clients: 1, window: resolveOptions({ proposers: 1, acceptors: 3 }).window,
  transport: { module: 'paxos-cluster/transport', export: 'busTransportFactory' },
});
const position = await cluster.submit('hello from a consumer');
for await (const v of cluster.learned({ from: 0 })) {
  console.log(`${v.position} ${v.value} ${position}`);
  break;
}
await cluster.stop();
