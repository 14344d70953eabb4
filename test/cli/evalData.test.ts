// `eval RUN --data FILE` and `predict RUN --data FILE`: a trained run on a user's .npy sequences. The evaluation is a
// data-test record naming the file (path, sha256, shape); the run's headline test figure stays on its own test split;
// bad files exit 2 naming --data and the file, and write nothing to the run.
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, expectBadInput, killLiveClis, trainTinyRun } from '../helpers/cli';
import { encodeNpy, parseNpy } from '../../src/node/npy';
import { writeFrameFolder } from '../helpers/clipFolders';
import type { EvaluationRecord } from '../../src/core/protocol/evaluation';
import type { RunRecord } from '../../src/core/protocol/run';
import type { EvaluationResults } from '../../src/core/protocol/service';

let dir: string;
let store: string;
/** A tiny Flowing-MNIST run: 8x8 frames, 3 input + 2 predicted. */
let mnistRun: string;

/** Seeded values in [0, 1] (a small LCG: the same file every time). */
function values(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  });
}
/** Writes a float32 .npy of `shape` ([N, T, H, W] or [N, T, 1, H, W]) and returns its path. */
function npy(name: string, shape: number[], seed = 1): string {
  const p = join(dir, name);
  writeFileSync(
    p,
    encodeNpy(
      values(
        shape.reduce((a, b) => a * b, 1),
        seed,
      ),
      shape,
    ),
  );
  return p;
}
/** A folder of `clips` PNG frame folders of `frames` 10x9 frames each (clip i's square starts i pixels further right). */
function clipFolder(name: string, clips: number, frames: number, offset = 0): string {
  const root = join(dir, name);
  for (let i = 0; i < clips; i++) writeFrameFolder(join(root, `clip${i}`), { frames, width: 10, height: 9, offset: offset + i });
  return root;
}
/** An empty folder. */
function emptyFolder(name: string): string {
  const p = join(dir, name);
  mkdirSync(p, { recursive: true });
  return p;
}
/** A file of text named like a .npy. */
function textFile(name: string): string {
  const p = join(dir, name);
  writeFileSync(p, 'not numpy at all');
  return p;
}
const sha256 = (p: string): string => createHash('sha256').update(readFileSync(p)).digest('hex');

/** Every file of a run folder with its size and modification time: what "nothing written" compares. */
function snapshot(runId: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const n of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, n.name);
      if (n.isDirectory()) walk(p);
      else out[p] = `${statSync(p).size}:${statSync(p).mtimeMs}:${readFileSync(p, 'utf8').length}`;
    }
  };
  walk(join(store, runId));
  return out;
}

async function show(runId: string): Promise<{ run: RunRecord; evaluations: EvaluationRecord[] }> {
  const r = await cli(['runs', 'show', runId, '--json', '--store', store]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as { run: RunRecord; evaluations: EvaluationRecord[] };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fernn-evaldata-'));
  store = join(dir, 'store');
  mnistRun = await trainTinyRun(store, 'mnist', { testSequences: 4 });
});
afterAll(() => {
  killLiveClis();
  rmSync(dir, { recursive: true, force: true });
});

