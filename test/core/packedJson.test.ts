import { describe, expect, it } from 'vitest';
import { JsonPacker, unpack, type Packed } from '../../src/core/protocol/packedJson';
import { deepFreeze } from '../../src/node/store/summaryIndex';

const roundTrip = (v: unknown, packer = new JsonPacker()) => unpack(JSON.parse(packer.text(v)) as Packed);
const viaJson = (v: unknown) => JSON.parse(JSON.stringify(v)) as unknown;

describe('packed JSON (the run list on the wire, issue 16)', () => {
  it('gives back what JSON would, key order included', () => {
    const values: unknown[] = [
      null,
      0,
      -1,
      'text with "quotes", \\ and \u2028',
      true,
      [],
      {},
      [[], [[-1]], { a: [] }],
      [-1, -1, 0],
      { b: 1, a: { c: [1, 'x', null, { d: false }] }, e: undefined, f: () => 1 },
      [undefined, Number.NaN, Infinity, { n: -0 }],
      { nested: { shape: { like: 1 } }, other: { shape: { like: 2 } } },
      { __proto__key: 1, ['__proto__']: { polluted: true } },
      { when: new Date(Date.UTC(2026, 11, 4)) },
    ];
    for (const v of values) expect(roundTrip(v), JSON.stringify(v)).toEqual(viaJson(v));
    // "__proto__" stays a member and never becomes the prototype.
    const back = roundTrip(JSON.parse('{"__proto__": {"polluted": true}}')) as Record<string, unknown>;
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect(Object.keys(back)).toEqual(['__proto__']);
  });

  it('writes each shape once: many objects of one shape take far fewer bytes than JSON', () => {
    const runs = Array.from({ length: 200 }, (_, i) => ({
      id: `run-${i}`,
      status: 'completed',
      progress: { step: i, bestValMse: 0.5 },
      results: { testMse: i / 200 },
    }));
    const text = new JsonPacker().text({ runs, problems: [] });
    const packed = JSON.parse(text) as Packed;
    expect(packed.shapes).toEqual([['runs', 'problems'], ['id', 'status', 'progress', 'results'], ['step', 'bestValMse'], ['testMse']]);
    expect(text.length).toBeLessThan(0.6 * JSON.stringify({ runs, problems: [] }).length);
    expect(unpack(packed)).toEqual({ runs, problems: [] });
  });

  it('reuses the text of a deeply frozen element, and never of one that can change', () => {
    let reads = 0;
    const counted = {
      get value() {
        reads++;
        return 1;
      },
    };
    const frozen = deepFreeze({ id: 'a', inner: counted });
    const packer = new JsonPacker();
    expect(roundTrip([frozen], packer)).toEqual([{ id: 'a', inner: { value: 1 } }]);
    const afterFirst = reads;
    expect(afterFirst).toBeGreaterThan(0);
    expect(roundTrip([frozen], packer)).toEqual([{ id: 'a', inner: { value: 1 } }]);
    expect(reads).toBe(afterFirst);

    // Frozen on top, not inside: its text is made again each time, so a change inside shows.
    const shallow = Object.freeze({ id: 'b', progress: { step: 1 } });
    expect(roundTrip([shallow], packer)).toEqual([{ id: 'b', progress: { step: 1 } }]);
    shallow.progress.step = 2;
    expect(roundTrip([shallow], packer)).toEqual([{ id: 'b', progress: { step: 2 } }]);
    // Not frozen at all.
    const open = { id: 'c', status: 'running' };
    roundTrip([open], packer);
    open.status = 'completed';
    expect(roundTrip([open], packer)).toEqual([{ id: 'c', status: 'completed' }]);
  });

  it('refuses a packed value that does not fit its shapes', () => {
    expect(() => unpack({ shapes: [['a', 'b']], value: [0, 1] })).toThrow(/shape 0 does not fit/);
    expect(() => unpack({ shapes: [], value: [3, 1] })).toThrow(/shape 3/);
    expect(() => unpack({ value: 1 } as unknown as Packed)).toThrow(/no shapes/);
  });
});
