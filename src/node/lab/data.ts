import { FlowingMnist, MNIST_TRAIN_COUNT, allIndices, splitTrainVal, type FlowingMnistBatch, type VelocitySpec } from '../../core/data/flowingMnist';
import { RotatingMnist } from '../../core/data/rotatingMnist';
import { classificationSource, type ClassificationSource } from '../../core/data/flowingMnistClassification';
import { KthClipSource, type LabelledVideo } from '../../core/data/movingClips';
import { DATASET_CLASSES, type TrainConfig } from '../../core/protocol/run';
import { InputError } from '../../core/util/errors';
import { loadKthVideo, scanKth, splitByPerson } from '../data/kth';
import type { HostBatch } from '../../core/train/fit';
import { loadMnist } from '../mnist';
import { npySequenceSource, readNpySequences, scanNpySequences, type NpySequences } from '../data/userNpy';
import { createRng } from '../../core/util/rng';
import type { RunRecord } from '../../core/protocol/run';

/** A seeded stream of sequences [B, T, H, W, 1] (Flowing MNIST or Rotating MNIST). */
export interface SequenceSource {
  batch(index: number, size: number): { frames: Float32Array; shape: readonly [number, number, number, number, 1] };
}

/**
 * The three data streams of a prediction run: train and val from the seeded 54k/6k split of MNIST-train, test from
 * t10k; digits translating (Flowing MNIST) or rotating (Rotating MNIST) by the run's dataset.
 */
export interface RunData {
  train: SequenceSource;
  val: SequenceSource;
  test: SequenceSource;
  epochSize: number;
  /** Sequences in the validation and test sets when they are finite (user data); generated sets are endless. */
  valSize?: number;
  testSize?: number;
}

/** Rotating MNIST's angular velocities of a run: {-D..D} * omegaStep degrees per frame. */
export const dataOmegas = (config: TrainConfig): number[] =>
  Array.from({ length: 2 * config.dataVRange + 1 }, (_, i) => (i - config.dataVRange) * config.omegaStep);

export async function runData(config: TrainConfig, dataSeed: number): Promise<RunData> {
  if (config.dataset === 'npy') return npyRunData(config, dataSeed);
  const mnist = await loadMnist();
  const split = splitTrainVal(MNIST_TRAIN_COUNT, dataSeed);
  if (config.dataset === 'rotating-mnist') {
    const gen = {
      numDigits: config.numDigits,
      imageSize: config.imageSize,
      seqLen: config.inputFrames + config.predFrames,
      angularVelocity: { kind: 'list' as const, omegas: dataOmegas(config) },
    };
    return {
      train: new RotatingMnist(gen, { ...mnist.train, indices: split.train }, dataSeed),
      val: new RotatingMnist(gen, { ...mnist.train, indices: split.val }, dataSeed + 1),
      test: new RotatingMnist(gen, { ...mnist.test, indices: allIndices(mnist.test.images.count) }, dataSeed + 2),
      epochSize: split.train.length,
    };
  }
  const gen = {
    numDigits: config.numDigits,
    imageSize: config.imageSize,
    seqLen: config.inputFrames + config.predFrames,
    velocity: config.dataVelocities ? { kind: 'list' as const, velocities: config.dataVelocities } : { kind: 'range' as const, range: config.dataVRange },
  };
  return {
    train: new FlowingMnist(gen, { ...mnist.train, indices: split.train }, dataSeed),
    val: new FlowingMnist(gen, { ...mnist.train, indices: split.val }, dataSeed + 1),
    test: new FlowingMnist(gen, { ...mnist.test, indices: allIndices(mnist.test.images.count) }, dataSeed + 2),
    epochSize: split.train.length,
  };
}

/** Splits a generated batch [B, T_in + K, H, W, 1] into inputs and targets along T. */
export function splitBatch(b: Pick<FlowingMnistBatch, 'frames' | 'shape'>, inputFrames: number): HostBatch {
  const [n, t, h, w, c] = b.shape;
  const frame = h * w * c;
  const k = t - inputFrames;
  const inputs = new Float32Array(n * inputFrames * frame);
  const targets = new Float32Array(n * k * frame);
  for (let i = 0; i < n; i++) {
    const base = i * t * frame;
    inputs.set(b.frames.subarray(base, base + inputFrames * frame), i * inputFrames * frame);
    targets.set(b.frames.subarray(base + inputFrames * frame, base + t * frame), i * k * frame);
  }
  return { inputs, targets, inputShape: [n, inputFrames, h, w, c], targetShape: [n, k, h, w, c] };
}

/** The labelled clip streams of a classification run. */
export interface ClassificationRunData {
  train: ClassificationSource;
  val: ClassificationSource;
  test: ClassificationSource;
  /** Clips per epoch (training digits; KTH: training segments). */
  epochSize: number;
  numClasses: number;
  /** Where the clips come from, for the run's log. */
  note: string;
}

/**
 * Flowing-MNIST classification (one digit per clip, label = digit; train/val from the seeded 54k/6k split with the
 * training motion, test from t10k with the test motion `testDataVRange`) or moving-KTH from `config.dataDir`
 * (the reference's person split; train clips flipped at random; test clips move with `testDataVRange`).
 * @param splits the splits to load (KTH decodes only these videos; Flowing MNIST is generated on demand anyway)
 */
