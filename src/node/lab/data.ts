import { FlowingMnist, MNIST_TRAIN_COUNT, allIndices, splitTrainVal, type FlowingMnistBatch, type VelocitySpec } from '../../core/data/flowingMnist';
import { RotatingMnist } from '../../core/data/rotatingMnist';
import { classificationSource, type ClassificationSource } from '../../core/data/flowingMnistClassification';
import { KthClipSource, type LabelledVideo } from '../../core/data/movingClips';
import { DATASET_CLASSES, type TrainConfig } from '../../core/protocol/run';
import { InputError } from '../../core/util/errors';
import { loadKthVideo, scanKth, splitByPerson } from '../data/kth';
import type { HostBatch } from '../../core/train/fit';
import { loadMnist } from '../mnist';

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
}

/** Rotating MNIST's angular velocities of a run: {-D..D} * omegaStep degrees per frame. */
export const dataOmegas = (config: TrainConfig): number[] =>
  Array.from({ length: 2 * config.dataVRange + 1 }, (_, i) => (i - config.dataVRange) * config.omegaStep);

export async function runData(config: TrainConfig, dataSeed: number): Promise<RunData> {
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
