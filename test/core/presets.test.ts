import { describe, expect, it } from 'vitest';
import { PRESETS, SCALES, presetPlan } from '../../src/core/protocol/presets';
import { trainConfigSchema } from '../../src/core/protocol/run';

describe('reproduction presets', () => {
  it('every preset at every scale gives valid run configs that share data, seed and steps', () => {
    for (const preset of PRESETS) {
      for (const scale of SCALES) {
        const plan = presetPlan(preset, scale, 7);
        expect(plan.runs.length, `${preset} ${scale}`).toBeGreaterThanOrEqual(2);
        const configs = plan.runs.map((r) => {
          const parsed = trainConfigSchema.safeParse(plan.needsData ? { ...r, dataDir: '/data/kth' } : r);
          expect(parsed.success, `${preset} ${scale} ${r.model}: ${JSON.stringify(parsed.error?.issues[0])}`).toBe(true);
          return parsed.data!;
        });
        for (const c of configs) {
          expect([c.seed, c.steps, c.dataset, c.task, c.imageSize, c.dataVRange]).toEqual([
            7,
            configs[0].steps,
            configs[0].dataset,
            configs[0].task,
            configs[0].imageSize,
            configs[0].dataVRange,
          ]);
        }
        // Each preset compares a model with built-in equivariance against one without.
        expect(
          configs.some((c) => c.model === 'fernn' || c.model === 'fernn-rot'),
          `${preset} ${scale}`,
        ).toBe(true);
        expect(
          configs.some((c) => c.model === 'grnn' || c.model === 'grnn-rot'),
          `${preset} ${scale}`,
        ).toBe(true);
      }
    }
  });

  it('classification presets test on motion they did not train on; kth needs a data folder', () => {
    const cls = presetPlan('flowing-mnist-classification', 'tiny');
    for (const r of cls.runs) expect(r.dataVRange).toBeLessThan(r.testDataVRange!);
    expect(cls.evals.velocityRange).toBeGreaterThan(cls.runs[0].dataVRange!);
    expect(presetPlan('kth', 'tiny').needsData).toBe(true);
    expect(presetPlan('translating-mnist', 'tiny').needsData).toBeFalsy();
  });
});
