import { KthClipSource, type LabelledVideo } from '../../../core/data/movingClips';
import type { ClassificationSource } from '../../../core/data/flowingMnistClassification';
import { datasetClassCount } from '../../../core/data/datasetKinds';
import { InputError } from '../../../core/util/errors';
import { loadKthVideo, scanKth, splitByPerson } from '../kth';
import { SPLITS, type ClassificationLoader, type Split } from './loader';

/**
 * Moving KTH from the run's `dataDir` (the reference's person split; train clips flipped at random; test clips move
 * with the test range). Only the splits asked for are decoded (evaluating a run's test accuracy needs the test
 * persons' videos alone); each split's clips are the same whichever others are loaded (one seed per split). A split
 * not loaded throws on use, and epochSize is 0 without the training split.
 */
export const kthClassification: ClassificationLoader = async (config, dataSeed, { testRange, onLoad, splits }) => {
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
    numClasses: datasetClassCount('kth'),
    note: `moving-KTH from ${index.root}: ${parts.train.length}/${parts.val.length}/${parts.test.length} videos (train/val/test persons), ${index.problems.length} skipped; velocities train -${config.dataVRange}..${config.dataVRange}, test -${testRange}..${testRange}`,
  };
};
