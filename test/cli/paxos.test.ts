/** The `paxos` command without a network: usage, and one-line errors with exit code 2 for bad input. */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI_PATH } from '../kit/netns.js';
import { tempDir } from '../kit/temp-dir.js';

describe('paxos CLI (no network)', () => {
  const { path: dir, remove } = tempDir('paxos-cli-');
  after(remove);
  const good = join(dir, 'paxos.conf');
  writeFileSync(good, 'clients 239.0.0.1 5000\nproposers 239.0.0.1 6000\nacceptors 239.0.0.1 7000\nlearners 239.0.0.1 8000\n');
  const unicast = join(dir, 'unicast.conf');
  writeFileSync(unicast, ['client 1 10.0.0.9 5001', 'proposer 1 10.0.0.1 6001', 'proposer 2 10.0.0.2 6001', 'acceptor 1 10.0.0.1 7001',
    'acceptor 2 10.0.0.2 7001', 'acceptor 3 10.0.0.3 7001', 'learner 1 10.0.0.1 8001', 'learner 2 10.0.0.2 8001', ''].join('\n'));
  const bad = join(dir, 'bad.conf');
  writeFileSync(bad, 'clients 239.0.0.1 5000\nwhatever\n');
  const run = (...args: string[]): { status: number | null; stdout: string; stderr: string } => {
    const r = spawnSync(process.execPath, [CLI_PATH, ...args], { encoding: 'utf8', timeout: 10_000 });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };

  it('--help explains usage and exits 0', () => {
    const r = run('--help');
    expect(r.status).to.equal(0);
    expect(r.stdout).to.match(/usage: paxos <role> <id> <config>/);
    expect(r.stdout).to.match(/--secret/);
    expect(r.stdout).to.match(/--bind ADDR +unicast only/);
    expect(r.stdout).to.match(/every role counts from 1/);
  });

  it('a bad role, id, option or config file is a one-line error with exit code 2', () => {
    const cases: [string[], RegExp][] = [
      [['replica', '1', good], /unknown role "replica"/],
      [['acceptor', '0', good], /acceptor id 0 out of range: ids run from 1 to 3/],
      [['proposer', '3', good], /proposer id 3 out of range/],
      [['learner', 'x', good], /bad id "x"/],
      [['learner', '1', bad], /bad\.conf:2: unknown role "whatever"/],
      [['learner', '1', join(dir, 'missing.conf')], /cannot read config file \(ENOENT\)/],
      [['learner', '1', good, '--window', 'lots'], /--window must be an integer/],
      [['learner', '1', good, '--frobnicate'], /Unknown option '--frobnicate'/],
      [['learner', '1'], /expected <role> <id> <config>/],
      [['learner', '1', good, '--batch-max-bytes', '70000'], /batchMaxBytes 70000 is too large/],
      [['learner', '1', good, '--interface', 'nosuch0'], /interface nosuch0: no such interface/],
      [['learner', '1', good, '--data-dir', dir], /--data-dir and --sync are for acceptors/],
      [['acceptor', '1', good, '--data-dir', dir, '--sync', 'maybe'], /--sync must be one of always, batch, none/],
      [['acceptor', '1', good, '--sync', 'always'], /--sync needs --data-dir/],
      [['client', '1', good, '--secret', ''], /secret must not be empty/],
      [['learner', '0', good], /learner id 0 out of range: ids count from 1/],
      [['client', '0', good], /client id 0 out of range: ids count from 1/],
      [['acceptor,learner', '0', good], /acceptor id 0 out of range/],
      [['learner', '1026', good], /learner id 1026 out of range \(1 to 1025\)/],
      [['learner', '1', good, '--bind', '0.0.0.0'], /--bind is for unicast, but .*paxos\.conf gives multicast groups/],
      [['learner', '1', unicast, '--interface', 'lo'], /--interface is for multicast, but .*unicast\.conf lists unicast members/],
      [['learner', '1', unicast, '--ttl', '2'], /--ttl is for multicast/],
      [['learner', '1', unicast, '--bind', 'anywhere'], /--bind must be an IPv4 address, got "anywhere"/],
      [['learner', '3', unicast], /learner 3 has no line in .*unicast\.conf \(it lists learners 1 to 2\)/],
      [['acceptor', '1', unicast, '--acceptors', '5'], /--acceptors 5, but .*unicast\.conf lists 3 acceptors/],
      [['acceptor', '1', good, '--voters', '1,4'], /--voters: "4" is no acceptor id \(1 to 3\)/],
      [['acceptor', '1', good, '--voters', '2,2'], /--voters lists an acceptor twice/],
    ];
    for (const [args, re] of cases) {
      const r = run(...args);
      expect(r.status, args.join(' ')).to.equal(2);
      expect(r.stderr.trim().split('\n'), args.join(' ')).to.have.length(1);
      expect(r.stderr, args.join(' ')).to.match(re);
      expect(r.stdout).to.equal('');
    }
  });
});