describe('eval RUN --data', () => {
  it("records a data-test evaluation naming the file, MSE per future step, and leaves the run's headline as it was", async () => {
    const file = npy('user.npy', [6, 5, 1, 8, 8]);
    const before = await show(mnistRun);
    const r = await cli(['eval', mnistRun, '--data', file, '--json', '--store', store]);
    expect(r.code, r.stderr).toBe(0);
    const res = JSON.parse(r.stdout) as EvaluationResults;
    expect(res.data).toEqual({ kind: 'npy', path: file, sha256: sha256(file), shape: [6, 5, 8, 8], dtype: 'float32' });
    expect(res.test!.perStep).toHaveLength(2);
    expect(res.test!.sequences).toBe(6);
    expect(res.test!.mse).toBeCloseTo((res.test!.perStep[0] + res.test!.perStep[1]) / 2, 12);

    const after = await show(mnistRun);
    const added = after.evaluations.filter((e) => !before.evaluations.some((b) => b.id === e.id));
    expect(added).toHaveLength(1);
    expect(added[0]).toMatchObject({ kind: 'data-test', origin: 'evaluate', checkpoint: { which: 'best' } });
    expect(added[0].settings).toEqual({ sequences: 6, data: { kind: 'npy', path: file, sha256: sha256(file), shape: [6, 5, 8, 8], dtype: 'float32' } });
    expect(added[0].result).toEqual(res.test);
    // The headline: the test evaluation at the end of training on the run's own test split, unchanged.
    expect(after.run.results).toEqual(before.run.results);
    expect(after.run.results?.testSource?.evaluationId).toBe(before.evaluations.find((e) => e.origin === 'training')?.id);
    expect(after.run.results?.testMse).not.toBe(res.test!.mse);

    // The same sequences through predict: the mean of its per-sequence MSEs is the evaluation's MSE.
    const p = await cli(['predict', mnistRun, '--data', file, '--sequences', '6', '--json', '--store', store]);
    expect(p.code, p.stderr).toBe(0);
    const mses = (JSON.parse(p.stdout) as { mse: number[] }).mse;
    expect(mses.reduce((a, b) => a + b, 0) / mses.length).toBeCloseTo(res.test!.mse, 6);
  });

  it("on a run trained on its own .npy files, evaluating its test file gives the run's headline test MSE", async () => {
    const train = npy('train.npy', [8, 5, 8, 8], 2);
    const val = npy('val.npy', [2, 5, 8, 8], 3);
    const test = npy('test.npy', [3, 5, 8, 8], 4);
    const t = await cli([
      ...['train', '--data', train, '--data-val', val, '--data-test', test, '--model', 'grnn', '--hidden', '2', '--batch', '2', '--steps', '4'],
      ...['--input-frames', '3', '--pred-frames', '2', '--val-every', '2', '--backend', 'wasm', '--json', '--store', store, '--name', 'npyrun'],
    ]);
    expect(t.code, t.stderr).toBe(0);
    const id = (JSON.parse(t.stdout) as { run_id: string }).run_id;
    const headline = (await show(id)).run.results!.testMse!;
    const r = await cli(['eval', id, '--data', test, '--json', '--store', store]);
    expect(r.code, r.stderr).toBe(0);
    const res = JSON.parse(r.stdout) as EvaluationResults;
    // The same weights (best), sequences (all 3, file order) and batching as training's test evaluation.
    expect(res.test!.sequences).toBe(3);
    expect(res.test!.mse).toBeCloseTo(headline, 7);
    expect((await show(id)).run.results!.testMse).toBe(headline);
  });
});

describe('eval RUN --data FOLDER: a folder of clips (videos or PNG frame folders)', () => {
  it("cuts the clips into the run's windows at its frame size and records the folder", async () => {
    const data = clipFolder('eval-clips', 2, 12);
    const r = await cli(['eval', mnistRun, '--data', data, '--json', '--store', store]);
    expect(r.code, r.stderr).toBe(0);
    const res = JSON.parse(r.stdout) as EvaluationResults;
    // 2 clips of 12 frames, windows of 3 + 2 frames side by side: 2 windows each, resized to the run's 8x8.
    expect(res.data).toEqual({ kind: 'frames', path: data, sha256: expect.stringMatching(/^[0-9a-f]{64}$/), shape: [4, 5, 8, 8], dtype: 'frames' });
    expect(res.test!.sequences).toBe(4);
    const p = await cli(['predict', mnistRun, '--data', data, '--sequences', '4', '--json', '--store', store]);
    expect(p.code, p.stderr).toBe(0);
    const mses = (JSON.parse(p.stdout) as { mse: number[] }).mse;
    expect(mses.reduce((a, b) => a + b, 0) / mses.length).toBeCloseTo(res.test!.mse, 6);
  });

  it("on a run trained on clip folders, evaluating its test folder gives the run's headline test MSE", async () => {
    const train = clipFolder('ft-train', 3, 10);
    const val = clipFolder('ft-val', 1, 10, 3);
    const test = clipFolder('ft-test', 2, 15, 5);
    const t = await cli([
      ...['train', '--data', train, '--data-val', val, '--data-test', test, '--model', 'grnn', '--hidden', '2', '--batch', '2', '--steps', '3'],
      ...['--image-size', '8', '--input-frames', '3', '--pred-frames', '2', '--val-every', '3', '--backend', 'wasm', '--json', '--store', store],
    ]);
    expect(t.code, t.stderr).toBe(0);
    const id = (JSON.parse(t.stdout) as { run_id: string }).run_id;
    const headline = (await show(id)).run.results!.testMse!;
    const r = await cli(['eval', id, '--data', test, '--json', '--store', store]);
    expect(r.code, r.stderr).toBe(0);
    const res = JSON.parse(r.stdout) as EvaluationResults;
    expect(res.test!.sequences).toBe(6);
    expect(res.test!.mse).toBeCloseTo(headline, 7);
  });
});

