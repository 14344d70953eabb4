import { describe, expect, it } from 'vitest';
import { lineDatasets, translucent, withBand } from '../../src/renderer/series';

describe('LineChart bands (mean ± std per sweep group)', () => {
  const line = [1, 2, 3].map((x) => ({ x, y: x }));
  const lo = line.map((p) => ({ x: p.x, y: p.y - 0.5 }));
  const hi = line.map((p) => ({ x: p.x, y: p.y + 0.5 }));

  it('a band is two edge datasets after its line: no line drawn, the upper edge filled down to the lower one', () => {
    const ds = lineDatasets([...withBand('g · mean', '#0a5bb5', line, lo, hi, 'g · ± 1 std'), { label: 'other', points: line }], undefined, () => '#123456');
    expect(ds.map((d) => [d.label, d.fill, d.borderWidth])).toEqual([
      ['g · mean', false, 2],
      ['g · ± 1 std (low)', false, 0],
      ['g · ± 1 std', '-1', 0],
      ['other', false, 2],
    ]);
    expect(ds[1].data).toEqual(lo);
    expect(ds[2].data).toEqual(hi);
    expect(ds[2].backgroundColor).toBe('rgba(10, 91, 181, 0.18)');
    expect([ds[1].borderColor, ds[2].borderColor, ds[2].pointRadius]).toEqual(['transparent', 'transparent', 0]);
    expect(ds[3].borderColor).toBe('#123456');
  });

  it('band edges obey the floor like lines, and colours become translucent', () => {
    const ds = lineDatasets(withBand('m', '#abc', line, lo, hi, 'b'), 1, () => '#000');
    expect(ds[1].data.map((p) => p.y)).toEqual([1, 1.5, 2.5]);
    expect(translucent('#abc', 0.5)).toBe('rgba(170, 187, 204, 0.5)');
    expect(translucent('rgb(1, 2, 3)', 0.2)).toBe('rgba(1, 2, 3, 0.2)');
    expect(translucent('teal', 0.2)).toBe('teal');
  });
});