export async function classificationRunData(
  config: TrainConfig,
  dataSeed: number,
  onLoad?: (done: number, total: number) => void,
  splits: readonly Split[] = SPLITS,
): Promise<ClassificationRunData> {
  const testRange = config.testDataVRange ?? config.dataVRange;
  if (config.dataset === 'kth') return kthRunData(config, dataSeed, testRange, onLoad, splits);
  const mnist = await loadMnist();
  const split = splitTrainVal(MNIST_TRAIN_COUNT, dataSeed);
  const velocity: VelocitySpec = config.dataVelocities ? { kind: 'list', velocities: config.dataVelocities } : { kind: 'range', range: config.dataVRange };
  const opts = { imageSize: config.imageSize, seqLen: config.inputFrames };
  return {
    train: classificationSource({ ...mnist.train, indices: split.train }, { ...opts, velocity }, dataSeed),
    val: classificationSource({ ...mnist.train, indices: split.val }, { ...opts, velocity }, dataSeed + 1),
    test: classificationSource(
      { ...mnist.test, indices: allIndices(mnist.test.images.count) },
      { ...opts, velocity: { kind: 'range', range: testRange } },
      dataSeed + 2,
    ),
    epochSize: split.train.length,
    numClasses: DATASET_CLASSES['flowing-mnist'],
    note: `Flowing-MNIST classification: train velocities ${config.dataVelocities ? `${config.dataVelocities.length} listed` : `-${config.dataVRange}..${config.dataVRange}`}, test -${testRange}..${testRange}`,
  };
}

type Split = 'train' | 'val' | 'test';
const SPLITS: readonly Split[] = ['train', 'val', 'test'];

/**
 * Moving KTH. Only the splits asked for are decoded (evaluating a run's test accuracy needs the test persons' videos
 * alone); each split's clips are the same whichever others are loaded (one seed per split). A split not loaded
 * throws on use, and epochSize is 0 without the training split.
 */
async function kthRunData(
  config: TrainConfig,
  dataSeed: number,
  testRange: number,
  onLoad: ((done: number, total: number) => void) | undefined,
  splits: readonly Split[],
): Promise<ClassificationRunData> {
  const index = await scanKth(config.dataDir ?? '');
  const parts = splitByPerson(index);
  for (const part of SPLITS) {
    if (parts[part].length === 0)
      throw new InputError('dataDir', `${index.root} has no ${part} videos (the reference split: persons 1-16 train, 17-20 val, 21-25 test)`);
  }
  const total = splits.reduce((n, part) => n + parts[part].length, 0);
  let done = 0;
  const load = async (part: Split): Promise<LabelledVideo[] | null> => {
    if (!splits.includes(part)) return null;
    const out: LabelledVideo[] = [];
    for (const e of parts[part]) {
      out.push({ video: await loadKthVideo(e, { size: config.imageSize }), label: e.label, segments: e.segments });
      onLoad?.(++done, total);
    }
    return out;
  };
  const [train, val, test] = [await load('train'), await load('val'), await load('test')];
  const clip = { clipLen: config.inputFrames };
  const trainSource = train && new KthClipSource(train, { ...clip, velocityRange: config.dataVRange, hflip: true }, dataSeed);
  const wrap = (s: KthClipSource | null, part: Split): ClassificationSource => ({
    batch(i, size) {
      if (!s) throw new Error(`the KTH ${part} split was not loaded (classificationRunData splits: ${splits.join(', ')})`);
      const b = s.batch(i, size);
      return { clips: b.frames, labels: Int32Array.from(b.labels), shape: b.shape };
    },
  });
  return {
    train: wrap(trainSource, 'train'),
    val: wrap(val && new KthClipSource(val, { ...clip, velocityRange: config.dataVRange, shuffle: false }, dataSeed + 1), 'val'),
    test: wrap(test && new KthClipSource(test, { ...clip, velocityRange: testRange, shuffle: false }, dataSeed + 2), 'test'),
    epochSize: trainSource?.length ?? 0,
    numClasses: DATASET_CLASSES.kth,
    note: `moving-KTH from ${index.root}: ${parts.train.length}/${parts.val.length}/${parts.test.length} videos (train/val/test persons), ${index.problems.length} skipped; velocities train -${config.dataVRange}..${config.dataVRange}, test -${testRange}..${testRange}`,
  };
}

/** Fraction of a single .npy held out for validation and for test when no separate files are given. */
export const NPY_HOLDOUT = 0.1;

/**
 * The train / val / test sequence indices of one file of N sequences: a seeded choice of round(N * NPY_HOLDOUT)
 * sequences (at least one) for each held-out split that has no file of its own, never overlapping; each split in file
 * order. The rest train.
 * @throws InputError('dataDir', ...) when nothing would be left to train on.
 */
export function npySplits(n: number, seed: number, holdVal: boolean, holdTest: boolean, path: string): { train: number[]; val: number[]; test: number[] } {
  const k = Math.max(1, Math.round(n * NPY_HOLDOUT));
  const need = (holdVal ? k : 0) + (holdTest ? k : 0);
  if (n - need < 1)
    throw new InputError(
      'dataDir',
      `${path}: ${n} sequences leave none to train on after holding out ${need} for validation/test (give --data-val and --data-test)`,
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

/** The user's .npy sequences of a run: dataDir, and dataVal / dataTest or held-out fractions of dataDir. */
async function npyRunData(config: TrainConfig, dataSeed: number): Promise<RunData> {
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
export async function inspectRunData(config: TrainConfig): Promise<NonNullable<RunRecord['sources']>['data']> {
  if (config.dataset !== 'npy') return undefined;
  const files: { split: 'all' | 'val' | 'test'; field: 'dataDir' | 'dataVal' | 'dataTest'; path: string }[] = [
    { split: 'all', field: 'dataDir', path: config.dataDir ?? '' },
  ];
  if (config.dataVal) files.push({ split: 'val', field: 'dataVal', path: config.dataVal });
  if (config.dataTest) files.push({ split: 'test', field: 'dataTest', path: config.dataTest });
  const out: NonNullable<NonNullable<RunRecord['sources']>['data']> = [];
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
