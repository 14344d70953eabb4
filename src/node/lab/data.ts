import type { FlowingMnistBatch } from '../../core/data/flowingMnist';
import type { TrainConfig } from '../../core/protocol/run';
import type { HostBatch } from '../../core/train/fit';
import { datasetLoader } from '../data/datasetRegistry';
import { SPLITS, type ClassificationRunData, type DecodedFolders, type RunData, type Split } from '../data/datasets/loader';

/**
 * A run's data, whatever its dataset kind: the kind's loader from the registry (node/data/datasetRegistry.ts; the
 * loaders themselves in node/data/datasets/, one file per kind).
 */
export type { ClassificationRunData, RunData, SequenceSource } from '../data/datasets/loader';
export { dataOmegas } from '../data/datasets/rotatingMnist';
export { dataClassCount, walkRunData } from '../data/datasetRegistry';
export { NPY_HOLDOUT, npySplits } from '../data/datasets/npy';

/**
 * The three sequence streams of a prediction run (train, val, test) from its dataset's loader.
 * @param decoded clips the run's inspect decoded in this process (the service's startRun), not decoded again.
 */
export async function runData(config: TrainConfig, dataSeed: number, decoded?: DecodedFolders): Promise<RunData> {
  return datasetLoader(config.dataset, 'prediction')(config, dataSeed, decoded);
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

/**
 * The labelled clip streams of a classification run from its dataset's loader; test clips move with
 * `testDataVRange` (default: the training range).
 * @param splits the splits to load (KTH decodes only these videos; Flowing MNIST is generated on demand anyway)
 * @param decoded videos the run's inspect decoded in this process (the service's startRun), not decoded again.
 */
export async function classificationRunData(
  config: TrainConfig,
  dataSeed: number,
  onLoad?: (done: number, total: number) => void,
  splits: readonly Split[] = SPLITS,
  decoded?: DecodedFolders,
): Promise<ClassificationRunData> {
  return datasetLoader(config.dataset, 'classification')(config, dataSeed, {
    testRange: config.testDataVRange ?? config.dataVRange,
    onLoad,
    splits,
    ...(decoded ? { decoded } : {}),
  });
}
