import { stat } from 'node:fs/promises';
import type { UserDataSource } from '../../core/protocol/evaluation';
import { InputError } from '../../core/util/errors';
import type { SequenceSource } from './datasets/loader';
import { npySequenceSource, readNpySequences } from './userNpy';
import { clipWindows, clipWindowSource, decodeClip, hashClipFolder, scanClipFolder } from './userFrames';

/**
 * Sequences from a user's path, for what a trained run is asked to do on data it was not trained on: `eval RUN --data`,
 * `predict RUN --data`, the Predictions view and the Equivariance inspector. One reader per kind of path; a kind read
 * from files (a folder of frame images or videos, say) plugs in with one more entry in USER_SEQUENCE_READERS: how to
 * tell its paths, and one pass over them that checks every value, hashes the files and keeps the sequences in order.
 */
export interface UserSequenceReader {
  /** Recorded as `kind` of the source (UserDataSource). */
  readonly kind: string;
  /** What it reads, for messages: ".npy array [N, T, 1, H, W] or [N, T, H, W]". */
  readonly label: string;
  /** Whether this reader reads the path (a folder or a file). */
  accepts(path: string, isFolder: boolean): boolean;
  /**
   * One pass over the path (each file read, each clip decoded once): what a record says of it (path, sha256, shape
   * [N, T, H, W]…) and every sequence, in its order, as [B, T, H, W, 1] batches in [0, 1] (batch i of size B:
   * sequences iB..iB+B-1, mod N). `want` is what the caller needs, for readers that cut or resize (a folder of clips:
   * windows of the run's frames at its size). Throws InputError('data', `${path}: …`).
   */
  read(path: string, want: SequenceShape): Promise<{ record: Omit<UserDataSource, 'kind'>; sequences: SequenceSource; count: number }>;
}

const npyReader: UserSequenceReader = {
  kind: 'npy',
  label: '.npy array [N, T, 1, H, W] or [N, T, H, W], float32 in [0, 1] or uint8',
  accepts: (path, isFolder) => !isFolder,
  read: async (path) => {
    const d = await readNpySequences(path, { sha256: true });
    return {
      record: { path: d.path, sha256: d.sha256, shape: d.shape, dtype: d.dtype },
      sequences: npySequenceSource(
        d,
        Array.from({ length: d.shape[0] }, (_, i) => i),
        'file',
        0,
      ),
      count: d.shape[0],
    };
  },
};

/** The window and frame side a folder of clips is cut and resized to for `want` (square frames; default side 32). */
function clipWindowFor(want: SequenceShape): { frames: number; size: number; what: string } {
  const frames = want.frames ? want.frames.inputFrames + want.frames.predFrames : (want.minFrames?.frames ?? 1);
  const what = want.frames ? 'input + predicted frames' : (want.minFrames?.what ?? 'one sequence');
  if (want.size && want.size.height !== want.size.width)
    throw new InputError(
      'data',
      `${want.size.what} was trained on ${want.size.height}x${want.size.width} frames; clips of a folder are resized to square frames`,
    );
  return { frames, size: want.size?.height ?? 32, what };
}

/** A folder of clips (videos or PNG frame folders; dataset kind `frames`): windows of the run's frames, side by side, at its frame size. */
const clipFolderReader: UserSequenceReader = {
  kind: 'frames',
  label: "a folder of videos or PNG frame folders, cut into windows of the run's frames and resized to its frame size",
  accepts: (path, isFolder) => isFolder,
  read: async (path, want) => {
    const win = clipWindowFor(want);
    const folder = await scanClipFolder(path, 'data');
    const clips = [];
    for (const clip of folder.clips) clips.push(await decodeClip(clip, win.size, win, 'data'));
    const windows = clipWindows(
      clips.map((c) => c.video.shape[0]),
      clips.map((_, i) => i),
      win.frames,
      win.frames,
    );
    return {
      record: { path, sha256: await hashClipFolder(folder), shape: [windows.length, win.frames, win.size, win.size], dtype: 'frames' },
      sequences: clipWindowSource(clips, windows, win.frames, 'file', 0),
      count: windows.length,
    };
  },
};

/** The readers of users' paths, tried in order (the first that accepts a path reads it). */
export const USER_SEQUENCE_READERS: readonly UserSequenceReader[] = [npyReader, clipFolderReader];

/** What the sequences must be: a run's input + predicted frames (or at least `minFrames`), and its frame size. */
export interface SequenceShape {
  frames?: { inputFrames: number; predFrames: number };
  minFrames?: { frames: number; what: string };
  size?: {
    height: number;
    width: number;
    /** The run, for messages ("run abc was trained on 16x16 frames"). */
    what: string;
  };
}

/** `e` (an InputError of a reader, field 'data') under the caller's field. */
const refield = (e: unknown, field: string): unknown =>
  e instanceof InputError && e.field !== field ? new InputError(field, e.message.slice(e.field.length + 2)) : e;

async function readerFor(path: string, field: string): Promise<UserSequenceReader> {
  let folder: boolean;
  try {
    const st = await stat(path);
    folder = st.isDirectory();
  } catch {
    throw new InputError(field, `${path}: no such file`);
  }
  const reader = USER_SEQUENCE_READERS.find((r) => r.accepts(path, folder));
  if (!reader)
    throw new InputError(
      field,
      `${path}: ${folder ? 'is a folder' : 'cannot be read'}; sequences are read from: ${USER_SEQUENCE_READERS.map((r) => `${r.kind} (${r.label})`).join('; ')}`,
    );
  return reader;
}

/**
 * A user's sequences for a run's model, read once (one copy in memory, in the file's dtype), and what a record says
 * of them. The same checks and messages as a run's own .npy data (node/data/datasets/npy.ts inspectNpyData): frames
 * per sequence = input + predicted frames, and the run's frame size.
 * @throws InputError(field, `${path}: …`) naming the file
 */
export async function loadUserSequences(
  path: string,
  field: string,
  want: SequenceShape,
): Promise<{ source: UserDataSource; sequences: SequenceSource; count: number }> {
  const reader = await readerFor(path, field);
  let r: Awaited<ReturnType<UserSequenceReader['read']>>;
  try {
    r = await reader.read(path, want);
  } catch (e) {
    throw refield(e, field);
  }
  const [, t, h, w] = r.record.shape;
  const f = want.frames;
  if (f && t !== f.inputFrames + f.predFrames)
    throw new InputError(
      field,
      `${path}: sequences have ${t} frames; input frames + predicted frames = ${f.inputFrames} + ${f.predFrames} = ${f.inputFrames + f.predFrames}`,
    );
  if (want.minFrames && t < want.minFrames.frames)
    throw new InputError(field, `${path}: sequences have ${t} frames; ${want.minFrames.what} needs ${want.minFrames.frames}`);
  const z = want.size;
  if (z && (h !== z.height || w !== z.width))
    throw new InputError(field, `${path}: frames are ${h}x${w}; ${z.what} was trained on ${z.height}x${z.width} frames`);
  return { source: { kind: reader.kind, ...r.record }, sequences: r.sequences, count: r.count };
}
