import { InputError } from '../core/util/errors';

/**
 * NumPy .npy files (format versions 1.0, 2.0 and 3.0; https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html):
 * magic "\x93NUMPY", major, minor, header length (u16 for 1.0, u32 for 2.0/3.0), a Python dict literal
 * {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } padded with spaces and a final '\n', then the raw data.
 * We read little-endian float32 ('<f4') and float64 ('<f8', rounded to float32) in C order, and write '<f4'.
 */

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
/** numpy aligns the start of the data to 64 bytes. */
const ALIGN = 64;
const FIELD = 'npy';

export interface NpyArray {
  /** Row-major (C order) shape; [] for a 0-d array. */
  shape: number[];
  /** product(shape) values, row-major. */
  data: Float32Array;
}

/**
 * Parses an .npy file.
 * @throws InputError('npy', ...) for a bad magic, an unsupported version/dtype, Fortran order or truncated data.
 */
export function parseNpy(bytes: Uint8Array): NpyArray {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) throw new InputError(FIELD, 'not a .npy file (missing the \\x93NUMPY magic)');
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let headerStart: number;
  if (major === 1) {
    headerLen = view.getUint16(8, true);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw new InputError(FIELD, 'truncated header');
    headerLen = view.getUint32(8, true);
    headerStart = 12;
  } else {
    throw new InputError(FIELD, `unsupported format version ${major}.${bytes[7]} (supported: 1.0, 2.0, 3.0)`);
  }
  const dataStart = headerStart + headerLen;
  if (dataStart > bytes.length) throw new InputError(FIELD, `truncated header: declares ${headerLen} bytes, file has ${bytes.length - headerStart}`);
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(headerStart, dataStart));
  const { descr, fortranOrder, shape } = parseHeader(header);

  if (fortranOrder) throw new InputError(FIELD, 'Fortran-order arrays are not supported; save with np.ascontiguousarray(a)');
  const itemSize = descr === '<f4' ? 4 : descr === '<f8' ? 8 : 0;
  if (itemSize === 0) throw new InputError(FIELD, `dtype '${descr}' is not supported (supported: '<f4' float32, '<f8' float64)`);

  const n = shape.reduce((a, b) => a * b, 1);
  const need = n * itemSize;
  const have = bytes.length - dataStart;
  if (have < need) throw new InputError(FIELD, `truncated data: shape (${shape.join(', ')}) needs ${need} bytes, file has ${have}`);
  if (have > need) throw new InputError(FIELD, `${have - need} trailing bytes after the data of shape (${shape.join(', ')})`);

  const data = new Float32Array(n);
  // DataView reads are endian-explicit and work at any (unaligned) offset.
  if (itemSize === 4) for (let i = 0; i < n; i++) data[i] = view.getFloat32(dataStart + 4 * i, true);
  else for (let i = 0; i < n; i++) data[i] = view.getFloat64(dataStart + 8 * i, true);
  return { shape, data };
}

/**
 * Encodes float32 values as a C-order '<f4' .npy file (version 1.0, or 2.0 when the header needs it).
 * @param data product(shape) values, row-major
 * @throws InputError('npy', ...) when shape does not match data.length.
 */
export function encodeNpy(data: Float32Array, shape: number[]): Uint8Array {
  if (!shape.every((d) => Number.isInteger(d) && d >= 0)) throw new InputError(FIELD, `shape must be non-negative integers, got [${shape.join(', ')}]`);
  const n = shape.reduce((a, b) => a * b, 1);
  if (n !== data.length) throw new InputError(FIELD, `shape [${shape.join(', ')}] holds ${n} values, data has ${data.length}`);
  const tuple = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': ${tuple}, }`;
  // Version 1.0 stores the header length in a u16; longer headers (huge ranks) need 2.0.
  let major = 1;
  let prefix = 10;
  let total = padTo(prefix + dict.length + 1, ALIGN);
  if (total - prefix > 0xffff) {
    major = 2;
    prefix = 12;
    total = padTo(prefix + dict.length + 1, ALIGN);
  }
  const headerLen = total - prefix;
  const out = new Uint8Array(total + 4 * n);
  out.set(MAGIC, 0);
  out[6] = major;
  out[7] = 0;
  const view = new DataView(out.buffer);
  if (major === 1) view.setUint16(8, headerLen, true);
  else view.setUint32(8, headerLen, true);
  const header = dict.padEnd(headerLen - 1, ' ') + '\n';
  for (let i = 0; i < header.length; i++) out[prefix + i] = header.charCodeAt(i);
  for (let i = 0; i < n; i++) view.setFloat32(total + 4 * i, data[i], true);
  return out;
}

function padTo(n: number, align: number): number {
  return Math.ceil(n / align) * align;
}

/** Reads the three keys numpy writes from the header's dict literal (either quote style, any key order). */
function parseHeader(header: string): { descr: string; fortranOrder: boolean; shape: number[] } {
  const text = header.trim();
  if (!text.startsWith('{') || !text.endsWith('}')) throw new InputError(FIELD, `malformed header: ${JSON.stringify(header.slice(0, 80))}`);
  const descr = /['"]descr['"]\s*:\s*['"]([^'"]*)['"]/.exec(text);
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(text);
  const shape = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(text);
  if (!descr) throw new InputError(FIELD, "malformed header: no 'descr' (a structured dtype is not supported)");
  if (!fortran) throw new InputError(FIELD, "malformed header: no 'fortran_order'");
  if (!shape) throw new InputError(FIELD, "malformed header: no 'shape' tuple");
  const dims = shape[1]
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => (/^\d+L?$/.test(s) ? Number.parseInt(s, 10) : Number.NaN));
  if (dims.some((d) => !Number.isSafeInteger(d))) throw new InputError(FIELD, `malformed shape (${shape[1]})`);
  return { descr: descr[1], fortranOrder: fortran[1] === 'True', shape: dims };
}
