import type { TrainConfig } from '../../../core/protocol/run';
import { InputError } from '../../../core/util/errors';
import { createRng } from '../../../core/util/rng';
import { npySequenceSource, readNpySequences, scanNpySequences, type NpySequences } from '../userNpy';
import type { DataSources, RunData } from './loader';

/**
 * The user's own sequences in .npy files (dataset kind `npy`; README "Your own data"): `dataDir` holds
 * [N, T, 1, H, W] or [N, T, H, W] float32 in [0, 1] or uint8, with separate validation/test files or seeded held-out
 * fractions of it. Read by node/data/userNpy.ts (one copy in memory, uint8 kept as bytes).
 */

/** Fraction of a single .npy held out for validation and for test when no separate files are given. */
export const NPY_HOLDOUT = 0.1;

/**
 * The train / val / test sequence indices of one file of N sequences (or of a folder's N clips: `unit`): a seeded choice of round(N * NPY_HOLDOUT)
 * sequences (at least one) for each held-out split that has no file of its own, never overlapping; each split in file
 * order. The rest train.
 * @throws InputError('dataDir', ...) when nothing would be left to train on.
 */
export function npySplits(
  n: number,
  seed: number,
  holdVal: boolean,
  holdTest: boolean,
  path: string,
  unit = 'sequences',
): { train: number[]; val: number[]; test: number[] } {
  const k = Math.max(1, Math.round(n * NPY_HOLDOUT));
  const need = (holdVal ? k : 0) + (holdTest ? k : 0);
  if (n - need < 1)
    throw new InputError(
      'dataDir',
      `${path}: ${n} ${unit} leave none to train on after holding out ${need} for validation/test (give --data-val and --data-test)`,
    );
  const order = Array.from({ length: n }, (_, i) => i);
  const rng = createRng(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [order[i], order[j]] = [order[j], order[i]];
  }
  const val = holdVal ? order.slice(0, k) : [];
  const test = holdTest ? order.slice(holdVal ? k : 0, need) : [];
  const train = order.slice(need);
  const sorted = (a: number[]): number[] => a.sort((x, y) => x - y);
  return { train: sorted(train), val: sorted(val), test: sorted(test) };
}

const allOf = (d: NpySequences): number[] => Array.from({ length: d.shape[0] }, (_, i) => i);

/** The user's .npy sequences of a run: dataDir, and dataVal / dataTest or held-out fractions of dataDir (batches of
 *  the training split in the run's batchOrder; validation and test in file order). */
export async function npyPrediction(config: TrainConfig, dataSeed: number): Promise<RunData> {
  const main = await readNpySequences(config.dataDir ?? '');
  const split = npySplits(main.shape[0], dataSeed, !config.dataVal, !config.dataTest, main.path);
  const valData = config.dataVal ? await readNpySequences(config.dataVal) : main;
  const testData = config.dataTest ? await readNpySequences(config.dataTest) : main;
  const val = config.dataVal ? allOf(valData) : split.val;
  const test = config.dataTest ? allOf(testData) : split.test;
  return {
    train: npySequenceSource(main, split.train, config.batchOrder, dataSeed),
    val: npySequenceSource(valData, val, 'file', 0),
    test: npySequenceSource(testData, test, 'file', 0),
    epochSize: split.train.length,
    valSize: val.length,
    testSize: test.length,
  };
}

/**
 * Checks a run's user data before the run exists (streaming, no copy held) and returns what run.json records of it:
 * each file's path, sha256, shape and dtype. Sequences must have inputFrames + predFrames frames and every file the
 * same frame size; a single file must leave sequences to train on.
 * @throws InputError('config.dataDir' | 'config.dataVal' | 'config.dataTest', ...) naming the file.
 */
export async function inspectNpyData(config: TrainConfig): Promise<DataSources> {
  const files: { split: 'all' | 'val' | 'test'; field: 'dataDir' | 'dataVal' | 'dataTest'; path: string }[] = [
    { split: 'all', field: 'dataDir', path: config.dataDir ?? '' },
  ];
  if (config.dataVal) files.push({ split: 'val', field: 'dataVal', path: config.dataVal });
  if (config.dataTest) files.push({ split: 'test', field: 'dataTest', path: config.dataTest });
  const out: DataSources = [];
  const frames = config.inputFrames + config.predFrames;
  for (const f of files) {
    let s;
    try {
      s = await scanNpySequences(f.path);
    } catch (e) {
      if (e instanceof InputError) throw new InputError(`config.${f.field}`, e.message.replace(/^data: /, ''));
      throw e;
    }
    const [n, t, h, w] = s.shape;
    if (t !== frames)
      throw new InputError(
        `config.${f.field}`,
        `${f.path}: sequences have ${t} frames; input frames + predicted frames = ${config.inputFrames} + ${config.predFrames} = ${frames}`,
      );
    if (out.length && (h !== out[0].shape[2] || w !== out[0].shape[3]))
      throw new InputError(`config.${f.field}`, `${f.path}: frames are ${h}x${w}, those of ${out[0].path} ${out[0].shape[2]}x${out[0].shape[3]}`);
    if (f.split === 'all') {
      try {
        npySplits(n, 0, !config.dataVal, !config.dataTest, f.path);
      } catch (e) {
        throw new InputError('config.dataDir', (e as Error).message.replace(/^dataDir: /, ''));
      }
    }
    out.push({ split: f.split, path: f.path, sha256: s.sha256, shape: s.shape, dtype: s.dtype });
  }
  return out;
}
