import { stat } from 'node:fs/promises';
import type { UserDataSource } from '../../core/protocol/evaluation';
import { InputError } from '../../core/util/errors';
import type { SequenceSource } from './datasets/loader';
import { npySequenceSource, readNpySequences, scanNpySequences } from './userNpy';

/**
 * Sequences from a user's path, for what a trained run is asked to do on data it was not trained on: `eval RUN --data`,
 * `predict RUN --data`, the Predictions view and the Equivariance inspector. One reader per kind of path; a kind read
 * from files (a folder of frame images or videos, say) plugs in with one more entry in USER_SEQUENCE_READERS: how to
 * tell its paths, a streaming check with the file's hash, and a reader of sequences in file order.
 */
export interface UserSequenceReader {
  /** Recorded as `kind` of the source (UserDataSource). */
  readonly kind: string;
  /** What it reads, for messages: ".npy array [N, T, 1, H, W] or [N, T, H, W]". */
  readonly label: string;
  /** Whether this reader reads the path (a folder or a file). */
  accepts(path: string, isFolder: boolean): boolean;
  /** Checks every value and hashes (streaming: nothing kept); throws InputError('data', `${path}: …`). */
  scan(path: string): Promise<Omit<UserDataSource, 'kind'>>;
  /** Every sequence of the path, in its order, as [B, T, H, W, 1] batches in [0, 1] (batch i of size B: sequences iB..iB+B-1, mod N). */
  read(path: string): Promise<{ source: SequenceSource; count: number }>;
}

const npyReader: UserSequenceReader = {
  kind: 'npy',
  label: '.npy array [N, T, 1, H, W] or [N, T, H, W], float32 in [0, 1] or uint8',
  accepts: (path, isFolder) => !isFolder,
  scan: async (path) => {
    const s = await scanNpySequences(path);
    return { path: s.path, sha256: s.sha256, shape: s.shape, dtype: s.dtype };
  },
  read: async (path) => {
    const d = await readNpySequences(path);
    return {
      source: npySequenceSource(
        d,
        Array.from({ length: d.shape[0] }, (_, i) => i),
        'file',
        0,
      ),
      count: d.shape[0],
    };
  },
};

/** The readers of users' paths, tried in order (the first that accepts a path reads it). */
export const USER_SEQUENCE_READERS: readonly UserSequenceReader[] = [npyReader];

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
 * Checks a user's sequences for a run's model (streaming; nothing kept) and returns what a record says of them.
 * The same checks and messages as a run's own .npy data (node/data/datasets/npy.ts inspectNpyData): frames per
 * sequence = input + predicted frames, and the run's frame size.
 * @throws InputError(field, `${path}: …`) naming the file
 */
export async function inspectUserSequences(path: string, field: string, want: SequenceShape): Promise<UserDataSource> {
  const reader = await readerFor(path, field);
  let s: Omit<UserDataSource, 'kind'>;
  try {
    s = await reader.scan(path);
  } catch (e) {
    throw refield(e, field);
  }
  const [, t, h, w] = s.shape;
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
  return { kind: reader.kind, ...s };
}

/** inspectUserSequences, then the sequences themselves (one copy in memory, in the file's dtype). */
export async function loadUserSequences(
  path: string,
  field: string,
  want: SequenceShape,
): Promise<{ source: UserDataSource; sequences: SequenceSource; count: number }> {
  const source = await inspectUserSequences(path, field, want);
  const reader = await readerFor(path, field);
  try {
    const r = await reader.read(path);
    return { source, sequences: r.source, count: r.count };
  } catch (e) {
    throw refield(e, field);
  }
}
