import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trainConfigSchema, type TrainConfigInput } from '../../src/core/protocol/run';
import { InputError } from '../../src/core/util/errors';
import { createLabService, type LabService } from '../../src/node/lab/labService';
import { runParamCount } from '../../src/node/lab/trainJob';
import { classificationRunData } from '../../src/node/lab/data';
import { expectRejectsInputError } from '../helpers/errors';

let dir: string;
let lab: LabService;
const workerPath = path.resolve('dist/labWorker.js');

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'fernn-lab-cls-'));
  lab = await createLabService({ storeRoot: path.join(dir, 'runs'), shell: { kind: 'web' }, workerPath, flowsFile: path.join(dir, 'flows.json') });
});
afterAll(async () => {
  await lab.dispose();
  await rm(dir, { recursive: true, force: true });
});

const tiny = (over: Partial<TrainConfigInput> = {}): TrainConfigInput => ({
  task: 'classification',
  model: 'fernn',
  vRange: 1,
  hidden: 3,
  batch: 4,
  steps: 6,
  imageSize: 8,
  inputFrames: 3,
  valEvery: 3,
  valSequences: 8,
  testSequences: 8,
  backend: 'wasm',
  ...over,
});

/** KTH layout: one folder per action, persons 1 (train), 17 (val), 22 (test); 20 PGM frames of 16x16. */
function writeKthFixture(root: string): void {
  const side = 16;
  for (const [action, speed] of [
    ['boxing', 0],
    ['walking', 1],
  ] as const) {
    for (const p of [1, 17, 22]) {
      const folder = path.join(root, action, `person${String(p).padStart(2, '0')}_${action}_d1`);
      mkdirSync(folder, { recursive: true });
      for (let t = 0; t < 20; t++) {
        const img = new Uint8Array(side * side);
        for (let y = 5; y < 10; y++) for (let x = 0; x < 4; x++) img[y * side + ((x + speed * t + p) % side)] = 255;
        const head = new TextEncoder().encode(`P5\n${side} ${side}\n255\n`);
        writeFileSync(path.join(folder, `frame${t + 1}.pgm`), Buffer.concat([head, img]));
      }
    }
  }
}

