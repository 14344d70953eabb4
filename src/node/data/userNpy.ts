import { createHash } from 'node:crypto';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { endianness } from 'node:os';
import { InputError } from '../../core/util/errors';
import { createRng } from '../../core/util/rng';
import type { SequenceSource } from './datasets/loader';

/**
 * A user's own sequences from one .npy file: `[N, T, 1, H, W]` or `[N, T, H, W]`, float32 in [0, 1] or uint8 (scaled
 * by 1/255 when a batch is made). The data block is read in 64 MiB pieces straight into one typed array of the file's
 * own dtype (no second copy, no float conversion of uint8 data): holding a 1 GB array costs 1 GB
 * (test/node/userNpy.test.ts measures it). Every value is checked (NaN/Inf, outside [0, 1]) and the first bad one is
 * named by its sequence index.
 */
export interface NpySequences {
  path: string;
  /** [N, T, H, W]: sequences, frames per sequence, height, width (one channel). */
  shape: [number, number, number, number];
  dtype: 'float32' | 'uint8';
  /** The values in the file's dtype, row-major [N, T, H, W]. */
  values: Float32Array | Uint8Array;
}

/** The order in which training batches take a source's sequences. */
export type BatchOrder = 'file' | 'shuffle';

const FIELD = 'data';
const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
const CHUNK = 64 << 20;
const DTYPES: Record<string, { dtype: NpySequences['dtype']; size: number }> = {
  '<f4': { dtype: 'float32', size: 4 },
  '|u1': { dtype: 'uint8', size: 1 },
  '<u1': { dtype: 'uint8', size: 1 },
};

interface NpyLayout {
  shape: [number, number, number, number];
  dtype: NpySequences['dtype'];
  itemSize: number;
  dataStart: number;
  /** Values in the file. */
  count: number;
}

/** Reads and checks the header of a .npy of sequences; `bad` names the file. */
async function readLayout(fh: FileHandle, size: number, bad: (msg: string) => InputError): Promise<NpyLayout> {
  const pre = Buffer.alloc(12);
  await fh.read(pre, 0, 12, 0);
  if (MAGIC.some((b, i) => pre[i] !== b)) throw bad('not a .npy file (missing the \\x93NUMPY magic)');
  const major = pre[6];
  if (major < 1 || major > 3) throw bad(`unsupported .npy format version ${major}`);
  const headerLen = major === 1 ? pre.readUInt16LE(8) : pre.readUInt32LE(8);
  const headerStart = major === 1 ? 10 : 12;
  const dataStart = headerStart + headerLen;
  if (dataStart > size) throw bad('truncated .npy header');
  const hb = Buffer.alloc(headerLen);
  await fh.read(hb, 0, headerLen, headerStart);
  const header = hb.toString('latin1');
  const descr = /['"]descr['"]\s*:\s*['"]([^'"]*)['"]/.exec(header)?.[1];
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) throw bad('malformed .npy header');
  const kind = DTYPES[descr];
  if (!kind) throw bad(`dtype '${descr}' is not supported (use float32 '<f4' with values in [0, 1], or uint8 '|u1')`);
  if (fortran === 'True') throw bad('Fortran-order arrays are not supported; save np.ascontiguousarray(a)');
  const dims = shapeText
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t.length > 0)
    .map((t) => Number.parseInt(t, 10));
  let shape: [number, number, number, number];
  if (dims.length === 5) {
    if (dims[2] !== 1) throw bad(`shape (${dims.join(', ')}): [N, T, C, H, W] needs C = 1 (grey frames), got C = ${dims[2]}`);
    shape = [dims[0], dims[1], dims[3], dims[4]];
  } else if (dims.length === 4) {
    shape = [dims[0], dims[1], dims[2], dims[3]];
  } else {
    throw bad(`shape (${dims.join(', ')}) has rank ${dims.length}; expected [N, T, 1, H, W] or [N, T, H, W]`);
  }
  if (shape.some((d) => !Number.isSafeInteger(d) || d < 1)) throw bad(`shape (${dims.join(', ')}) has an empty axis`);
  const count = shape.reduce((a, b) => a * b, 1);
  if (size - dataStart !== count * kind.size) throw bad(`shape (${dims.join(', ')}) needs ${count * kind.size} data bytes, the file has ${size - dataStart}`);
  if (kind.dtype === 'float32' && endianness() !== 'LE') throw bad('float32 .npy files are read on little-endian machines only');
  return { shape, dtype: kind.dtype, itemSize: kind.size, dataStart, count };
}

/** Throws naming the sequence of the first float32 value that is NaN, infinite or outside [0, 1]. */
function checkValues(values: Float32Array, firstIndex: number, perSeq: number, bad: (msg: string) => InputError): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!(v >= 0 && v <= 1)) {
      const what = Number.isNaN(v) ? 'NaN' : Number.isFinite(v) ? `value ${v} outside [0, 1] (scale float32 data to [0, 1], or save uint8)` : `${v}`;
      throw bad(`sequence ${Math.floor((firstIndex + i) / perSeq)}: ${what}`);
    }
  }
}

async function withFile<R>(path: string, fn: (fh: FileHandle, size: number, bad: (msg: string) => InputError) => Promise<R>): Promise<R> {
  const bad = (msg: string): InputError => new InputError(FIELD, `${path}: ${msg}`);
  let size: number;
  try {
    const st = await stat(path);
    if (!st.isFile()) throw bad('not a file');
    size = st.size;
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw bad('no such file');
  }
  const fh = await open(path, 'r');
  try {
    return await fn(fh, size, bad);
  } finally {
    await fh.close();
  }
}

