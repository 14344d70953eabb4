import { FlowingMnist, MNIST_TRAIN_COUNT, allIndices, splitTrainVal, type FlowingMnistBatch } from '../../core/data/flowingMnist';
import type { TrainConfig } from '../../core/protocol/run';
import type { HostBatch } from '../../core/train/fit';
import { loadMnist } from '../mnist';

/** The three Flowing-MNIST streams of a run: train and val from the seeded 54k/6k split of MNIST-train, test from t10k. */
export interface RunData {
  train: FlowingMnist;
  val: FlowingMnist;
  test: FlowingMnist;
  epochSize: number;
}

export async function runData(config: TrainConfig, dataSeed: number): Promise<RunData> {
  const mnist = await loadMnist();
  const split = splitTrainVal(MNIST_TRAIN_COUNT, dataSeed);
  const gen = {
    numDigits: config.numDigits,
    imageSize: config.imageSize,
    seqLen: config.inputFrames + config.predFrames,
    velocity: config.dataVelocities
      ? { kind: 'list' as const, velocities: config.dataVelocities }
      : { kind: 'range' as const, range: config.dataVRange },
  };
  return {
    train: new FlowingMnist(gen, { ...mnist.train, indices: split.train }, dataSeed),
    val: new FlowingMnist(gen, { ...mnist.train, indices: split.val }, dataSeed + 1),
    test: new FlowingMnist(gen, { ...mnist.test, indices: allIndices(mnist.test.images.count) }, dataSeed + 2),
    epochSize: split.train.length,
  };
}

/** Splits a generated batch [B, T_in + K, H, W, 1] into inputs and targets along T. */
export function splitBatch(b: FlowingMnistBatch, inputFrames: number): HostBatch {
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
