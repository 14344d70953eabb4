import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trainConfigSchema, type RunRecord } from '../../src/core/protocol/run';
import type { RunDetail } from '../../src/core/protocol/service';
import type { RunStore } from '../../src/node/store/runStore';
import { reproductionVerdict } from '../../src/renderer/claims';
import { removeRunStore, tempRunStore, TINY_GRNN } from '../helpers/runStore';

/** The Compare view's verdict on runs of one reproduction, and on the members of `reproduce --seeds N` (one sweep). */
let store: RunStore;
beforeAll(async () => {
  store = await tempRunStore('fernn-claims-');
});
afterAll(() => removeRunStore(store));

async function runOf(name: string, model: 'grnn' | 'fernn', seed: number, testMse: number, sweep?: { id: string; index: number }): Promise<RunDetail> {
  const config = trainConfigSchema.parse({ ...TINY_GRNN, steps: 4, model, vRange: model === 'fernn' ? 1 : 0, seed });
  const r = await store.create({ config, name, ...(sweep ? { sweep } : {}), seeds: { init: seed, data: seed + 1 }, params: 0, versions: {} });
  const run: RunRecord = { ...r, status: 'completed', results: { testMse } };
  return { run, metrics: [], evaluations: [], evals: {} };
}

describe('reproductionVerdict (Compare)', () => {
  it('judges the members of one reproduce --seeds sweep over the seeds: on the means, with n and the seeds that show it', async () => {
    const sweep = (index: number) => ({ id: 'translating-mnist-tiny-s1', index });
    const runs = [
      await runOf('translating-mnist-tiny/0', 'grnn', 5, 0.08, sweep(0)),
      await runOf('translating-mnist-tiny/1', 'grnn', 6, 0.06, sweep(1)),
      await runOf('translating-mnist-tiny/2', 'fernn', 5, 0.03, sweep(2)),
      await runOf('translating-mnist-tiny/3', 'fernn', 6, 0.059, sweep(3)),
    ];
    const v = reproductionVerdict(runs, {});
    expect(v?.verdict).toBe('shown');
    expect(v?.summary).toMatch(/^Shown at this scale \(tiny\), on the mean of 2 seeds \(shown in 1 of 2 seeds\): .*FERNN-V1 test MSE 0.0445 vs G-RNN 0.0700/);
    expect(v?.evidence.join('\n')).toMatch(/FERNN-V1 test MSE 0.0445, 95% CI \[.*\] \(n = 2\)/);
    // Members of two different sweeps are not one reproduction.
    expect(reproductionVerdict([runs[0], { ...runs[2], run: { ...runs[2].run, sweep: { id: 'other', index: 2 } } }], {})).toBeNull();
  });

  it('a single-seed reproduction keeps its per-run verdict', async () => {
    const v = reproductionVerdict([await runOf('translating-mnist tiny', 'grnn', 0, 0.08), await runOf('translating-mnist tiny', 'fernn', 0, 0.03)], {});
    expect(v?.summary).toMatch(/^Shown at this scale \(tiny\): the FERNN's test MSE is clearly below/);
  });
});