/**
 * Reads and checks a .npy of sequences.
 * @throws InputError('data', ...) naming the file (and the sequence index where it applies) for a missing or foreign
 *   file, an unsupported dtype or layout, a wrong rank or channel count, NaN/Inf or a value outside [0, 1].
 */
export async function readNpySequences(path: string): Promise<NpySequences>;
/** readNpySequences, and the file's sha256 (as scanNpySequences gives it) from the same pass over its bytes. */
export async function readNpySequences(path: string, options: { sha256: true }): Promise<NpySequences & { sha256: string }>;
export async function readNpySequences(path: string, options?: { sha256: true }): Promise<NpySequences & { sha256?: string }> {
  return withFile(path, async (fh, size, bad) => {
    const l = await readLayout(fh, size, bad);
    const hash = options?.sha256 ? createHash('sha256') : null;
    if (hash) {
      const head = Buffer.alloc(l.dataStart);
      await fh.read(head, 0, l.dataStart, 0);
      hash.update(head);
    }
    const values = l.dtype === 'uint8' ? new Uint8Array(l.count) : new Float32Array(l.count);
    const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    for (let off = 0; off < bytes.length;) {
      const { bytesRead } = await fh.read(bytes, off, Math.min(CHUNK, bytes.length - off), l.dataStart + off);
      if (bytesRead === 0) throw bad('truncated data');
      hash?.update(bytes.subarray(off, off + bytesRead));
      off += bytesRead;
    }
    if (values instanceof Float32Array) checkValues(values, 0, l.count / l.shape[0], bad);
    return { path, shape: l.shape, dtype: l.dtype, values, ...(hash ? { sha256: hash.digest('hex') } : {}) };
  });
}

/** What a run records of a data file (run.json `sources.data`). */
export interface NpySummary {
  path: string;
  shape: [number, number, number, number];
  dtype: NpySequences['dtype'];
  /** sha256 of the whole file, hex. */
  sha256: string;
}

/**
 * The same checks as `readNpySequences`, streaming (one 64 MiB piece in memory at a time), and the file's sha256: what
 * the service runs before a run exists, so that bad data leaves nothing in the store.
 */
export async function scanNpySequences(path: string): Promise<NpySummary> {
  return withFile(path, async (fh, size, bad) => {
    const l = await readLayout(fh, size, bad);
    const hash = createHash('sha256');
    const head = Buffer.alloc(l.dataStart);
    await fh.read(head, 0, l.dataStart, 0);
    hash.update(head);
    const buf = Buffer.alloc(Math.min(CHUNK, l.count * l.itemSize));
    const perSeq = l.count / l.shape[0];
    for (let off = 0; off < l.count * l.itemSize;) {
      const want = Math.min(buf.length, l.count * l.itemSize - off);
      const { bytesRead } = await fh.read(buf, 0, want, l.dataStart + off);
      if (bytesRead !== want) throw bad('truncated data');
      const piece = buf.subarray(0, want);
      hash.update(piece);
      // CHUNK is a multiple of 4, so float32 pieces hold whole values.
      if (l.dtype === 'float32') checkValues(new Float32Array(piece.buffer, piece.byteOffset, want / 4), off / 4, perSeq, bad);
      off += want;
    }
    return { path, shape: l.shape, dtype: l.dtype, sha256: hash.digest('hex') };
  });
}

/**
 * Batches of a user's sequences, split into inputs and targets by the caller (splitBatch). `batch(i, B)` takes
 * sequences (i*B + j) mod N for j < B: with `order` 'file', the file's order, epoch after epoch (the reference's
 * DataLoader with shuffle=False, and what the training-parity test compares with PyTorch); with 'shuffle', each pass
 * over the data is a seeded permutation (the same for a given seed and epoch, so a resumed run sees the same batches).
 * @param indices the sequences of this split, in file order
 */
export function npySequenceSource(data: NpySequences, indices: readonly number[], order: BatchOrder, seed: number): SequenceSource {
  const [, t, h, w] = data.shape;
  const per = t * h * w;
  const n = indices.length;
  if (n === 0) throw new InputError(FIELD, `${data.path}: a split has no sequences`);
  const pick = batchPicker(n, order, seed);
  return {
    batch(index, size) {
      const frames = new Float32Array(size * per);
      for (let j = 0; j < size; j++) {
        const seq = indices[pick(index * size + j)];
        const src = data.values.subarray(seq * per, (seq + 1) * per);
        if (src instanceof Uint8Array) for (let i = 0; i < per; i++) frames[j * per + i] = src[i] / 255;
        else frames.set(src, j * per);
      }
      return { frames, shape: [size, t, h, w, 1] as const };
    },
  };
}

/**
 * The order batches take the n items of a split: item `pick(k)` is the k-th of the stream (batch i of size B takes
 * k = i*B + j). 'file': k mod n, epoch after epoch; 'shuffle': a seeded permutation per pass over the items (the same
 * for a given seed and epoch, so a resumed run sees the same batches).
 */
export function batchPicker(n: number, order: BatchOrder, seed: number): (k: number) => number {
  const perms = new Map<number, Uint32Array>();
  const perm = (epoch: number): Uint32Array => {
    let p = perms.get(epoch);
    if (!p) {
      p = seededPermutation(n, seed * 7919 + epoch);
      if (perms.size > 4) perms.clear();
      perms.set(epoch, p);
    }
    return p;
  };
  return (k) => (order === 'file' ? k % n : perm(Math.floor(k / n))[k % n]);
}

/** Fisher-Yates on the core's seeded stream (the same on every machine). */
function seededPermutation(n: number, seed: number): Uint32Array {
  const p = Uint32Array.from({ length: n }, (_, i) => i);
  const rng = createRng(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}
