import { spawn } from 'node:child_process';
import { readFile, readdir, stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { InputError } from '../../core/util/errors';
import { KTH_ACTIONS, type FrameSegment, type GrayVideo, type KthAction } from '../../core/data/movingClips';

/**
 * The KTH human-actions dataset (Schuldt, Laptev, Caputo 2004) from a folder the user already has, laid out as the
 * original archives unpack: one folder per action (boxing, handclapping, handwaving, jogging, running, walking)
 * holding `person01_boxing_d1_uncomp.avi`-style videos, or instead one folder of extracted frames per video
 * (`person01_boxing_d1/0001.pgm ...`). Files directly in the root with KTH names are accepted too (the reference
 * unzips all archives into one flat folder). An optional `00sequences.txt` in the root gives annotated frame ranges.
 *
 * Videos are decoded by the `ffmpeg` executable (not bundled); frames may be binary PGM/PPM (P5/P6) or PNG
 * (8/16-bit, non-interlaced, decoded here with node:zlib). Frames become grayscale in [0, 1] resized to H x W with
 * area averaging (cv2.INTER_AREA, as the reference) when shrinking and bilinear interpolation when enlarging.
 */

const FIELD = 'kth';
export const KTH_VIDEO_EXTENSIONS = ['.avi', '.mp4', '.mkv', '.mov', '.webm', '.mpg', '.mpeg', '.m4v'] as const;
export const KTH_FRAME_EXTENSIONS = ['.pgm', '.ppm', '.png'] as const;
/** KTH's annotation file: `person01_boxing_d1  frames  1-95, 96-185, ...`. */
export const KTH_SEQUENCES_FILE = '00sequences.txt';

const NAME_RE = new RegExp(`^person(\\d{1,3})_(${KTH_ACTIONS.join('|')})_d(\\d+)(?:_uncomp)?$`, 'i');

/** One video of the dataset: a video file or a folder of its frames. */
export interface KthEntry {
  /** `person01_boxing_d1` (the reference's video name: file stem without `_uncomp`). */
  readonly name: string;
  readonly path: string;
  readonly kind: 'video' | 'frames';
  readonly action: KthAction;
  /** Index in KTH_ACTIONS (the reference's `_ACTION2IDX`). */
  readonly label: number;
  /** Person id 1..25. */
  readonly person: number;
  /** Recording scenario d1..d4 (outdoors, outdoors with scale variation, different clothes, indoors). */
  readonly scenario: number;
  /** Frame files in order (kind 'frames' only). */
  readonly frameFiles?: readonly string[];
  /** Annotated inclusive frame ranges from 00sequences.txt, used as the reference does (see docs/kth.md). */
  readonly segments?: readonly FrameSegment[];
}

/** Something under the root that was not used, and why. */
export interface KthProblem {
  readonly path: string;
  readonly reason: string;
}

export interface KthIndex {
  readonly root: string;
  /** Sorted by name. */
  readonly entries: readonly KthEntry[];
  readonly problems: readonly KthProblem[];
  /** Path of the 00sequences.txt that was read, if any. */
  readonly sequencesFile?: string;
}

/**
 * Walks a KTH root. A missing, unreadable or empty root, or one with neither action folders nor KTH-named files,
 * is an InputError naming 'kth'; any single bad file or folder is reported in `problems` and skipped.
 */
export async function scanKth(root: string): Promise<KthIndex> {
  const rootStat = await stat(root).catch(() => null);
  if (!rootStat) throw new InputError(FIELD, `the KTH root ${root} does not exist`);
  if (!rootStat.isDirectory()) throw new InputError(FIELD, `the KTH root ${root} is not a folder`);
  const top = await readdir(root, { withFileTypes: true });
  if (top.length === 0) throw new InputError(FIELD, `the KTH root ${root} is empty; see docs/kth.md for the layout`);

  const problems: KthProblem[] = [];
  const found: KthEntry[] = [];
  let actionFolders = 0;
  let sequencesFile: string | undefined;
  for (const d of top.sort((a, b) => a.name.localeCompare(b.name))) {
    const path = join(root, d.name);
    const action = KTH_ACTIONS.find((a) => a === d.name.toLowerCase());
    if (d.isDirectory() && action) {
      actionFolders++;
      const inner = await readdir(path, { withFileTypes: true }).catch((e: Error) => {
        problems.push({ path, reason: `cannot read the folder: ${e.message}` });
        return [];
      });
      for (const f of inner.sort((a, b) => a.name.localeCompare(b.name))) {
        await classify(join(path, f.name), f.isDirectory(), action, found, problems);
      }
    } else if (d.isFile() && d.name === KTH_SEQUENCES_FILE) {
      sequencesFile = path;
    } else {
      await classify(path, d.isDirectory(), undefined, found, problems, true);
    }
  }
  if (found.length === 0) {
    const first = problems
      .slice(0, 3)
      .map((p) => `${basename(p.path)}: ${p.reason}`)
      .join('; ');
    throw new InputError(
      FIELD,
      actionFolders === 0
        ? `no KTH layout under ${root}: expected folders ${[...KTH_ACTIONS].sort().join(', ')} holding files like ` +
            `person01_boxing_d1_uncomp.avi or folders of frames like person01_boxing_d1/0001.pgm (see docs/kth.md)`
        : `the action folders under ${root} hold no usable KTH videos or frame folders${first ? ` (${first})` : ''}`,
    );
  }

  const byName = new Map<string, KthEntry>();
  for (const e of found) {
    const prior = byName.get(e.name);
    if (!prior) byName.set(e.name, e);
    else problems.push({ path: e.path, reason: `duplicate of ${prior.path} (${e.name}); the first is used` });
  }
  let segments = new Map<string, FrameSegment[]>();
  if (sequencesFile) {
    const text = await readFile(sequencesFile, 'utf8').catch((err: Error) => {
      problems.push({ path: sequencesFile as string, reason: `cannot read: ${err.message}` });
      return '';
    });
    segments = parseKthSequences(text);
  }
  const entries = [...byName.values()]
    .map((e) => (segments.has(e.name) ? { ...e, segments: segments.get(e.name) } : e))
    .sort((a, b) => a.name.localeCompare(b.name));
  if (sequencesFile && segments.size > 0) {
    for (const e of entries) if (!e.segments) problems.push({ path: e.path, reason: `not listed in ${KTH_SEQUENCES_FILE}; the whole video is one segment` });
  }
  return { root, entries, problems, ...(sequencesFile ? { sequencesFile } : {}) };
}

async function classify(
  path: string,
  isDir: boolean,
  folderAction: KthAction | undefined,
  out: KthEntry[],
  problems: KthProblem[],
  atRoot = false,
): Promise<void> {
  const file = basename(path);
  const ext = isDir ? '' : extname(file).toLowerCase();
  const stem = isDir ? file : file.slice(0, file.length - extname(file).length);
  const m = NAME_RE.exec(stem);
  if (!m) {
    const hint = ext === '.zip' ? ' (unzip it into a folder named after its action)' : '';
    const what = atRoot ? 'not an action folder or a KTH-named video' : 'not named like person01_boxing_d1_uncomp.avi';
    problems.push({ path, reason: `${what}${hint}; skipped` });
    return;
  }
  const action = m[2].toLowerCase() as KthAction;
  const person = Number(m[1]);
  const scenario = Number(m[3]);
  if (folderAction && action !== folderAction) {
    problems.push({ path, reason: `named for action ${action} but inside the ${folderAction} folder; skipped` });
    return;
  }
  const name = `person${String(person).padStart(2, '0')}_${action}_d${scenario}`;
  const item = await readVideoItem(path, isDir);
  if ('reason' in item) {
    problems.push({ path, reason: `${item.reason}; skipped` });
    return;
  }
  out.push({ name, action, label: KTH_ACTIONS.indexOf(action), person, scenario, ...item });
}

/** One video on disk, whatever the dataset: a video file for ffmpeg, or a folder of its frames in order. */
export interface VideoItem {
  readonly path: string;
  readonly kind: 'video' | 'frames';
  /** Frame files in numeric-aware name order (kind 'frames' only). */
  readonly frameFiles?: readonly string[];
}

/**
 * What a file or folder is as a video: a file with a video extension (decoded later by ffmpeg) or a folder of
 * PGM/PPM/PNG frames; otherwise the reason it is none. Shared by KTH and the users' class folders.
 */
export async function readVideoItem(path: string, isDir: boolean): Promise<VideoItem | { reason: string }> {
  if (!isDir) {
    const ext = extname(path).toLowerCase();
    if (!(KTH_VIDEO_EXTENSIONS as readonly string[]).includes(ext))
      return { reason: `extension ${ext || '(none)'} is not a video (${KTH_VIDEO_EXTENSIONS.join(', ')}) and it is not a folder of frames` };
    return { path, kind: 'video' };
  }
  let files: string[];
  try {
    files = await readdir(path);
  } catch (e) {
    return { reason: `cannot read the frame folder: ${(e as Error).message}` };
  }
  const frames = files.filter((f) => (KTH_FRAME_EXTENSIONS as readonly string[]).includes(extname(f).toLowerCase()));
  if (frames.length === 0) {
    const other =
      files.length > 0 ? ` (holds ${files.slice(0, 3).join(', ')}${files.length > 3 ? ', ...' : ''}; JPEG is not supported, convert to PNG or PGM)` : '';
    return { reason: `frame folder has no ${KTH_FRAME_EXTENSIONS.join('/')} frames${other}` };
  }
  frames.sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  return { path, kind: 'frames', frameFiles: frames.map((f) => join(path, f)) };
}

/**
 * Parses KTH's 00sequences.txt with the reference's pattern `^(\S+)\s+frames\s+([\d,\s-]+)$`: the name maps to
 * its inclusive frame ranges. Other lines (the header) are ignored.
 */
export function parseKthSequences(text: string): Map<string, FrameSegment[]> {
  const out = new Map<string, FrameSegment[]>();
  for (const line of text.split(/\r?\n/)) {
    const m = /^(\S+)\s+frames\s+([\d,\s-]+)$/.exec(line.trim());
    if (!m) continue;
    const ranges: FrameSegment[] = [];
    for (const part of m[2].split(',')) {
      const p = part.trim();
      if (!p) continue;
      const [s, e] = p.includes('-') ? p.split('-').map((x) => Number(x.trim())) : [Number(p), Number(p)];
      if (Number.isSafeInteger(s) && Number.isSafeInteger(e) && s >= 0 && e >= s) ranges.push([s, e]);
    }
    if (ranges.length > 0) out.set(m[1], ranges);
  }
  return out;
}

/** Person ids per split. */
export interface KthPersonSplit {
  readonly train: readonly number[];
  readonly val: readonly number[];
  readonly test: readonly number[];
}

const range = (a: number, b: number): number[] => Array.from({ length: b - a + 1 }, (_, i) => a + i);

/** The reference's person split (`split_method='person'`): persons 1-16 train, 17-20 val, 21-25 test. */
export const KTH_REFERENCE_SPLIT: KthPersonSplit = { train: range(1, 16), val: range(17, 20), test: range(21, 25) };

/**
 * The split of the original KTH paper and web page (train 11-18, val 19-21, 23-25, 1, 4, test 22, 2, 3, 5-10),
 * for comparing with other published numbers; the reference does not use it.
 */
export const KTH_ORIGINAL_SPLIT: KthPersonSplit = {
  train: range(11, 18),
  val: [19, 20, 21, 23, 24, 25, 1, 4],
  test: [22, 2, 3, 5, 6, 7, 8, 9, 10],
};

export interface KthSplitEntries {
  readonly train: KthEntry[];
  readonly val: KthEntry[];
  readonly test: KthEntry[];
  /** Entries whose person is in no list. */
  readonly unassigned: KthEntry[];
}

/** Puts every entry in the split its person belongs to; a person listed in two splits is an InputError. */
export function splitByPerson(index: KthIndex, split: KthPersonSplit = KTH_REFERENCE_SPLIT): KthSplitEntries {
  const owner = new Map<number, 'train' | 'val' | 'test'>();
  for (const part of ['train', 'val', 'test'] as const) {
    for (const p of split[part]) {
      if (!Number.isSafeInteger(p) || p < 1) throw new InputError(`split.${part}`, `person ids must be integers >= 1, got ${p}`);
      const prior = owner.get(p);
      if (prior && prior !== part) throw new InputError(`split.${part}`, `person ${p} is also in ${prior}; each person belongs to one split`);
      owner.set(p, part);
    }
  }
  const out: KthSplitEntries = { train: [], val: [], test: [], unassigned: [] };
  for (const e of index.entries) out[owner.get(e.person) ?? 'unassigned'].push(e);
  return out;
}

export interface LoadKthOptions {
  /** Output side (square) or [height, width]; default 32 (the reference's run command uses 32x32). */
  size?: number | readonly [number, number];
  /** The ffmpeg executable; default 'ffmpeg' looked up on PATH. */
  ffmpeg?: string;
  /** Environment of the ffmpeg child (its PATH is where 'ffmpeg' is looked up); default process.env. */
  env?: NodeJS.ProcessEnv;
  /** The field errors name (default 'kth'; users' frame folders name their config field). */
  field?: string;
}

/**
 * Loads one video as grayscale frames in [0, 1], resized to H x W. The frames of a folder must all have the size of
 * its first.
 * @returns frames [T, H, W] float32
 * @throws InputError(options.field ?? 'kth') naming the file when ffmpeg is missing or fails, or a frame cannot be
 *   decoded or differs in size from the folder's first
 */
export async function loadKthVideo(entry: VideoItem, options: LoadKthOptions = {}): Promise<GrayVideo> {
  const field = options.field ?? FIELD;
  const [h, w] = outputSize(options.size ?? 32);
  if (entry.kind === 'video') return decodeWithFfmpeg(entry.path, h, w, options);
  const files = entry.frameFiles ?? [];
  if (files.length === 0) throw new InputError(field, `${entry.path} has no frames`);
  const frames = new Float32Array(files.length * h * w);
  let first: GrayImage | undefined;
  for (let i = 0; i < files.length; i++) {
    const bytes = await readFile(files[i]);
    let img: GrayImage;
    try {
      img = decodeFrame(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), extname(files[i]).toLowerCase());
    } catch (e) {
      throw new InputError(field, `${files[i]}: ${(e as Error).message}`);
    }
    first ??= img;
    if (img.width !== first.width || img.height !== first.height)
      throw new InputError(
        field,
        `${files[i]} is ${img.width}x${img.height}, the folder's first frame ${files[0]} ${first.width}x${first.height}: frames of one video must have one size`,
      );
    frames.set(resizeGray(img.pixels, img.height, img.width, h, w), i * h * w);
  }
  return { frames, shape: [files.length, h, w] };
}