describe('classification runs (service, worker, store)', () => {
  it('trains a FERNN classifier on Flowing MNIST: accuracy metrics, best-by-accuracy checkpoint, test accuracy and confusion', async () => {
    const rec = await lab.startRun({ config: tiny({ dataVRange: 1, testDataVRange: 2 }), name: 'cls' });
    await lab.whenIdle(rec.id);
    const d = await lab.getRun({ id: rec.id });
    expect(d.run.status, d.run.endMessage).toBe('completed');
    const train = d.metrics.flatMap((m) => (m.kind === 'train' ? [m] : []));
    expect(train.map((m) => m.step)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(train.every((m) => m.accuracy !== undefined && m.accuracy >= 0 && m.accuracy <= 1)).toBe(true);
    const vals = d.metrics.flatMap((m) => (m.kind === 'val-accuracy' ? [m] : []));
    expect(vals.map((v) => v.step)).toEqual([3, 6]);
    expect(d.metrics.some((m) => m.kind === 'val')).toBe(false);
    // Best = highest validation accuracy, the first validation always being a best.
    expect(vals[0].best).toBe(true);
    const bestAcc = Math.max(...vals.map((v) => v.accuracy));
    expect(d.run.progress.bestValAccuracy).toBe(bestAcc);
    expect(d.run.progress.bestValMse).toBeNull();
    expect(d.run.results?.testAccuracy).toBeGreaterThanOrEqual(0);
    expect(d.run.results?.testAccuracy).toBeLessThanOrEqual(1);
    const test = d.evals['test-accuracy'] as { accuracy: number; confusion: number[][]; sequences: number };
    expect(test.sequences).toBe(8);
    expect(test.confusion).toHaveLength(10);
    expect(test.confusion.flat().reduce((a, b) => a + b, 0)).toBe(8);
    expect(test.accuracy).toBe(d.run.results?.testAccuracy);
    expect(d.metrics.some((m) => m.kind === 'event' && m.event === 'data' && /train velocities -1\.\.1, test -2\.\.2/.test(m.message ?? ''))).toBe(true);
  });

  it('evaluates accuracy per fixed test velocity; prediction-only evaluations and views answer with the field', async () => {
    const rec = await lab.startRun({ config: tiny({ model: 'grnn', vRange: 0, steps: 3, testDataVRange: 2 }) });
    await lab.whenIdle(rec.id);
    const r = await lab.evaluateRun({ id: rec.id, kinds: ['velocity', 'test'], velocityRange: 1, sequences: 4 });
    expect(r.velocityAccuracy?.velocities).toEqual([-1, 0, 1]);
    expect(r.velocityAccuracy?.accuracy).toHaveLength(3);
    expect(r.velocityAccuracy?.accuracy.flat().every((a) => a >= 0 && a <= 1)).toBe(true);
    expect(r.testAccuracy?.sequences).toBe(4);
    const d = await lab.getRun({ id: rec.id });
    expect(Object.keys(d.evals)).toEqual(expect.arrayContaining(['velocity-accuracy', 'test-accuracy']));
    await expectRejectsInputError(lab.evaluateRun({ id: rec.id, kinds: ['length'] }), 'kinds');
    await expectRejectsInputError(lab.predictions({ id: rec.id }), 'id');
    await expectRejectsInputError(lab.probeEquivariance({ models: [{ runId: rec.id }], flow: 'translate:1,0' }), 'models');
  });

  it('trains on a KTH folder (frames) with the person split, and says which field is wrong for a bad folder', async () => {
    const root = path.join(dir, 'kth');
    writeKthFixture(root);
    const rec = await lab.startRun({
      config: tiny({ dataset: 'kth', dataDir: root, imageSize: 8, inputFrames: 4, dataVRange: 1, valSequences: 4, testSequences: 4 }),
    });
    await lab.whenIdle(rec.id);
    const d = await lab.getRun({ id: rec.id });
    expect(d.run.status, d.run.endMessage).toBe('completed');
    expect((d.evals['test-accuracy'] as { confusion: number[][] }).confusion).toHaveLength(6);
    expect(d.metrics.some((m) => m.kind === 'event' && m.event === 'data' && /2\/2\/2 videos/.test(m.message ?? ''))).toBe(true);

    // Evaluation loads the test persons' videos only, and gets the same test clips as training did.
    const config = trainConfigSchema.parse(tiny({ dataset: 'kth', dataDir: root, imageSize: 8, inputFrames: 4, dataVRange: 1 }));
    const loads: number[] = [];
    const all = await classificationRunData(config, 5);
    const testOnly = await classificationRunData(config, 5, (done, total) => loads.push(total), ['test']);
    expect(loads).toEqual([2, 2]);
    expect(Array.from(testOnly.test.batch(0, 3).clips)).toEqual(Array.from(all.test.batch(0, 3).clips));
    expect(Array.from(testOnly.test.batch(0, 3).labels)).toEqual(Array.from(all.test.batch(0, 3).labels));
    expect(() => testOnly.train.batch(0, 1)).toThrow(/train split was not loaded/);
    expect(testOnly.epochSize).toBe(0);

    const bad = await lab.startRun({ config: tiny({ dataset: 'kth', dataDir: path.join(dir, 'missing') }) });
    await lab.whenIdle(bad.id);
    const b = await lab.store.get(bad.id);
    expect(b.status).toBe('failed');
    expect(b.endMessage).toMatch(/does not exist/);
  });

  it('trains the baselines and the encoder variant through the same job: 3D-CNN (width = hidden), G-RNN+ and FERNN with the reference encoder', async () => {
    const runs = [
      tiny({ model: 'cnn3d', vRange: 0, hidden: 2, inputFrames: 4, steps: 2, valEvery: 2 }),
      tiny({ model: 'grnn-plus', vRange: 1, steps: 2, valEvery: 2 }),
      tiny({ model: 'fernn', vRange: 1, encoder: 'reference', hidden: 2, steps: 2, valEvery: 2 }),
    ];
    const recs = [];
    for (const config of runs) recs.push(await lab.startRun({ config }));
    const params = recs.map((r) => r.params);
    for (const r of recs) await lab.whenIdle(r.id);
    for (const r of recs) {
      const d = await lab.getRun({ id: r.id });
      expect(d.run.status, `${d.run.config.model}: ${d.run.endMessage}`).toBe('completed');
      expect(d.run.results?.testAccuracy).toBeGreaterThanOrEqual(0);
    }
    // Each run records its parameter count for fair comparisons (closed forms: classifier and cnn3d tests);
    // the encoder adds weights to the same cell.
    expect(params.every((p) => p > 0)).toBe(true);
    const plain = runParamCount(trainConfigSchema.parse(tiny({ model: 'fernn', vRange: 1, hidden: 2 })));
    expect(params[2]).toBeGreaterThan(plain);
  });

  it('validates classification configs at the boundary, naming the field', async () => {
    const cases: [Partial<TrainConfigInput>, string][] = [
      [{ task: 'prediction', model: 'cnn3d', vRange: 0 }, 'model'],
      [{ task: 'prediction', testDataVRange: 2 }, 'testDataVRange'],
      [{ dataset: 'kth' }, 'dataDir'],
      [{ dataset: 'flowing-mnist', dataDir: '/tmp' }, 'dataDir'],
      [{ task: 'prediction', dataset: 'kth', dataDir: '/tmp' }, 'dataset'],
      [{ model: 'cnn3d', vRange: 1 }, 'vRange'],
      [{ task: 'sorting' as 'classification' }, 'task'],
      [{ model: 'cnn3d', vRange: 0, encoder: 'reference' }, 'encoder'],
      [{ task: 'prediction', encoder: 'reference' }, 'encoder'],
    ];
    for (const [over, field] of cases) {
      const r = trainConfigSchema.safeParse(tiny(over));
      expect(r.success, JSON.stringify(over)).toBe(false);
      expect(r.error?.issues[0].path[0], JSON.stringify(over)).toBe(field);
      await expect(lab.startRun({ config: tiny(over) })).rejects.toBeInstanceOf(InputError);
    }
    // Old run configs (no task/dataset) still parse as prediction on Flowing MNIST.
    const old = trainConfigSchema.parse({ model: 'fernn', vRange: 1, hidden: 4, steps: 1 });
    expect([old.task, old.dataset]).toEqual(['prediction', 'flowing-mnist']);
  });
});
