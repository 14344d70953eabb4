import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type { GrayVideo } from '../../core/data/movingClips';
import { InputError } from '../../core/util/errors';
import { loadKthVideo, readVideoItem, type VideoItem } from './kth';

/**
 * The users' class folders (dataset kind `class-folders`; README "Your own data and weights"): a root holding one
 * folder per class, whose name is the label (classes in sorted name order), each holding videos (decoded by ffmpeg)
 * or folders of PNG/PGM frames, one per video. Read with the KTH reader's pieces (node/data/kth.ts). Every error is an
 * InputError naming the caller's field (config.dataDir, config.dataVal, config.dataTest) and the folder or file.
 */

export interface ClassFolder {
  /** The folder's name: the class label. */
  readonly name: string;
  readonly path: string;
  /** Its videos in name order. */
  readonly videos: readonly VideoItem[];
}

export interface ClassFolderIndex {
  readonly root: string;
  /** In sorted name order: label i is classes[i]. */
  readonly classes: readonly ClassFolder[];
}

/** Entries a user's tools leave behind (.DS_Store, ._x, Thumbs.db): never data. */
const ignored = (name: string): boolean => name.startsWith('.') || name === 'Thumbs.db' || name === 'desktop.ini';
const byName = (a: { name: string }, b: { name: string }): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** A folder's entries that may be data (not dotfiles), with symbolic links followed; unreadable: an InputError. */
async function entries(dir: string, field: string): Promise<{ name: string; isDir: boolean }[]> {
  try {
    const out: { name: string; isDir: boolean }[] = [];
    for (const d of await readdir(dir, { withFileTypes: true })) {
      if (ignored(d.name)) continue;
      const isDir = d.isDirectory() || (d.isSymbolicLink() && (await stat(join(dir, d.name)).catch(() => null))?.isDirectory() === true);
      out.push({ name: d.name, isDir });
    }
    return out;
  } catch (e) {
    throw new InputError(field, `cannot read the folder ${dir}: ${(e as Error).message}`);
  }
}

/**
 * Walks a root of class folders (names only; nothing decoded).
 * @throws InputError(field) for a missing root, fewer than 2 class folders, an empty class folder, or an entry of a
 *   class folder that is neither a video nor a folder of frames.
 */
export async function scanClassFolders(root: string, field: string): Promise<ClassFolderIndex> {
  const s = await stat(root).catch(() => null);
  if (!s) throw new InputError(field, `${root} does not exist`);
  if (!s.isDirectory()) throw new InputError(field, `${root} is not a folder: give a folder holding one folder per class`);
  const top = (await entries(root, field)).filter((d) => d.isDir).sort(byName);
  if (top.length < 2)
    throw new InputError(
      field,
      `${root} holds ${top.length} class folder${top.length === 1 ? ` (${top[0].name})` : 's'}: classification needs at least 2, one folder per class (the folder name is the label)`,
    );
  const classes: ClassFolder[] = [];
  for (const d of top) {
    const path = join(root, d.name);
    const inner = (await entries(path, field)).sort(byName);
    if (inner.length === 0) throw new InputError(field, `the class folder ${path} is empty: put its videos or folders of frames in it`);
    const videos: VideoItem[] = [];
    for (const e of inner) {
      const item = await readVideoItem(join(path, e.name), e.isDir);
      if ('reason' in item)
        throw new InputError(field, `${join(path, e.name)}: ${item.reason} (a class folder holds videos, or one folder of frames per video)`);
      videos.push(item);
    }
    classes.push({ name: d.name, path, videos });
  }
  return { root, classes };
}

/** The files a class-folder index reads: every video file and frame, each with its path. */
const filesOf = (index: ClassFolderIndex): string[] =>
  index.classes.flatMap((c) => c.videos.flatMap((v) => (v.kind === 'video' ? [v.path] : [...(v.frameFiles ?? [])])));

/**
 * sha256 over the files the data are read from, in sorted order of their names relative to the root ('/'
 * separators): for each, its relative name, a NUL, its size in bytes, a NUL, then its bytes (streamed). Renaming,
 * moving between classes or editing any file changes it; files that are not data (dotfiles) do not.
 */
export async function hashClassFolders(index: ClassFolderIndex): Promise<string> {
  const hash = createHash('sha256');
  const files = filesOf(index)
    .map((path) => ({ path, name: relative(index.root, path).split(sep).join('/') }))
    .sort(byName);
  for (const f of files) {
    const { size } = await stat(f.path);
    hash.update(`${f.name}\0${size}\0`);
    for await (const chunk of createReadStream(f.path)) hash.update(chunk as Buffer);
  }
  return hash.digest('hex');
}

/**
 * Decodes one video of a class folder as KTH does: grey in [0, 1], resized to size x size.
 * @returns frames [T, size, size]
 * @throws InputError(field) naming the file when ffmpeg cannot read it or a frame folder's frames differ in size.
 */
export async function loadClassVideo(item: VideoItem, size: number, field: string): Promise<GrayVideo> {
  return loadKthVideo(item, { size, field });
}
