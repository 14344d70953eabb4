import { KthClipSource, type LabelledVideo, type VelocityRange } from '../../../core/data/movingClips';
import type { ClassificationSource } from '../../../core/data/flowingMnistClassification';
import { datasetClassCount } from '../../../core/data/datasetKinds';
import type { TrainConfig } from '../../../core/protocol/run';
import { InputError } from '../../../core/util/errors';
import { loadKthVideo, scanKth, splitByPerson } from '../kth';
import { SPLITS, type ClassificationLoad, type ClassificationRunData, type Split } from './loader';

/** Source frames between a clip's frames (the reference's KTH training script: every second frame). */
export const CLIP_FRAME_STEP = 2;

/** Labelled videos of each split, null for a split not loaded. */
export type LabelledSplits = { readonly [S in Split]: LabelledVideo[] | null };

/**
 * The clip streams of a classification run on recorded videos (KTH, users' class folders): random clips of
 * `inputFrames` frames (every CLIP_FRAME_STEP-th frame) moved by random translations (train and val -dataVRange..,
 * test -testRange..); train clips in a seeded order per epoch (or in order with batchOrder 'file') and flipped at
 * random when `hflip`. A split not loaded throws on use; epochSize is 0 without the training split.
 */
export function videoClipStreams(
  parts: LabelledSplits,
  config: TrainConfig,
  dataSeed: number,
  o: { testRange: VelocityRange; hflip: boolean; splits: readonly Split[]; what: string },
): Pick<ClassificationRunData, 'train' | 'val' | 'test' | 'epochSize'> {
  const clip = { clipLen: config.inputFrames, step: CLIP_FRAME_STEP };
  const { train, val, test } = parts;
  const trainSource =
    train && new KthClipSource(train, { ...clip, velocityRange: config.dataVRange, hflip: o.hflip, shuffle: config.batchOrder !== 'file' }, dataSeed);
  const wrap = (s: KthClipSource | null, part: Split): ClassificationSource => ({
    batch(i, size) {
      if (!s) throw new Error(`the ${o.what} ${part} split was not loaded (classificationRunData splits: ${o.splits.join(', ')})`);
      const b = s.batch(i, size);
      return { clips: b.frames, labels: Int32Array.from(b.labels), shape: b.shape };
    },
  });
  return {
    train: wrap(trainSource, 'train'),
    val: wrap(val && new KthClipSource(val, { ...clip, velocityRange: config.dataVRange, shuffle: false }, dataSeed + 1), 'val'),
    test: wrap(test && new KthClipSource(test, { ...clip, velocityRange: o.testRange, shuffle: false }, dataSeed + 2), 'test'),
    epochSize: trainSource?.length ?? 0,
  };
}

/**
 * Moving KTH from the run's `dataDir` (the reference's person split; train clips flipped at random; test clips move
 * with the test range). Only the splits asked for are decoded (evaluating a run's test accuracy needs the test
 * persons' videos alone); each split's clips are the same whichever others are loaded (one seed per split).
 */
export async function kthClassification(
  config: TrainConfig,
  dataSeed: number,
  { testRange, onLoad, splits }: ClassificationLoad,
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
  const loaded = { train: await load('train'), val: await load('val'), test: await load('test') };
  return {
    ...videoClipStreams(loaded, config, dataSeed, { testRange, hflip: true, splits, what: 'KTH' }),
    numClasses: datasetClassCount('kth'),
    note: `moving-KTH from ${index.root}: ${parts.train.length}/${parts.val.length}/${parts.test.length} videos (train/val/test persons), ${index.problems.length} skipped; velocities train -${config.dataVRange}..${config.dataVRange}, test -${testRange}..${testRange}`,
  };
}
