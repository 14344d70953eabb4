import { basename, join } from 'node:path';
import type { LabelledVideo } from '../../../core/data/movingClips';
import type { TrainConfig } from '../../../core/protocol/run';
import { InputError } from '../../../core/util/errors';
import { createRng } from '../../../core/util/rng';
import { hashClassFolders, loadClassVideo, scanClassFolders, type ClassFolder, type ClassFolderIndex } from '../classFolders';
import type { VideoItem } from '../kth';
import { CLIP_FRAME_STEP, videoClipStreams } from './kth';
import type { DecodedClip } from '../userFrames';
import type { ClassificationLoad, ClassificationRunData, DataInspection, DataSources, DataWalk, DecodedFolders, InspectKeep, Split } from './loader';

/**
 * The users' class folders (dataset kind `class-folders`; README "Your own data and weights"): `dataDir` holds one
 * folder per class of videos or PNG frame folders (node/data/classFolders.ts reads them), decoded and moved as KTH
 * (datasets/kth.ts: grey, imageSize, random clips of inputFrames frames, random translations), with validation and
 * test folders of the same classes (`dataVal`, `dataTest`) or seeded held-out videos of each class.
 */

/** Fraction of each class's videos held out for validation and for test when no separate folder is given. */
export const CLASS_HOLDOUT = 0.1;

/** Video indices per class (classes in label order). */
export type ClassVideos = number[][];

/**
 * The train / val / test videos of each class: per class of n videos, a seeded choice of round(n * CLASS_HOLDOUT)
 * videos (at least one) for each held-out split that has no folder of its own; a video is in exactly one split, so
 * clips of one video never reach two splits. Each split's videos in name order.
 * @param counts videos per class, in label order
 * @throws InputError('dataDir', ...) naming the class folder when a class would have no video left to train on.
 */
export function classFolderSplits(
  counts: readonly number[],
  seed: number,
  holdVal: boolean,
  holdTest: boolean,
  folders: readonly string[],
): { train: ClassVideos; val: ClassVideos; test: ClassVideos } {
  const rng = createRng(seed);
  const out: { train: ClassVideos; val: ClassVideos; test: ClassVideos } = { train: [], val: [], test: [] };
  counts.forEach((n, c) => {
    const k = Math.max(1, Math.round(n * CLASS_HOLDOUT));
    const need = (holdVal ? k : 0) + (holdTest ? k : 0);
    if (n - need < 1)
      throw new InputError(
        'dataDir',
        `${folders[c]} has ${n} video${n === 1 ? '' : 's'}: too few to hold out ${need} for ${[holdVal ? 'validation' : '', holdTest ? 'test' : ''].filter(Boolean).join(' and ')} and train on the rest (add videos, or give --data-val and --data-test)`,
      );
    const order = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = rng.int(0, i);
      [order[i], order[j]] = [order[j], order[i]];
    }
    const sorted = (a: number[]): number[] => a.sort((x, y) => x - y);
    out.val.push(sorted(holdVal ? order.slice(0, k) : []));
    out.test.push(sorted(holdTest ? order.slice(holdVal ? k : 0, need) : []));
    out.train.push(sorted(order.slice(need)));
  });
  return out;
}

type Field = 'dataDir' | 'dataVal' | 'dataTest';

/** The folders of a run: dataDir, and dataVal / dataTest when given. */
async function scanRun(config: TrainConfig): Promise<{ field: Field; index: ClassFolderIndex }[]> {
  const out: { field: Field; index: ClassFolderIndex }[] = [];
  for (const field of ['dataDir', 'dataVal', 'dataTest'] as const) {
    const path = config[field];
    if (path === undefined) continue;
    const index = await scanClassFolders(path, `config.${field}`);
    const names = (i: ClassFolderIndex): string => i.classes.map((c) => c.name).join(', ');
    if (out.length && names(index) !== names(out[0].index))
      throw new InputError(
        `config.${field}`,
        `${path} has classes ${names(index)}; the training folder ${out[0].index.root} has ${names(out[0].index)}: they must be the same`,
      );
    out.push({ field, index });
  }
  return out;
}

