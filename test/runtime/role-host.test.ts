/**
 * One RoleHost, several roles: three "replicas" (proposer, acceptor and learner i in one host,
 * sharing one bus endpoint) and a client host order values in one thread, as three processes of
 * `paxos acceptor,proposer,learner i` do over UDP.
 */
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Acceptor } from '../../lib/protocol/acceptor.js';
import { Client } from '../../lib/protocol/client.js';
import { Learner } from '../../lib/protocol/learner.js';
import { resolveOptions } from '../../lib/protocol/options.js';
import { Proposer } from '../../lib/protocol/proposer.js';
import type { Delivery, Ready, Role } from '../../lib/protocol/role.js';
import { type HostStorage, RoleHost } from '../../lib/runtime/role-host.js';
import { BusTransport } from '../../lib/transport/bus.js';
import type { Message, Outgoing } from '../../lib/protocol/messages.js';
import type { Endpoint, Transport } from '../../lib/transport/transport.js';
import { waitFor } from '../kit/wait.js';

const options = resolveOptions({ acceptors: 3, proposers: 3, heartbeatIntervalMs: 10, leaderTimeoutMs: 100 });

describe('RoleHost', () => {
  // One replica: every message between roles stays inside one host (loopback between hosted members).
  for (const n of [1, 3]) it(`hosts several roles over one transport: ${n} replica(s) and a client order values identically`, async () => {
    const options = resolveOptions({ acceptors: n, proposers: n, heartbeatIntervalMs: 10, leaderTimeoutMs: 100 });
    const topology = { clients: 1, proposers: n, acceptors: n, learners: n };
    const namespace = randomUUID();
    const learned = new Map<number, Delivery[]>();
    const onReady = (role: Role, ready: Ready): void => {
      if (ready.deliveries.length) learned.set(role.id, [...(learned.get(role.id) ?? []), ...ready.deliveries]);
    };
    const hosts: RoleHost[] = [];
    for (let i = 0; i < n; i++) {
      const roles = [
        new Proposer(i, options, { incarnation: 100 + i, random: Math.random }), new Acceptor(i, options), new Learner(i, options),
      ];
      hosts.push(new RoleHost(roles, new BusTransport({ namespace, topology }), { now: () => performance.now(), tickMs: 5, onReady }));
    }
    const client = new Client(0, options, { nonce: () => randomUUID() });
    const clientHost = new RoleHost([client], new BusTransport({ namespace, topology }), { now: () => performance.now(), tickMs: 5 });
    hosts.push(clientHost);
    try {
      for (const h of hosts) await h.start();
      const values = Array.from({ length: 50 }, (_, k) => `v${k}`);
      clientHost.act(client, (c, now) => { for (const v of values) c.submit(v, now); });
      const ids = [...Array(n).keys()];
      await waitFor(() => ids.every((i) => (learned.get(i)?.length ?? 0) >= values.length), 10_000, 'every learner to learn every value');
      const orders = ids.map((i) => learned.get(i)!.map((d) => d.value));
      expect(orders[0]).to.have.members(values);
      for (const order of orders) expect(order).to.deep.equal(orders[0]);
    } finally {
      for (const h of hosts) await h.stop();
    }
  });

  it('sends a Ready only once its writes are durable, in order, and never after the storage failed', () => {
    const sent: Message[] = [];
    const transport: Transport = { start: () => undefined, send: (_f: Endpoint, out: readonly Outgoing[]) => { for (const o of out) sent.push(o.message); }, close: () => undefined };
    const pending: (() => void)[] = [];
    const storage: HostStorage = { persist: (_writes, released) => { pending.push(released); } };
    const acceptor = new Acceptor(0, options, undefined, { logWrites: true });
    const host = new RoleHost([{ role: acceptor, storage }], transport, { now: () => 0 });
    host.deliver({ type: 'prepare', ballot: { round: 1, node: 1 }, from: 0 }, { group: 'acceptors', id: 0 });
    host.deliver({ type: 'accept', ballot: { round: 1, node: 1 }, instance: 0, batch: [] }, { group: 'acceptors', id: 0 });
    expect(sent, 'nothing leaves before the disk has it').to.deep.equal([]);
    pending.shift()!();
    expect(sent.map((m) => m.type)).to.deep.equal(['promise']);
    host.halt();
    pending.shift()!();
    expect(sent.map((m) => m.type), 'a halted host sends nothing more').to.deep.equal(['promise']);
  });

  it('stop() after halt() still closes the transport, once', async () => {
    let closed = 0;
    const transport: Transport = { start: () => undefined, send: () => undefined, close: () => { closed++; } };
    const host = new RoleHost([new Learner(0, options)], transport, { now: () => 0 });
    await host.start();
    host.halt();
    await Promise.all([host.stop(), host.stop()]);
    expect(closed).to.equal(1);
  });
});
