import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { trainConfigSchema } from '../../src/core/protocol/run';
import { EVALUATIONS_DIR, latestByKind } from '../../src/node/store/evaluations';
import { RunStore } from '../../src/node/store/runStore';

const config = trainConfigSchema.parse({ model: 'fernn', vRange: 1, hidden: 4, steps: 100, testSequences: 32 });
const baseOpts = { config, seeds: { init: 1, data: 2 }, params: 1234, versions: { 'fernn-lab': '0.1.0' } };

let root: string;
let store: RunStore;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'fernn-evals-'));
  store = new RunStore(join(root, 'runs'));
  await store.init();
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const test = (mse: number, sequences: number) => ({ mse, perStep: [mse, mse], sequences });

describe('evaluation records', () => {
  it('keeps every evaluation of a kind as its own record, oldest first, with its settings and checkpoint', async () => {
    const { id } = await store.create(baseOpts);
    const best = { which: 'best' as const, step: 280 };
    const a = await store.addEvaluation(id, { kind: 'test', origin: 'training', checkpoint: best, settings: { sequences: 32 }, result: test(0.0414, 32) });
    const b = await store.addEvaluation(id, { kind: 'test', origin: 'evaluate', checkpoint: best, settings: { sequences: 16 }, result: test(0.0419, 16) });
    const last = { which: 'last' as const, step: 300 };
    const c = await store.addEvaluation(id, { kind: 'test', origin: 'evaluate', checkpoint: last, settings: { sequences: 16 }, result: test(0.05, 16) });
    expect(new Set([a.id, b.id, c.id]).size).toBe(3);
    const all = await store.readEvaluations(id);
    expect(all.map((e) => [e.origin, e.settings.sequences, e.checkpoint?.which, (e.result as { mse: number }).mse])).toEqual([
      ['training', 32, 'best', 0.0414],
      ['evaluate', 16, 'best', 0.0419],
      ['evaluate', 16, 'last', 0.05],
    ]);
    expect(all.every((e) => e.kind === 'test' && typeof e.created_at === 'string')).toBe(true);
    expect(await readdir(join(store.runDir(id), EVALUATIONS_DIR))).toHaveLength(3);
    expect((latestByKind(all).test as { mse: number }).mse).toBe(0.05);
  });

  it('refuses an invalid record with the field named', async () => {
    const { id } = await store.create(baseOpts);
    const bad = { kind: 'test' as const, origin: 'evaluate' as const, checkpoint: null, settings: { sequences: 0 }, result: {} };
    await expect(store.addEvaluation(id, bad)).rejects.toThrow(/evaluation\.settings\.sequences/);
    await expect(store.addEvaluation('no-such-run', { ...bad, settings: {} })).rejects.toThrow(/no run no-such-run/);
  });

  it('skips a corrupt record file and still reads the others', async () => {
    const { id } = await store.create(baseOpts);
    await store.addEvaluation(id, { kind: 'test', origin: 'evaluate', checkpoint: null, settings: { sequences: 4 }, result: test(0.1, 4) });
    await writeFile(join(store.runDir(id), EVALUATIONS_DIR, '20991231T000000000Z-test-ffff.json'), '{ not json');
    expect(await store.readEvaluations(id)).toHaveLength(1);
  });
});

describe('an old store (evals/<kind>.json, run.json without results.testSource)', () => {
  it('reads its files as records, never changes them, and names the headline source', async () => {
    const { id } = await store.create(baseOpts);
    // What training and `eval` wrote before records existed: the test file of training says its checkpoint.
    const evals = join(store.runDir(id), 'evals');
    await mkdir(evals, { recursive: true });
    const oldTest = JSON.stringify({ ...test(0.0414, 32), checkpoint: 'best', step: 280 });
    await writeFile(join(evals, 'test.json'), oldTest);
    await writeFile(
      join(evals, 'velocity.json'),
      JSON.stringify({
        velocities: [-1, 0, 1],
        mse: [
          [1, 2, 3],
          [4, 5, 6],
          [7, 8, 9],
        ],
        sequences: 8,
      }),
    );
    await writeFile(join(evals, 'length.json'), JSON.stringify({ 40: { mean: [0.1], std: [0], sequences: 8 } }));
    await writeFile(join(evals, 'notes.json'), '"a file of the user"');
    await store.update(id, (r) => ({ ...r, status: 'completed', progress: { ...r.progress, bestStep: 280 }, results: { valMse: 0.04, testMse: 0.0414 } }));

    const all = await store.readEvaluations(id);
    const byKind = Object.fromEntries(all.map((e) => [e.kind, e]));
    expect(Object.keys(byKind).sort()).toEqual(['length', 'test', 'velocity']);
    expect(byKind.test.origin).toBe('training');
    expect(byKind.test.checkpoint).toEqual({ which: 'best', step: 280 });
    expect(byKind.test.settings).toEqual({ sequences: 32 });
    expect(byKind.test.result).toEqual(test(0.0414, 32));
    expect(byKind.velocity.origin).toBe('legacy');
    expect(byKind.velocity.checkpoint).toBeNull();
    expect(byKind.velocity.settings).toEqual({ sequences: 8, velocityRange: 1 });
    expect(byKind.length.settings).toEqual({ sequences: 8, seqLens: [40] });

    const r = await store.get(id);
    expect(r.results?.testSource).toEqual({ checkpoint: 'best', step: 280, sequences: 32 });
    expect((await store.list()).runs[0].results?.testSource).toEqual({ checkpoint: 'best', step: 280, sequences: 32 });
    // Read, never rewritten: the old files are as they were.
    expect(await readFile(join(evals, 'test.json'), 'utf8')).toBe(oldTest);
  });
});