/** A video's name in what an inspect keeps of a class-folders root: `class/video` (a class name holds no '/'). */
const keptName = (c: ClassFolder, v: VideoItem): string => `${c.name}/${basename(v.path)}`;

/**
 * The walk of a run's folders, from what its inspect decoded (keep.decoded: each folder's videos under `class/video`
 * names, classes in label order) when that holds every folder the run names: the run's worker then reads no file.
 * The inspect's walk checked them (layout, the same classes in every folder). Otherwise the folders are walked.
 */
async function indexRun(config: TrainConfig, decoded: DecodedFolders | undefined): Promise<{ field: Field; index: ClassFolderIndex }[]> {
  const fields = (['dataDir', 'dataVal', 'dataTest'] as const).filter((f) => config[f] !== undefined);
  if (!decoded || !fields.every((f) => decoded[config[f] ?? ''])) return scanRun(config);
  return fields.map((field) => {
    const root = config[field] ?? '';
    const classes: { name: string; path: string; videos: VideoItem[] }[] = [];
    for (const { clip } of decoded[root]) {
      const name = clip.name.slice(0, clip.name.indexOf('/'));
      if (classes.at(-1)?.name !== name) classes.push({ name, path: join(root, name), videos: [] });
      classes[classes.length - 1].videos.push(clip);
    }
    return { field, index: { root, classes } };
  });
}

/** Frames a video needs for one clip (KthClipSource: inputFrames clips at CLIP_FRAME_STEP). */
const videosNeeded = (config: TrainConfig): number => config.inputFrames * CLIP_FRAME_STEP;

/**
 * Labelled clip streams of a run on the users' class folders; only the splits asked for are decoded, and none when
 * `decoded` holds the run's folders (what the run's inspect decoded in this process, walkClassFolders' inspect with
 * keep.decoded: the lab service hands them to the run's worker; the folders are then not read at all).
 */
export async function classFoldersClassification(
  config: TrainConfig,
  dataSeed: number,
  { testRange, onLoad, splits, decoded }: ClassificationLoad,
): Promise<ClassificationRunData> {
  const scanned = await indexRun(config, decoded);
  const kept = new Map(Object.values(decoded ?? {}).flatMap((clips) => clips.map((c) => [c.clip.path, c.video] as const)));
  const main = scanned[0].index;
  const own = (f: Field): ClassFolderIndex | undefined => scanned.find((s) => s.field === f)?.index;
  const held = classFolderSplits(
    main.classes.map((c) => c.videos.length),
    dataSeed,
    !config.dataVal,
    !config.dataTest,
    main.classes.map((c) => c.path),
  );
  const pick = (part: Split): { index: ClassFolderIndex; field: Field; videos: ClassVideos } => {
    const f: Field = part === 'val' ? 'dataVal' : part === 'test' ? 'dataTest' : 'dataDir';
    const index = part === 'train' ? undefined : own(f);
    return index ? { index, field: f, videos: index.classes.map((c) => c.videos.map((_, i) => i)) } : { index: main, field: 'dataDir', videos: held[part] };
  };
  const chosen = { train: pick('train'), val: pick('val'), test: pick('test') };
  const count = (part: Split): number => chosen[part].videos.reduce((n, v) => n + v.length, 0);
  const total = splits.reduce((n, part) => n + count(part), 0);
  let done = 0;
  const load = async (part: Split): Promise<LabelledVideo[] | null> => {
    if (!splits.includes(part)) return null;
    const { index, field, videos } = chosen[part];
    const out: LabelledVideo[] = [];
    for (let label = 0; label < videos.length; label++) {
      for (const i of videos[label]) {
        const item = index.classes[label].videos[i];
        out.push({ video: kept.get(item.path) ?? (await loadClassVideo(item, config.imageSize, field)), label });
        onLoad?.(++done, total);
      }
    }
    return out;
  };
  const loaded = { train: await load('train'), val: await load('val'), test: await load('test') };
  return {
    ...videoClipStreams(loaded, config, dataSeed, { testRange, hflip: false, splits, what: 'class-folders' }),
    numClasses: main.classes.length,
    note: `class folders ${main.root}: ${main.classes.length} classes (${main.classes.map((c) => c.name).join(', ')}), ${count('train')}/${count('val')}/${count('test')} videos (train/val/test); velocities train -${config.dataVRange}..${config.dataVRange}, test -${testRange}..${testRange}`,
  };
}

