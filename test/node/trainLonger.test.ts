import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { presetPlan } from '../../src/core/protocol/presets';
import { trainConfigSchema, type TrainConfigInput } from '../../src/core/protocol/run';
import { InputError } from '../../src/core/util/errors';
import { runTrainJob } from '../../src/node/lab/trainJob';
import { markContinuation } from '../../src/node/lab/trainLonger';
import { createLabService, type LabService } from '../../src/node/lab/labService';
import type { RunStore } from '../../src/node/store/runStore';
import { useCpu } from '../helpers/backend';
import { checkpointWeights, removeRunStore, tempRunStore, TINY_GRNN } from '../helpers/runStore';

/**
 * "Train longer": a completed run continued from its last checkpoint must end with the weights of one uninterrupted
 * run of the new total (optimizer moments, step count and loop state restored), and record the continuation. The
 * training runs in this process; nothing depends on timing.
 */
const base: TrainConfigInput = { ...TINY_GRNN, steps: 12, lr: 0.05, valEvery: 3, seed: 7 };

let store: RunStore;

beforeAll(async () => {
  await useCpu();
  store = await tempRunStore('fernn-longer-');
});
afterAll(() => removeRunStore(store));

const create = (over: Partial<TrainConfigInput> = {}) => {
  const config = trainConfigSchema.parse({ ...base, ...over });
  return store.create({ config, seeds: { init: config.seed, data: config.seed + 1 }, params: 0, versions: {} });
};
const never = { emit: () => undefined, shouldStop: () => false };

const weights = (id: string, which: 'last' | 'best') => checkpointWeights(store, id, which);
async function events(id: string): Promise<string[]> {
  return (await store.readMetrics(id)).records.flatMap((r) => (r.kind === 'event' ? [`${r.event}@${r.step}`] : []));
}
async function trainSteps(id: string): Promise<number[]> {
  return (await store.readMetrics(id)).records.flatMap((r) => (r.kind === 'train' ? [r.step] : []));
}

describe('train longer', () => {
  it('continues a completed run to the weights of one uninterrupted run of the total steps, and records it', async () => {
    const whole = await runTrainJob(store, (await create({ steps: 12 })).id, false, never);
    expect(whole.status).toBe('completed');

    const run = await create({ steps: 6 });
    const first = await runTrainJob(store, run.id, false, never);
    expect(first.status).toBe('completed');
    expect(first.progress.checkpointStep).toBe(6);
    const firstHeadline = first.results!.testSource!.evaluationId;

    const marked = await markContinuation(store, run.id, 12, '2026-12-04T14:00:00.000Z');
    expect(marked.status).toBe('queued');
    expect(marked.config.steps).toBe(12);
    expect(marked.continuations).toEqual([{ fromStep: 6, toStep: 12, at: '2026-12-04T14:00:00.000Z' }]);

    const done = await runTrainJob(store, run.id, true, never);
    expect(done.status).toBe('completed');
    expect(done.progress.step).toBe(12);
    expect(done.continuations).toEqual([{ fromStep: 6, toStep: 12, at: '2026-12-04T14:00:00.000Z' }]);
    expect(await weights(run.id, 'last')).toEqual(await weights(whole.id, 'last'));
    expect(await weights(run.id, 'best')).toEqual(await weights(whole.id, 'best'));
    expect(done.progress.bestStep).toBe(whole.progress.bestStep);
    expect(done.progress.bestValMse).toBe(whole.progress.bestValMse);
    expect(await trainSteps(run.id)).toEqual(await trainSteps(whole.id));
    expect(await events(run.id)).toContain('continued@6');

    // The headline test figure is the end of the continued training; the first one is kept as a record.
    const evaluations = await store.readEvaluations(run.id);
    expect(evaluations.filter((e) => e.kind === 'test' && e.origin === 'training')).toHaveLength(2);
    expect(done.results!.testSource!.evaluationId).not.toBe(firstHeadline);
    expect(evaluations.some((e) => e.id === firstHeadline)).toBe(true);
    expect(done.results!.testMse).toBe(whole.results!.testMse);
  }, 300_000);

  it('starts a fresh early-stop count for a run that had stopped early', async () => {
    // The settings of resumeExact.test.ts, whose run stops early (patience 3, validating every 2 steps).
    const run = await create({ steps: 60, valEvery: 2, earlyStopPatience: 3, seed: 5 });
    const first = await runTrainJob(store, run.id, false, never);
    expect(first.endReason).toBe('early_stop');
    const from = first.progress.checkpointStep!;
    const marked = await markContinuation(store, run.id, from + 4);
    expect(marked.continuations?.at(-1)).toMatchObject({ fromStep: from, toStep: from + 4, earlyStopReset: true });
    expect(marked.endReason).toBeUndefined();
    const done = await runTrainJob(store, run.id, true, never);
    // Without the reset the first validation after the continuation (from + 2) would end it again.
    expect(done.endReason).toBeUndefined();
    expect(done.progress.step).toBe(from + 4);
  }, 300_000);

  it('refuses a run that is not completed, and a total not above the steps trained', async () => {
    const queued = await create({ steps: 4 });
    await expect(markContinuation(store, queued.id, 8)).rejects.toMatchObject({
      field: 'id',
      message: expect.stringMatching(/is queued: only a completed run/),
    });
    const stopped = await runTrainJob(store, (await create({ steps: 6 })).id, false, { emit: () => undefined, shouldStop: () => true });
    expect(stopped.status).toBe('cancelled');
    await expect(markContinuation(store, stopped.id, 8)).rejects.toThrow(/is cancelled: only a completed run can train longer; resume it/);
    const done = await runTrainJob(store, (await create({ steps: 4 })).id, false, never);
    for (const steps of [4, 3]) {
      const e = await markContinuation(store, done.id, steps).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(InputError);
      expect(e).toMatchObject({ field: 'steps', message: `steps: must be above the 4 steps run ${done.id} has trained; got ${steps}` });
    }
    // Nothing was recorded by the refusals.
    expect((await store.get(done.id)).continuations).toBeUndefined();
    expect((await store.get(done.id)).config.steps).toBe(4);
  }, 300_000);
});

