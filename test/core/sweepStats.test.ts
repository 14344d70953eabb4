import { describe, expect, it } from 'vitest';
import { gridStats, groupStats, mean, sampleStd, studentTCdf, studentTQuantile } from '../../src/core/sweeps/stats';

describe('sweep statistics', () => {
  it('t quantiles match the table (t_{0.975})', () => {
    const table: [number, number][] = [
      [1, 12.706],
      [2, 4.303],
      [3, 3.182],
      [4, 2.776],
      [9, 2.262],
      [30, 2.042],
      [120, 1.98],
    ];
    for (const [df, t] of table) expect(studentTQuantile(0.975, df)).toBeCloseTo(t, 3);
    expect(studentTQuantile(0.995, 5)).toBeCloseTo(4.032, 3);
    expect(studentTQuantile(0.025, 2)).toBeCloseTo(-4.303, 3);
    expect(studentTQuantile(0.5, 7)).toBe(0);
  });

  it('the t CDF is the Cauchy CDF at df 1 and symmetric', () => {
    for (const t of [-3, -0.5, 0, 0.7, 4]) expect(studentTCdf(t, 1)).toBeCloseTo(0.5 + Math.atan(t) / Math.PI, 8);
    expect(studentTCdf(1.3, 6) + studentTCdf(-1.3, 6)).toBeCloseTo(1, 12);
  });

  it('mean, sample std and CI of a small sample', () => {
    const xs = [2, 4, 4, 4, 5, 5, 7, 9];
    expect(mean(xs)).toBe(5);
    expect(sampleStd(xs)).toBeCloseTo(Math.sqrt(32 / 7), 12);
    const s = groupStats(xs);
    const half = (2.364624 * Math.sqrt(32 / 7)) / Math.sqrt(8);
    expect(s.ci95?.[0]).toBeCloseTo(5 - half, 5);
    expect(s.ci95?.[1]).toBeCloseTo(5 + half, 5);
  });

  it('one value has a mean but no spread; none is an error', () => {
    expect(groupStats([3])).toEqual({ n: 1, mean: 3, std: null, ci95: null });
    expect(() => mean([])).toThrow(/no values/);
  });

  it('grid statistics are the group statistics of every cell', () => {
    const g = gridStats([[[1, 2]], [[3, 6]], [[5, 7]]]);
    expect(g.n).toBe(3);
    expect(g.mean).toEqual([[3, 5]]);
    expect(g.std[0][0]).toBeCloseTo(2, 12);
    expect(g.ci95[0][1]).toEqual(groupStats([2, 6, 7]).ci95);
    expect(() => gridStats([[[1, 2]], [[1]]])).toThrow(/differ in shape/);
    expect(() => gridStats([])).toThrow(/no grids/);
  });
});
