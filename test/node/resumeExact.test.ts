import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trainConfigSchema, type RunRecord } from '../../src/core/protocol/run';
import { runTrainJob } from '../../src/node/lab/trainJob';
import type { RunStore } from '../../src/node/store/runStore';
import { useCpu } from '../helpers/backend';
import { checkpointWeights, removeRunStore, tempRunStore, TINY_GRNN } from '../helpers/runStore';

/**
 * An early-stopping run stopped and resumed must end where an uninterrupted one ends, with the same weights: the
 * resume restores the whole loop state (early-stop counter, divergence baseline, best score and step), not only the
 * weights and the optimizer. The training job runs in this process; the stop is a `shouldStop` that turns true after
 * a given number of steps, so nothing depends on timing.
 */
const config = trainConfigSchema.parse({ ...TINY_GRNN, steps: 60, lr: 0.05, valEvery: 2, earlyStopPatience: 3, seed: 5 });

let store: RunStore;

beforeAll(async () => {
  await useCpu();
  store = await tempRunStore('fernn-resume-');
});
afterAll(() => removeRunStore(store));

const create = () => store.create({ config, seeds: { init: config.seed, data: config.seed + 1 }, params: 0, versions: {} });

/** Ends the session once `steps` steps have run (fitLoop polls shouldStop once before every step). */
function stopAfter(steps: number) {
  let polls = 0;
  return { emit: () => undefined, shouldStop: () => ++polls > steps, interrupted: () => true };
}
const never = { emit: () => undefined, shouldStop: () => false };

const weights = (id: string, which: 'last' | 'best') => checkpointWeights(store, id, which);

async function validations(id: string): Promise<{ step: number; best: boolean }[]> {
  const { records } = await store.readMetrics(id);
  return records.filter((r) => r.kind === 'val').map((r) => ({ step: r.step, best: (r as { best: boolean }).best }));
}

describe('resume restores the whole loop state', () => {
  it('an early-stopping run stopped and resumed stops at the same step with the same weights', async () => {
    const whole: RunRecord = await runTrainJob(store, (await create()).id, false, never);
    expect(whole.endReason).toBe('early_stop');
    const vals = await validations(whole.id);
    // Stop right after the last validation before the early stop that did not improve: the early-stop counter is
    // then > 0 and the resumed session must carry it on.
    const stale = vals.slice(0, -1).filter((v) => !v.best);
    expect(stale.length).toBeGreaterThan(0);
    const stopAt = stale[stale.length - 1].step;

    const run = await create();
    const first = await runTrainJob(store, run.id, false, stopAfter(stopAt));
    expect(first.status).toBe('interrupted');
    expect(first.progress.checkpointStep).toBe(stopAt);
    const resumed = await runTrainJob(store, run.id, true, never);

    expect(resumed.endReason).toBe('early_stop');
    expect(resumed.progress.step).toBe(whole.progress.step);
    expect(resumed.progress.bestStep).toBe(whole.progress.bestStep);
    expect(resumed.progress.bestValMse).toBe(whole.progress.bestValMse);
    expect(await validations(run.id)).toEqual(vals);
    expect(await weights(run.id, 'last')).toEqual(await weights(whole.id, 'last'));
    expect(await weights(run.id, 'best')).toEqual(await weights(whole.id, 'best'));
  }, 120_000);
});