describe('predict RUN --data', () => {
  it('predicts the chosen sequences of the file, says where they come from, and writes --out', async () => {
    const file = npy('pred.npy', [5, 5, 8, 8], 5);
    const out = join(dir, 'pred-out.npy');
    const before = snapshot(mnistRun);
    const r = await cli(['predict', mnistRun, '--data', file, '--sequences', '3', '--first', '1', '--out', out, '--store', store]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`on ${file} (npy, sha256 ${sha256(file).slice(0, 12)}, shape [5, 5, 8, 8])`);
    expect(r.stdout.match(/^sequence \d+: MSE /gm)).toHaveLength(3);
    expect(r.stdout).toMatch(/^sequence 1: MSE/m);
    expect(parseNpy(readFileSync(out)).shape).toEqual([3, 2, 1, 8, 8]);
    expect(snapshot(mnistRun)).toEqual(before);
  });
});

describe('bad --data (a file or a folder): exit 2 naming --data and the file, nothing written to the run', () => {
  const cases: [string, () => string, RegExp][] = [
    ['a missing file', () => join(dir, 'missing.npy'), /--data: .*missing\.npy: no such file/],
    [
      'the wrong frame count',
      () => npy('frames6.npy', [3, 6, 8, 8]),
      /--data: .*frames6\.npy: sequences have 6 frames; input frames \+ predicted frames = 3 \+ 2 = 5/,
    ],
    ['the wrong frame size', () => npy('size10.npy', [3, 5, 10, 10]), /--data: .*size10\.npy: frames are 10x10; run .* was trained on 8x8 frames/],
    ['not a .npy', () => textFile('text.npy'), /--data: .*text\.npy: not a \.npy file/],
    ['an empty folder', () => emptyFolder('a-folder'), /--data: .*a-folder: the folder is empty/],
    [
      'a folder whose clip is shorter than one window',
      () => clipFolder('short-clips', 1, 4),
      /--data: .*short-clips\/clip0: 4 frames, fewer than one window of 5/,
    ],
  ];
  it.each(cases)('%s', async (_what, make, pattern) => {
    const file = make();
    const before = snapshot(mnistRun);
    expectBadInput(await cli(['eval', mnistRun, '--data', file, '--store', store]), pattern);
    expectBadInput(await cli(['predict', mnistRun, '--data', file, '--out', join(dir, 'never.npy'), '--store', store]), pattern);
    expect(snapshot(mnistRun)).toEqual(before);
    expect(readdirSync(dir)).not.toContain('never.npy');
  });

  it('--kinds other than test with --data, and predict RUN without --data, are refused', async () => {
    const file = npy('ok.npy', [2, 5, 8, 8]);
    const before = snapshot(mnistRun);
    expectBadInput(await cli(['eval', mnistRun, '--data', file, '--kinds', 'test,length', '--store', store]), /--kinds: with data, only test is measured/);
    expectBadInput(await cli(['predict', mnistRun, '--store', store]), /--data: is required with a run/);
    expect(snapshot(mnistRun)).toEqual(before);
  });
});
