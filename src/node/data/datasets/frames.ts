import type { TrainConfig } from '../../../core/protocol/run';
import { InputError } from '../../../core/util/errors';
import { clipWindowSource, clipWindows, decodeClip, hashClipFolder, scanClipFolder, windowCount, type ClipWindow, type DecodedClip } from '../userFrames';
import type { DataInspection, DataSources, DecodedFolders, InspectKeep, RunData } from './loader';
import { npySplits } from './npy';

/**
 * The user's own videos or frame folders (dataset kind `frames`; README "Your own data"): `dataDir` is a folder of
 * clips (node/data/userFrames.ts), cut into windows of inputFrames + predFrames frames `dataStride` apart (default: the
 * window length). Validation and test come from their own folders (`dataVal`, `dataTest`) or from seeded held-out
 * fractions of dataDir's CLIPS (10% each, at least one: npySplits), so no clip has windows in two splits.
 */

type DataField = 'dataDir' | 'dataVal' | 'dataTest';

const windowOf = (config: TrainConfig): { frames: number; stride: number; what: string } => {
  const frames = config.inputFrames + config.predFrames;
  return { frames, stride: config.dataStride ?? frames, what: `input frames + predicted frames = ${config.inputFrames} + ${config.predFrames}` };
};

/** Scans and decodes every clip of one folder at the run's frame size; errors name `field` and the file. */
async function readClips(config: TrainConfig, path: string, field: string): Promise<DecodedClip[]> {
  const folder = await scanClipFolder(path, field);
  const out: DecodedClip[] = [];
  for (const clip of folder.clips) out.push(await decodeClip(clip, config.imageSize, windowOf(config), field));
  return out;
}

/**
 * The windows of each split of a folder of clips with the given frame counts: held-out splits (no folder of their
 * own) are whole clips chosen by `seed`, so a clip's windows are all in one split.
 * @throws InputError('dataDir', ...) when no clip would be left to train on.
 */
export function clipSplitWindows(
  frameCounts: readonly number[],
  seed: number,
  hold: { val: boolean; test: boolean },
  window: { frames: number; stride: number },
  path: string,
): { train: ClipWindow[]; val: ClipWindow[]; test: ClipWindow[] } {
  const split = npySplits(frameCounts.length, seed, hold.val, hold.test, path, 'clips');
  const cut = (clips: number[]): ClipWindow[] => clipWindows(frameCounts, clips, window.frames, window.stride);
  return { train: cut(split.train), val: cut(split.val), test: cut(split.test) };
}

const allClips = (clips: readonly DecodedClip[]): number[] => clips.map((_, i) => i);
const countsOf = (clips: readonly DecodedClip[]): number[] => clips.map((c) => c.video.shape[0]);

/**
 * The user's clips of a run: train batches in the run's batchOrder; validation and test in folder order.
 * @param decoded the clips of the run's folders its inspect decoded in this process (inspectFramesData with
 *   keep.decoded): those folders are not decoded again.
 */
export async function framesPrediction(config: TrainConfig, dataSeed: number, decoded?: DecodedFolders): Promise<RunData> {
  const win = windowOf(config);
  const clipsOf = async (path: string, field: DataField): Promise<readonly DecodedClip[]> => decoded?.[path] ?? readClips(config, path, field);
  const main = await clipsOf(config.dataDir ?? '', 'dataDir');
  const split = clipSplitWindows(countsOf(main), dataSeed, { val: !config.dataVal, test: !config.dataTest }, win, config.dataDir ?? '');
  const own = async (path: string | undefined, field: DataField): Promise<{ clips: readonly DecodedClip[]; windows: ClipWindow[] } | null> => {
    if (!path) return null;
    const clips = await clipsOf(path, field);
    return { clips, windows: clipWindows(countsOf(clips), allClips(clips), win.frames, win.stride) };
  };
  const val = (await own(config.dataVal, 'dataVal')) ?? { clips: main, windows: split.val };
  const test = (await own(config.dataTest, 'dataTest')) ?? { clips: main, windows: split.test };
  return {
    train: clipWindowSource(main, split.train, win.frames, config.batchOrder, dataSeed),
    val: clipWindowSource(val.clips, val.windows, win.frames, 'file', 0),
    test: clipWindowSource(test.clips, test.windows, win.frames, 'file', 0),
    epochSize: split.train.length,
    valSize: val.windows.length,
    testSize: test.windows.length,
  };
}

/**
 * Checks a run's clip folders before the run exists (every clip decoded once) and returns what run.json records of
 * each: path, sha256 over the folder, [windows, window frames, S, S] and the number of clips; with `keep.decoded`,
 * also the decoded clips by folder, for framesPrediction in the same process (the lab service hands them to the
 * run's worker: one decode per clip when a run starts); without, no frames are kept.
 * @throws InputError('config.dataDir' | 'config.dataVal' | 'config.dataTest', ...) naming the file: an empty folder,
 *   a video ffmpeg cannot read, frames of different sizes in one frame folder, a clip shorter than one window, a file
 *   that is not a frame image in a frame folder, no clip left to train on.
 */
export async function inspectFramesData(config: TrainConfig, keep?: InspectKeep): Promise<DataInspection> {
  const win = windowOf(config);
  const folders: { split: 'all' | 'val' | 'test'; field: DataField; path: string }[] = [{ split: 'all', field: 'dataDir', path: config.dataDir ?? '' }];
  if (config.dataVal) folders.push({ split: 'val', field: 'dataVal', path: config.dataVal });
  if (config.dataTest) folders.push({ split: 'test', field: 'dataTest', path: config.dataTest });
  const sources: DataSources = [];
  const decoded: Record<string, DecodedClip[]> = {};
  for (const f of folders) {
    const field = `config.${f.field}`;
    const folder = await scanClipFolder(f.path, field);
    const clips: DecodedClip[] = [];
    let windows = 0;
    for (const clip of folder.clips) {
      const c = await decodeClip(clip, config.imageSize, win, field);
      windows += windowCount(c.video.shape[0], win.frames, win.stride);
      if (keep?.decoded) clips.push(c);
    }
    if (f.split === 'all') {
      try {
        npySplits(folder.clips.length, 0, !config.dataVal, !config.dataTest, f.path, 'clips');
      } catch (e) {
        if (e instanceof InputError) throw new InputError(field, e.message.replace(/^dataDir: /, ''));
        throw e;
      }
    }
    const s = config.imageSize;
    sources.push({
      split: f.split,
      path: f.path,
      sha256: await hashClipFolder(folder),
      shape: [windows, win.frames, s, s],
      dtype: 'frames',
      clips: folder.clips.length,
    });
    if (keep?.decoded) decoded[f.path] = clips;
  }
  return keep?.decoded ? { sources, decoded } : { sources };
}
