import { describe, expect, it } from 'vitest';
import { cartesian, expandSweep, groupKey, memberLabel, sweepSpecSchema } from '../../src/core/sweeps/spec';

describe('sweep spec expansion', () => {
  it('crosses every variant with every grid combination, base shared, later keys fastest', () => {
    const spec = sweepSpecSchema.parse({
      name: 'fernn-vs-grnn',
      base: { hidden: 16, 'image-size': 16 },
      variants: [
        { model: 'grnn', 'v-range': 0 },
        { model: 'fernn', 'v-range': 1 },
      ],
      grid: { seed: [0, 1, 2], lr: [0.001, 0.01] },
    });
    const members = expandSweep(spec);
    expect(members).toHaveLength(12);
    expect(members.map((m) => m.index)).toEqual([...Array(12).keys()]);
    expect(members[0].overrides).toEqual({ model: 'grnn', 'v-range': 0, seed: 0, lr: 0.001 });
    expect(members[1].overrides).toEqual({ model: 'grnn', 'v-range': 0, seed: 0, lr: 0.01 });
    expect(members[6].flags).toEqual({ hidden: 16, 'image-size': 16, model: 'fernn', 'v-range': 1, seed: 0, lr: 0.001 });
  });

  it('without variants or grid there is one member; grid values override a variant', () => {
    expect(expandSweep(sweepSpecSchema.parse({ name: 'one', base: { model: 'grnn' } }))).toEqual([{ index: 0, overrides: {}, flags: { model: 'grnn' } }]);
    const m = expandSweep(sweepSpecSchema.parse({ name: 'x', variants: [{ seed: 5 }], grid: { seed: [1] } }));
    expect(m[0].overrides).toEqual({ seed: 1 });
    expect(cartesian({ a: [1, 2], b: ['x'] })).toEqual([
      { a: 1, b: 'x' },
      { a: 2, b: 'x' },
    ]);
  });

  it('group keys leave out the seed and do not depend on key order', () => {
    expect(groupKey({ seed: 3, model: 'fernn', 'v-range': 1 })).toBe('model=fernn,v-range=1');
    expect(groupKey({ 'v-range': 1, model: 'fernn', seed: 0 })).toBe(groupKey({ model: 'fernn', 'v-range': 1, seed: 9 }));
    expect(groupKey({ seed: 1 })).toBe('(all)');
    expect(memberLabel({ index: 2, overrides: { model: 'grnn', seed: 1 } })).toBe('member 2 (model=grnn, seed=1)');
  });

  it('rejects malformed specs naming the field', () => {
    const bad = (raw: unknown) => {
      const r = sweepSpecSchema.safeParse(raw);
      return r.success ? null : `${r.error.issues[0].path.join('.')}: ${r.error.issues[0].message}`;
    };
    expect(bad({ name: 'a b' })).toMatch(/^name:/);
    expect(bad({ name: 'a', grid: { seed: [] } })).toMatch(/^grid\.seed: give at least one value/);
    expect(bad({ name: 'a', base: { '--hidden': 2 } })).toMatch(/^base\.--hidden/);
    expect(bad({ name: 'a', extra: 1 })).toMatch(/extra/);
    expect(bad({ name: 'a', variants: [] })).toMatch(/^variants:/);
  });
});
