/** The default value codec: what JSON gives back equal travels; anything JSON would change is refused, not changed. */
import { expect } from 'chai';
import { defaultCodec, rawCodec } from '../../lib/cluster/codec.js';

class Point { constructor(readonly x: number) {} }

describe('value codecs', () => {
  it('the default codec gives back what it took: strings (NUL-prefixed too), bytes and plain JSON data', () => {
    const nested = { op: 'set', list: [1, 'two', { three: [null, true, false] }], empty: {}, none: null, bare: Object.create(null) as object };
    for (const v of ['plain', '\u0000NUL first', '', new Uint8Array([0, 255]), 42, -1.5, 0, null, true, [], [1, [2]], nested]) {
      expect(defaultCodec.decode(defaultCodec.encode(v))).to.deep.equal(v);
    }
  });

  it('the default codec refuses, with ValueEncodingError, what JSON would change or drop', () => {
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    const refused: [unknown, string][] = [
      [undefined, 'the value is undefined'],
      [() => 1, 'the value is a function'],
      [10n, 'the value is a bigint'],
      [Symbol('s'), 'the value is a symbol'],
      [NaN, 'the value is NaN'],
      [{ n: Infinity }, 'the value.n is Infinity'],
      [new Date(0), 'the value is a Date'],
      [new Map([[1, 2]]), 'the value is a Map'],
      [{ s: new Set([1]) }, 'the value.s is a Set'],
      [new Point(1), 'the value is a Point'],
      [{ a: undefined }, 'the value.a is undefined'],
      [[1, , 3], 'the value[1] is a hole'],
      [{ bytes: new Uint8Array([1]) }, 'the value.bytes is a Uint8Array'],
      [cycle, 'the value.self is a cycle'],
    ];
    for (const [value, where] of refused) {
      let error: (Error & { code?: string }) | undefined;
      try {
        defaultCodec.encode(value);
      } catch (e) {
        error = e as Error;
      }
      expect(error?.code, where).to.equal('ERR_PAXOS_VALUE_ENCODING');
      expect(error?.message, where).to.contain(where);
    }
  });

  it('a shared (not cyclic) object is fine', () => {
    const shared = { k: 1 };
    expect(defaultCodec.decode(defaultCodec.encode({ a: shared, b: shared }))).to.deep.equal({ a: { k: 1 }, b: { k: 1 } });
  });

  it('rawCodec passes strings and bytes only', () => {
    expect(rawCodec.encode('x')).to.equal('x');
    expect(() => rawCodec.encode({} as never)).to.throw(TypeError).with.property('code', 'ERR_PAXOS_VALUE_ENCODING');
  });
});
