import { describe, expect, it } from 'vitest';
import type { MetricRecord } from '../../src/core/protocol/run';
import { translateSequence } from '../../src/renderer/frames';
import { HEATMAP_VY_AXIS, LOSS_CHART_LOG_Y, lossMarks, lossSeries, resumedSteps } from '../../src/renderer/runCharts';
import { lineDatasets, logAxis } from '../../src/renderer/series';

/** The run page's charts, built from a run's records: what is drawn on top, the axis scale, the resume marks, and the heat-map's vy axis. */
describe("the run page's charts", () => {
  const train = [1, 2, 3, 4].map((x) => ({ x, y: 0.5 / x ** 2 }));
  const val = [2, 4].map((x) => ({ x, y: 0.4 / x ** 2 }));

  it('draws the validation curve above the training loss (Chart.js draws lower orders last), the legend in series order', () => {
    const ds = lineDatasets(lossSeries(false, train, val), undefined, () => '#000');
    expect(ds.map((d) => d.label)).toEqual(['training loss (MSE)', 'validation MSE']);
    const [t, v] = ds;
    expect(v.order).toBeLessThan(t.order);
    expect(lossSeries(true, train, []).map((s) => s.label)).toEqual(['training loss (cross-entropy)']);
  });

  it('puts the loss on a log axis where it spans a decade, and on a linear one within a decade', () => {
    expect(logAxis(LOSS_CHART_LOG_Y, lossSeries(false, train, val))).toBe(true);
    const flat = [1, 2].map((x) => ({ x, y: 0.1 + 0.01 * x }));
    expect(logAxis(LOSS_CHART_LOG_Y, lossSeries(false, flat, flat))).toBe(false);
    expect(logAxis(false, lossSeries(false, train, val))).toBe(false);
  });

  it('marks where a resumed run was resumed (a resumed@N event: a mark at N), and shades each continuation', () => {
    const t = '2026-12-04T00:00:00.000Z';
    const step = (n: number): MetricRecord => ({ kind: 'train', step: n, epoch: 0, loss: 0.5, gradNorm: null, msPerStep: 1, t });
    const metrics: MetricRecord[] = [
      step(1),
      step(2),
      step(3),
      { kind: 'event', step: 3, event: 'resumed', t },
      step(4),
      { kind: 'event', step: 4, event: 'stopped', t },
    ];
    expect(resumedSteps(metrics)).toEqual([3]);
    expect(lossMarks(resumedSteps(metrics), [{ fromStep: 4, toStep: 8, at: '2026-12-04T00:00:00.000Z' }])).toEqual([
      { from: 3, to: 3, label: 'resumed @ 3' },
      { from: 4, to: 8, label: 'trained longer from step 4' },
    ]);
    expect(lossMarks([], undefined)).toEqual([]);
  });

  it("orients the heat-map's vy axis as the Flow designer moves a digit: +vy is down in the frame and down on the map, and the title says so", () => {
    // The designer's preview (and the data): a pixel moved with vy = +1 lands one row further down (a larger row index).
    const img = new Float32Array(16);
    img[1 * 4 + 1] = 1;
    const moved = translateSequence(img, 4, 0, 1, 2);
    expect(Array.from(moved.data).indexOf(1, 16) - 16).toBe(2 * 4 + 1);
    // Chart.js's y axis grows upwards unless reversed: reversed, +vy is drawn below 0, as in the frame.
    expect(HEATMAP_VY_AXIS.reverse).toBe(true);
    expect(HEATMAP_VY_AXIS.title).toMatch(/vy .*\+ is down/);
  });
});
