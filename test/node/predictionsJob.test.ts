import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trainConfigSchema } from '../../src/core/protocol/run';
import { parseServiceArgs } from '../../src/core/protocol/serviceArgs';
import { predictionsJob } from '../../src/node/lab/jobs';
import { runTrainJob } from '../../src/node/lab/trainJob';
import type { RunStore } from '../../src/node/store/runStore';
import { useCpu } from '../helpers/backend';
import { removeRunStore, tempRunStore, TINY_GRNN } from '../helpers/runStore';

/** The predictions job: each sample's motion, pages of the test set that agree, and the best or last weights. */
const config = trainConfigSchema.parse({ ...TINY_GRNN, numDigits: 2, steps: 4, valEvery: 2, seed: 3 });

let store: RunStore;
let id: string;

beforeAll(async () => {
  await useCpu();
  store = await tempRunStore('fernn-predictions-');
  const run = await store.create({ config, seeds: { init: 3, data: 4 }, params: 0, versions: {} });
  id = (await runTrainJob(store, run.id, false, { emit: () => undefined, shouldStop: () => false })).id;
}, 300_000);
afterAll(() => removeRunStore(store));

const job = (raw: object) => predictionsJob(store, parseServiceArgs('predictions', { id, ...raw }));

describe('predictions job', () => {
  it("gives each sample's velocities, and the same sequences whichever page they are asked in", async () => {
    const all = await job({ count: 4 });
    expect(all.first).toBe(0);
    expect(all.inputs.shape).toEqual([4, 3, 8, 8]);
    expect(all.motions).toHaveLength(4);
    for (const m of all.motions) {
      expect(m.velocities).toHaveLength(2);
      for (const v of m.velocities!) for (const c of [v.vx, v.vy]) expect(Math.abs(c)).toBeLessThanOrEqual(1);
    }
    const page = await job({ count: 2, first: 2 });
    expect(page.first).toBe(2);
    const frame = 3 * 8 * 8;
    expect(page.inputs.data).toEqual(all.inputs.data.slice(2 * frame));
    expect(page.motions).toEqual(all.motions.slice(2));
  }, 300_000);

  it('predicts with the best or the last weights, and says which', async () => {
    const rec = await store.get(id);
    const best = await job({ count: 1 });
    expect(best.checkpoint).toEqual({ which: 'best', step: rec.progress.bestStep });
    const last = await job({ count: 1, checkpoint: 'last' });
    expect(last.checkpoint).toEqual({ which: 'last', step: 4 });
    expect(() => parseServiceArgs('predictions', { id, checkpoint: 'first' })).toThrow(/^checkpoint: /);
    expect(() => parseServiceArgs('predictions', { id, count: 33 })).toThrow(/^count: /);
  }, 300_000);
});
