import { createHash } from 'node:crypto';
import { createReadStream, type Dirent } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { extname, join, relative, sep } from 'node:path';
import type { GrayVideo } from '../../core/data/movingClips';
import { InputError } from '../../core/util/errors';
import { KTH_FRAME_EXTENSIONS, KTH_VIDEO_EXTENSIONS, loadKthVideo, type VideoItem } from './kth';
import { batchPicker, type BatchOrder } from './userNpy';
import type { SequenceSource } from './datasets/loader';

/**
 * A user's own clips from one folder (dataset kind `frames`; README "Your own data"): each entry of the folder is one
 * clip, either a video file (decoded by ffmpeg as the KTH importer does, node/data/kth.ts) or a sub-folder of frame
 * images (PNG, or binary PGM/PPM) taken in name order (numeric-aware: frame2 before frame10). Frames become grey in
 * [0, 1] at the run's frame size, and each clip is cut into windows of inputFrames + predFrames frames, `stride`
 * frames apart. Names starting with '.' (.DS_Store, editors' files) are ignored; anything else that is not a clip is
 * an error naming the file, as is a frame of another size than its folder's first, a video ffmpeg cannot read, or a
 * clip shorter than one window.
 */

/** One clip of a folder: a video file, or a folder of frame files in order. */
export interface FrameClip extends VideoItem {
  /** Its name relative to the folder (`walk.mp4`, `clip03`). */
  readonly name: string;
}

export interface ClipFolder {
  readonly root: string;
  /** In name order. */
  readonly clips: readonly FrameClip[];
}

/** A decoded clip: frames [T, S, S] in [0, 1]. */
export interface DecodedClip {
  readonly clip: FrameClip;
  readonly video: GrayVideo;
}

/** One window of a split: `window` frames of clip `clip` from frame `start`. */
export interface ClipWindow {
  readonly clip: number;
  readonly start: number;
}

const byName = (a: string, b: string): number => a.localeCompare(b, 'en', { numeric: true });
const hidden = (name: string): boolean => name.startsWith('.');
const isVideo = (name: string): boolean => (KTH_VIDEO_EXTENSIONS as readonly string[]).includes(extname(name).toLowerCase());
const isFrame = (name: string): boolean => (KTH_FRAME_EXTENSIONS as readonly string[]).includes(extname(name).toLowerCase());

/**
 * Lists the clips of a folder, checking its layout (no file is decoded).
 * @throws InputError(field, ...) naming the folder or file: missing or not a folder, no clips, an entry that is not a
 *   video or a frame folder, an empty frame folder, a frame folder holding anything but frame images.
 */
export async function scanClipFolder(root: string, field: string): Promise<ClipFolder> {
  const bad = (path: string, msg: string): InputError => new InputError(field, `${path}: ${msg}`);
  const st = await stat(root).catch(() => null);
  if (!st) throw bad(root, 'no such folder');
  if (!st.isDirectory()) throw bad(root, 'not a folder (a folder of videos or of frame folders; a .npy file is dataset npy)');
  const list = async (path: string): Promise<Dirent[]> => {
    try {
      return (await readdir(path, { withFileTypes: true })).filter((d) => !hidden(d.name)).sort((a, b) => byName(a.name, b.name));
    } catch (e) {
      throw bad(path, `cannot read the folder (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
  };
  const entries = await list(root);
  if (entries.length === 0) throw bad(root, 'the folder is empty: put one video or one folder of PNG frames in it per clip');
  const clips: FrameClip[] = [];
  for (const d of entries) {
    const path = join(root, d.name);
    if (d.isDirectory()) {
      const inner = await list(path);
      if (inner.length === 0) throw bad(path, 'the frame folder is empty');
      for (const f of inner) {
        if (!f.isFile() || !isFrame(f.name))
          throw bad(join(path, f.name), `not a frame image (${KTH_FRAME_EXTENSIONS.join(', ')}): a frame folder holds only its frames`);
      }
      clips.push({ name: d.name, path, kind: 'frames', frameFiles: inner.map((f) => join(path, f.name)) });
    } else if (d.isFile() && isVideo(d.name)) {
      clips.push({ name: d.name, path, kind: 'video' });
    } else {
      throw bad(path, `not a video (${KTH_VIDEO_EXTENSIONS.join(', ')}) or a folder of frames`);
    }
  }
  return { root, clips };
}

/**
 * Decodes one clip at size x size and checks it holds at least one window.
 * @throws InputError(field, ...) naming the file: ffmpeg missing or failing, a frame that cannot be decoded or differs
 *   in size from its folder's first, fewer frames than one window.
 */
export async function decodeClip(clip: FrameClip, size: number, window: { frames: number; what: string }, field: string): Promise<DecodedClip> {
  const video = await loadKthVideo(clip, { size, field });
  const t = video.shape[0];
  if (t < window.frames) throw new InputError(field, `${clip.path}: ${t} frames, fewer than one window of ${window.frames} (${window.what})`);
  return { clip, video };
}

/** The number of windows of `window` frames, `stride` apart, in a clip of `frames` frames. */
export const windowCount = (frames: number, window: number, stride: number): number => (frames < window ? 0 : Math.floor((frames - window) / stride) + 1);

/** The windows of the given clips (by index into `frameCounts`), clip after clip, each clip's in time order. */
export function clipWindows(frameCounts: readonly number[], clips: readonly number[], window: number, stride: number): ClipWindow[] {
  const out: ClipWindow[] = [];
  for (const clip of clips) for (let w = 0; w < windowCount(frameCounts[clip], window, stride); w++) out.push({ clip, start: w * stride });
  return out;
}

/**
 * sha256 over a clip folder: for every file of its clips in sorted order of relative path ('/'-separated), the path,
 * its byte length and its bytes (streamed). Renaming, reordering or editing any frame or video changes it.
 */
export async function hashClipFolder(folder: ClipFolder): Promise<string> {
  const files = folder.clips.flatMap((c) => (c.kind === 'video' ? [c.path] : [...(c.frameFiles ?? [])]));
  const named = files
    .map((path) => ({ path, rel: relative(folder.root, path).split(sep).join('/') }))
    .sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  const hash = createHash('sha256');
  for (const f of named) {
    const { size } = await stat(f.path);
    hash.update(`${f.rel}\0${size}\0`);
    for await (const chunk of createReadStream(f.path)) hash.update(chunk as Buffer);
  }
  return hash.digest('hex');
}

/**
 * Batches of windows cut from decoded clips, [B, window, S, S, 1]: batch i of size B takes windows (i*B + j) of the
 * split in `order` (userNpy.ts batchPicker: 'file' is the folder's order, clip after clip; 'shuffle' a seeded
 * permutation per epoch). Windows are copied out of the clips when a batch is made (no second copy of the data).
 */
export function clipWindowSource(
  clips: readonly DecodedClip[],
  windows: readonly ClipWindow[],
  window: number,
  order: BatchOrder,
  seed: number,
): SequenceSource {
  if (windows.length === 0) throw new Error('a split has no windows');
  const [, h, w] = clips[0].video.shape;
  const per = window * h * w;
  const pick = batchPicker(windows.length, order, seed);
  return {
    batch(index, size) {
      const frames = new Float32Array(size * per);
      for (let j = 0; j < size; j++) {
        const win = windows[pick(index * size + j)];
        frames.set(clips[win.clip].video.frames.subarray(win.start * h * w, win.start * h * w + per), j * per);
      }
      return { frames, shape: [size, window, h, w, 1] as const };
    },
  };
}