/**
 * Checks a run's class folders before the run exists, in the registry's two steps (DataInspector). The walk: the
 * layout (at least 2 classes, none empty, only videos or frame folders) and the same classes in dataVal / dataTest,
 * names only; it gives the classes (the classifier head's size, for the memory check). Its `inspect`: enough videos per
 * class to hold out, and every video decoded once (ffmpeg reads it, a frame folder's frames have one size, it has the
 * frames a clip needs); it returns what run.json records: each folder's path, sha256 (hashClassFolders), videos and
 * classes; with `keep.decoded`, also the decoded videos of each folder (by its path as the config gives it; named
 * `class/video`, in label then name order), for classFoldersClassification in the same process (one decode per video when the lab service starts a run);
 * without, nothing is kept.
 * @throws InputError('config.dataDir' | 'config.dataVal' | 'config.dataTest', ...) naming the folder or file.
 */
export async function walkClassFolders(config: TrainConfig): Promise<DataWalk> {
  const scanned = await scanRun(config);
  const main = scanned[0].index;
  return { classNames: main.classes.map((c) => c.name), inspect: (keep) => inspectScanned(config, scanned, keep) };
}

async function inspectScanned(config: TrainConfig, scanned: { field: Field; index: ClassFolderIndex }[], keep?: InspectKeep): Promise<DataInspection> {
  const main = scanned[0].index;
  try {
    classFolderSplits(
      main.classes.map((c) => c.videos.length),
      0,
      !config.dataVal,
      !config.dataTest,
      main.classes.map((c) => c.path),
    );
  } catch (e) {
    if (e instanceof InputError) throw new InputError('config.dataDir', e.message.slice(e.field.length + 2));
    throw e;
  }
  const need = videosNeeded(config);
  const out: DataSources = [];
  const decoded: Record<string, DecodedClip[]> = {};
  for (const { field, index } of scanned) {
    const kept: DecodedClip[] = [];
    for (const c of index.classes) {
      for (const v of c.videos) {
        const video = await loadClassVideo(v, config.imageSize, `config.${field}`);
        if (video.shape[0] < need)
          throw new InputError(
            `config.${field}`,
            `${v.path} has ${video.shape[0]} frames; a clip of ${config.inputFrames} input frames taken ${CLIP_FRAME_STEP} frames apart needs ${need}`,
          );
        if (keep?.decoded) kept.push({ clip: { ...v, name: keptName(c, v) }, video });
      }
    }
    if (keep?.decoded) decoded[index.root] = kept;
    const videos = index.classes.reduce((n, c) => n + c.videos.length, 0);
    out.push({
      split: field === 'dataDir' ? 'all' : field === 'dataVal' ? 'val' : 'test',
      path: index.root,
      sha256: await hashClassFolders(index),
      shape: [videos],
      dtype: 'videos',
      classes: index.classes.map((c) => ({ name: c.name, videos: c.videos.length })),
    });
  }
  return keep?.decoded ? { sources: out, decoded: decoded satisfies DecodedFolders } : { sources: out };
}

/** The class names of a run's data, from the folder names alone (nothing decoded): for a config before its run exists. */
export async function classFolderNames(config: TrainConfig): Promise<string[]> {
  return (await scanClassFolders(config.dataDir ?? '', 'config.dataDir')).classes.map((c) => c.name);
}