function outputSize(size: number | readonly [number, number]): [number, number] {
  const [h, w] = typeof size === 'number' ? [size, size] : size;
  for (const n of [h, w]) if (!Number.isSafeInteger(n) || n < 1 || n > 4096) throw new InputError('size', `must be integers in 1..4096, got ${String(size)}`);
  return [h, w];
}

/** The message for a missing ffmpeg, exported for tests and the CLI. */
export const FFMPEG_MISSING = 'ffmpeg is not on PATH: install it (e.g. apt-get install ffmpeg) or give folders of extracted frames';

function decodeWithFfmpeg(path: string, h: number, w: number, options: LoadKthOptions): Promise<GrayVideo> {
  const field = options.field ?? FIELD;
  const cmd = options.ffmpeg ?? 'ffmpeg';
  // Gray first, then INTER_AREA-like scaling: the reference's order (cvtColor, then resize with INTER_AREA).
  const args = ['-v', 'error', '-nostdin', '-i', path, '-vf', `format=gray,scale=${w}:${h}:flags=area`, '-f', 'rawvideo', '-pix_fmt', 'gray', '-'];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.stderr.on('data', (c: Buffer) => {
      if (stderr.length < 8192) stderr += c.toString();
    });
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') {
        reject(
          new InputError(
            field,
            options.ffmpeg === undefined
              ? FFMPEG_MISSING
              : `ffmpeg was not found at "${cmd}": install it (e.g. apt-get install ffmpeg) or give folders of extracted frames`,
          ),
        );
      } else reject(new InputError(field, `cannot run ffmpeg (${cmd}): ${e.message}`));
    });
    child.on('close', (code) => {
      if (code !== 0) {
        reject(new InputError(field, `ffmpeg could not decode ${path} (exit ${code}): ${stderr.trim().split('\n').slice(-3).join(' | ')}`));
        return;
      }
      const raw = Buffer.concat(chunks);
      const hw = h * w;
      if (raw.length === 0 || raw.length % hw !== 0) {
        reject(new InputError(field, `ffmpeg gave ${raw.length} bytes for ${path}, not a whole number of ${w}x${h} frames`));
        return;
      }
      const frames = new Float32Array(raw.length);
      for (let i = 0; i < raw.length; i++) frames[i] = raw[i] / 255;
      resolve({ frames, shape: [raw.length / hw, h, w] });
    });
  });
}