describe('trainLonger on the lab service', () => {
  let lab: LabService;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'fernn-longer-svc-'));
    lab = await createLabService({ storeRoot: path.join(dir, 'runs'), shell: { kind: 'web' }, workerPath: path.resolve('dist/labWorker.js') });
  });
  afterAll(async () => {
    await lab.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it('validates its arguments and names the field', async () => {
    await expect(lab.trainLonger({ id: 'x', steps: 0 })).rejects.toMatchObject({ field: 'steps' });
    await expect(lab.trainLonger({ id: 'x', steps: 1.5 })).rejects.toMatchObject({ field: 'steps' });
    await expect(lab.trainLonger({ id: 'a/b', steps: 10 })).rejects.toMatchObject({ field: 'id' });
    await expect(lab.trainLonger({ id: 'missing', steps: 10 })).rejects.toMatchObject({ field: 'run', message: 'run: no run missing' });
    const config = trainConfigSchema.parse(base);
    const r = await lab.store.create({ config, seeds: { init: 0, data: 1 }, params: 0, versions: {} });
    await expect(lab.trainLonger({ id: r.id, steps: 100 })).rejects.toMatchObject({ field: 'id', message: expect.stringMatching(/only a completed run/) });
    await expect(lab.resumeRun({ id: r.id })).resolves.toBeDefined();
    await lab.whenIdle(r.id);
    await expect(lab.resumeRun({ id: r.id })).rejects.toThrow(/has completed \(12 steps\); to continue it, train it longer/);
    await expect(lab.trainLonger({ id: r.id, steps: 12 })).rejects.toMatchObject({ field: 'steps' });
    const queued = await lab.trainLonger({ id: r.id, steps: 15 });
    expect(queued.continuations).toHaveLength(1);
    await lab.whenIdle(r.id);
    const done = await lab.getRun({ id: r.id });
    expect(done.run.status).toBe('completed');
    expect(done.run.progress.step).toBe(15);
    expect(done.metrics.filter((m) => m.kind === 'train').map((m) => m.step)).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
  }, 300_000);
  it('refuses to continue a run beyond the wasm heap before recording anything (the one memory check of startRun)', async () => {
    // A completed run at the paper's scale on wasm (trained elsewhere, its record copied here): continuing it here
    // would abort inside the wasm heap, so it is refused before run.json records a continuation.
    const paper = presetPlan('translating-mnist', 'paper').runs.find((c) => c.model === 'fernn' && c.vRange === 2)!;
    const config = trainConfigSchema.parse({ ...paper, backend: 'wasm', steps: 10 });
    const r = await lab.store.create({ config, seeds: { init: 0, data: 1 }, params: 0, versions: {} });
    await lab.store.update(r.id, (x) => ({ ...x, status: 'completed', progress: { ...x.progress, step: 10, checkpointStep: 10 } }));
    const before = await lab.store.get(r.id);
    await expect(lab.trainLonger({ id: r.id, steps: 20 })).rejects.toMatchObject({
      field: 'id',
      message: expect.stringMatching(
        /^id: run .* cannot train here: this config needs about [\d.]+ GB at its peak on wasm, beyond its 4 GiB limit: batch \d+ fits/,
      ),
    });
    expect(await lab.store.get(r.id)).toEqual(before);
  });
});