/** A decoded frame: gray values in [0, 1], row-major [height, width]. */
export interface GrayImage {
  readonly width: number;
  readonly height: number;
  readonly pixels: Float32Array;
}

/** Decodes a PGM/PPM (binary P5/P6) or PNG frame to gray in [0, 1]; color uses cv2's BGR2GRAY weights. */
export function decodeFrame(bytes: Uint8Array, ext: string): GrayImage {
  if (ext === '.png') return decodePng(bytes);
  if (ext === '.pgm' || ext === '.ppm') return decodePnm(bytes);
  throw new Error(`unsupported frame format ${ext}; use ${KTH_FRAME_EXTENSIONS.join(', ')}`);
}

const gray = (r: number, g: number, b: number): number => 0.299 * r + 0.587 * g + 0.114 * b;

function decodePnm(bytes: Uint8Array): GrayImage {
  let pos = 0;
  const token = (): string => {
    for (;;) {
      while (pos < bytes.length && /\s/.test(String.fromCharCode(bytes[pos]))) pos++;
      if (bytes[pos] !== 0x23) break; // '#': comment to end of line
      while (pos < bytes.length && bytes[pos] !== 0x0a && bytes[pos] !== 0x0d) pos++;
    }
    let s = '';
    while (pos < bytes.length && !/\s/.test(String.fromCharCode(bytes[pos]))) s += String.fromCharCode(bytes[pos++]);
    return s;
  };
  const magic = token();
  if (magic !== 'P5' && magic !== 'P6') throw new Error(`not a binary PGM/PPM (magic ${JSON.stringify(magic.slice(0, 2))}; P5 or P6 expected)`);
  const width = Number(token());
  const height = Number(token());
  const maxval = Number(token());
  if (![width, height].every((n) => Number.isSafeInteger(n) && n >= 1) || !Number.isSafeInteger(maxval) || maxval < 1 || maxval > 65535) {
    throw new Error(`bad PNM header (width ${width}, height ${height}, maxval ${maxval})`);
  }
  pos++; // the single whitespace after maxval
  const channels = magic === 'P6' ? 3 : 1;
  const bps = maxval < 256 ? 1 : 2;
  const need = width * height * channels * bps;
  if (bytes.length - pos < need) throw new Error(`truncated: ${bytes.length - pos} data bytes for ${width}x${height} (${need} needed)`);
  const sample = (i: number): number => (bps === 1 ? bytes[pos + i] : (bytes[pos + 2 * i] << 8) | bytes[pos + 2 * i + 1]) / maxval;
  const pixels = new Float32Array(width * height);
  for (let i = 0; i < pixels.length; i++) pixels[i] = channels === 1 ? sample(i) : gray(sample(3 * i), sample(3 * i + 1), sample(3 * i + 2));
  return { width, height, pixels };
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function decodePng(bytes: Uint8Array): GrayImage {
  if (bytes.length < 8 || PNG_SIGNATURE.some((b, i) => bytes[i] !== b)) throw new Error('not a PNG (bad signature)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 8;
  let width = 0;
  let height = 0;
  let depth = 0;
  let colorType = -1;
  let palette: Uint8Array | null = null;
  const idat: Uint8Array[] = [];
  while (pos + 8 <= bytes.length) {
    const len = view.getUint32(pos);
    const type = String.fromCharCode(...bytes.subarray(pos + 4, pos + 8));
    const data = bytes.subarray(pos + 8, pos + 8 + len);
    if (data.length < len) throw new Error(`truncated ${type} chunk`);
    if (type === 'IHDR') {
      width = view.getUint32(pos + 8);
      height = view.getUint32(pos + 12);
      depth = data[8];
      colorType = data[9];
      if (data[12] !== 0) throw new Error('interlaced PNG is not supported; re-save without interlacing');
    } else if (type === 'PLTE') palette = data;
    else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') break;
    pos += 12 + len;
  }
  const channels = ({ 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 } as Record<number, number>)[colorType];
  if (!channels || width < 1 || height < 1) throw new Error(`unsupported or missing IHDR (color type ${colorType})`);
  if (depth !== 8 && depth !== 16) throw new Error(`bit depth ${depth} is not supported (8 or 16)`);
  if (colorType === 3 && (!palette || depth !== 8)) throw new Error('palette PNG without PLTE or with 16-bit depth');
  const bps = depth / 8;
  const bpp = channels * bps;
  const stride = width * bpp;
  const raw = new Uint8Array(inflateSync(Buffer.concat(idat)));
  if (raw.length < height * (stride + 1)) throw new Error(`image data too short (${raw.length} bytes for ${width}x${height})`);
  const img = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const src = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const o = y * stride;
    for (let x = 0; x < stride; x++) {
      const a = x >= bpp ? img[o + x - bpp] : 0;
      const b = y > 0 ? img[o - stride + x] : 0;
      const c = x >= bpp && y > 0 ? img[o - stride + x - bpp] : 0;
      let pred: number;
      if (filter === 0) pred = 0;
      else if (filter === 1) pred = a;
      else if (filter === 2) pred = b;
      else if (filter === 3) pred = (a + b) >> 1;
      else if (filter === 4) pred = paeth(a, b, c);
      else throw new Error(`bad filter type ${filter} in row ${y}`);
      img[o + x] = (src[x] + pred) & 0xff;
    }
  }
  const max = depth === 16 ? 65535 : 255;
  const sample = (i: number): number => (bps === 1 ? img[i] : (img[2 * i] << 8) | img[2 * i + 1]) / max;
  const pixels = new Float32Array(width * height);
  for (let i = 0; i < pixels.length; i++) {
    const s = i * channels;
    if (colorType === 3) {
      const k = 3 * img[i];
      pixels[i] = gray((palette as Uint8Array)[k], (palette as Uint8Array)[k + 1], (palette as Uint8Array)[k + 2]) / 255;
    } else if (channels <= 2) pixels[i] = sample(s);
    else pixels[i] = gray(sample(s), sample(s + 1), sample(s + 2));
  }
  return { width, height, pixels };
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/**
 * Resizes one gray image, separably per axis: area averaging when shrinking an axis (cv2.INTER_AREA: each output
 * pixel is the mean of the source area it covers) and bilinear with half-pixel centres when enlarging it.
 * @param src [inH, inW]
 * @returns [outH, outW]
 */
export function resizeGray(src: Float32Array, inH: number, inW: number, outH: number, outW: number): Float32Array {
  if (src.length !== inH * inW) throw new Error(`image has ${src.length} values, not ${inH}x${inW}`);
  if (inH === outH && inW === outW) return Float32Array.from(src);
  const wy = axisWeights(inH, outH);
  const wx = axisWeights(inW, outW);
  const tmp = new Float32Array(inH * outW);
  for (let y = 0; y < inH; y++) {
    for (let x = 0; x < outW; x++) {
      let acc = 0;
      for (const [i, wt] of wx[x]) acc += wt * src[y * inW + i];
      tmp[y * outW + x] = acc;
    }
  }
  const out = new Float32Array(outH * outW);
  for (let y = 0; y < outH; y++) {
    for (const [i, wt] of wy[y]) {
      for (let x = 0; x < outW; x++) out[y * outW + x] += wt * tmp[i * outW + x];
    }
  }
  for (let i = 0; i < out.length; i++) out[i] = Math.min(1, Math.max(0, out[i]));
  return out;
}

/** For each output index, the (source index, weight) pairs; weights sum to 1. */
function axisWeights(n: number, m: number): [number, number][][] {
  const scale = n / m;
  const out: [number, number][][] = [];
  for (let o = 0; o < m; o++) {
    const taps: [number, number][] = [];
    if (scale >= 1) {
      const lo = o * scale;
      const hi = lo + scale;
      for (let i = Math.floor(lo); i < Math.min(n, Math.ceil(hi)); i++) {
        const overlap = Math.min(hi, i + 1) - Math.max(lo, i);
        if (overlap > 1e-9) taps.push([i, overlap / scale]);
      }
    } else {
      const c = Math.min(n - 1, Math.max(0, (o + 0.5) * scale - 0.5));
      const i0 = Math.floor(c);
      const f = c - i0;
      taps.push([i0, 1 - f]);
      if (f > 0 && i0 + 1 < n) taps.push([i0 + 1, f]);
    }
    out.push(taps);
  }
  return out;
}
