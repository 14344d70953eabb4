import { unzipSync } from 'fflate';
import { Parser } from 'pickleparser';
import { makeCellConfig, makeSeq2SeqConfig, type Pool } from '../../core/nn/config';
import { seq2seqParamSpec, type Seq2SeqModel } from '../../core/nn/seq2seq';
import { InputError } from '../../core/util/errors';
import { hostTensorsToParams, readCheckpointFile, type HostTensor } from './safetensors';

/**
 * Reads PyTorch state_dicts saved with `torch.save(model.state_dict(), path)` (the zip format of PyTorch >= 1.6)
 * without Python. The archive holds `<prefix>/data.pkl`, a pickle of an OrderedDict name -> tensor where each
 * tensor is `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)` and each storage a persistent id
 * ('storage', torch.FloatStorage, key, location, numel) whose bytes are `<prefix>/data/<key>`.
 */

const FIELD = 'checkpoint';
const SAVE_HINT = 'expected a state_dict saved with torch.save(model.state_dict(), path) by PyTorch >= 1.6';

/** Storage classes a pickle may name, with their element size; only float32 is read. */
const STORAGE_TYPES: Record<string, number> = {
  FloatStorage: 4,
  DoubleStorage: 8,
  HalfStorage: 2,
  BFloat16Storage: 2,
  LongStorage: 8,
  IntStorage: 4,
  ShortStorage: 2,
  CharStorage: 1,
  ByteStorage: 1,
  BoolStorage: 1,
};

/** The class a persistent id names: a callable in pickle's eyes, never called. */
interface StorageType {
  (): never;
  readonly torchStorage: string;
}

class StorageRef {
  constructor(
    readonly type: string,
    readonly key: string,
    readonly numel: number,
  ) {}
}

class TensorRef {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly size: number[],
    readonly stride: number[],
  ) {}
}

function storageType(name: string): StorageType {
  const f = (): never => {
    throw new InputError(FIELD, `torch.${name} is not callable here`);
  };
  return Object.assign(f, { torchStorage: name });
}

function isStorageType(x: unknown): x is StorageType {
  return typeof x === 'function' && typeof (x as Partial<StorageType>).torchStorage === 'string';
}

function isIntArray(x: unknown): x is number[] {
  return Array.isArray(x) && x.every((d) => Number.isSafeInteger(d) && (d as number) >= 0);
}

function rebuildTensor(...args: unknown[]): TensorRef {
  const [storage, offset, size, stride] = args;
  if (!(storage instanceof StorageRef)) throw new InputError(FIELD, `_rebuild_tensor_v2: first argument is not a storage; ${SAVE_HINT}`);
  if (!Number.isSafeInteger(offset) || !isIntArray(size) || !isIntArray(stride) || size.length !== stride.length) {
    throw new InputError(FIELD, `_rebuild_tensor_v2: malformed offset/size/stride (${JSON.stringify([offset, size, stride])})`);
  }
  return new TensorRef(storage, offset as number, size, stride);
}

const GLOBALS: Record<string, (...args: unknown[]) => unknown> = {
  'collections.OrderedDict': () => new Map<unknown, unknown>(),
  'torch._utils._rebuild_tensor_v2': rebuildTensor,
  // Only when a Parameter (not its .data) was saved: the first argument is already the tensor.
  'torch._utils._rebuild_parameter': (data: unknown) => data,
};
for (const name of Object.keys(STORAGE_TYPES)) GLOBALS[`torch.${name}`] = storageType(name);

const parserOptions: ConstructorParameters<typeof Parser>[0] = {
  unpicklingTypeOfDictionary: 'Map',
  nameResolver: {
    resolve(module: string, name: string) {
      const f = GLOBALS[`${module}.${name}`];
      if (!f) throw new InputError(FIELD, `the pickle references ${module}.${name}, which a state_dict does not contain; ${SAVE_HINT}`);
      return f;
    },
  },
  persistentResolver: {
    resolve(pid: unknown) {
      if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length < 5) throw new InputError(FIELD, `unknown persistent id ${JSON.stringify(pid)}`);
      const [, type, key, , numel] = pid as unknown[];
      if (!isStorageType(type) || typeof key !== 'string' || !Number.isSafeInteger(numel)) {
        throw new InputError(FIELD, `malformed storage reference for key ${String(key)}`);
      }
      return new StorageRef(type.torchStorage, key, numel as number);
    },
  },
};

/**
 * Reads every tensor of a torch.save'd state_dict, in torch's own layout (a conv weight is [out, in, kh, kw]).
 * @throws InputError('checkpoint', ...) for a file that is not a zip, has no data.pkl, pickles anything but a dict
 *   of tensors, uses a dtype other than float32, or whose storages are missing or too short.
 */
export function readTorchStateDict(bytes: Uint8Array): Record<string, HostTensor> {
  if (bytes.length >= 2 && bytes[0] === 0x80 && bytes[1] <= 5) {
    throw new InputError(FIELD, 'this is a legacy (pre-zip) torch.save file; re-save it with PyTorch >= 1.6 (torch.save(torch.load(p), p))');
  }
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes);
  } catch (e) {
    throw new InputError(FIELD, `not a zip archive, so not a PyTorch >= 1.6 checkpoint (${(e as Error).message})`);
  }
  const pkls = Object.keys(files).filter((p) => /^[^/]+\/data\.pkl$/.test(p));
  if (pkls.length !== 1) {
    throw new InputError(
      FIELD,
      pkls.length === 0 ? `no <name>/data.pkl in the zip archive; ${SAVE_HINT}` : `several data.pkl in the archive: ${pkls.join(', ')}`,
    );
  }
  const prefix = pkls[0].slice(0, -'data.pkl'.length);
  const byteorder = files[`${prefix}byteorder`];
  if (byteorder && new TextDecoder().decode(byteorder).trim() !== 'little') {
    throw new InputError(FIELD, 'big-endian checkpoints are not supported');
  }

  let root: unknown;
  try {
    root = new Parser(parserOptions).parse(files[pkls[0]]);
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(FIELD, `cannot unpickle ${pkls[0]}: ${(e as Error).message}`);
  }
  if (!(root instanceof Map)) throw new InputError(FIELD, `data.pkl does not hold a dict; ${SAVE_HINT}`);

  const storages = new Map<string, Float32Array>();
  const out: Record<string, HostTensor> = {};
  for (const [name, ref] of root) {
    if (typeof name !== 'string') throw new InputError(FIELD, `state_dict key ${String(name)} is not a string`);
    if (!(ref instanceof TensorRef)) throw new InputError(FIELD, `state_dict entry ${name} is not a tensor; ${SAVE_HINT}`);
    if (ref.storage.type !== 'FloatStorage') {
      throw new InputError(FIELD, `tensor ${name} has ${ref.storage.type}; only float32 is supported (save after model.float())`);
    }
    let storage = storages.get(ref.storage.key);
    if (!storage) {
      const raw = files[`${prefix}data/${ref.storage.key}`];
      if (!raw) throw new InputError(FIELD, `tensor ${name}: storage ${prefix}data/${ref.storage.key} is missing from the archive`);
      if (raw.length < 4 * ref.storage.numel) {
        throw new InputError(FIELD, `tensor ${name}: storage ${ref.storage.key} has ${raw.length} bytes, needs ${4 * ref.storage.numel}`);
      }
      storage = readFloat32LE(raw, ref.storage.numel);
      storages.set(ref.storage.key, storage);
    }
    out[name] = { shape: [...ref.size], data: gather(name, storage, ref) };
  }
  return out;
}

/** A copy of the tensor's elements in row-major order, honouring offset and (possibly non-contiguous) strides. */
function gather(name: string, storage: Float32Array, ref: TensorRef): Float32Array {
  const { size, stride, offset } = ref;
  const n = size.reduce((a, b) => a * b, 1);
  if (n === 0) return new Float32Array(0);
  const last = offset + size.reduce((acc, d, i) => acc + (d - 1) * stride[i], 0);
  if (last >= storage.length) throw new InputError(FIELD, `tensor ${name}: offset/strides reach element ${last}, storage has ${storage.length}`);
  const contiguous = size.every((_, i) => size[i] === 1 || stride[i] === size.slice(i + 1).reduce((a, b) => a * b, 1));
  if (contiguous) return storage.slice(offset, offset + n);
  const out = new Float32Array(n);
  const idx = new Array<number>(size.length).fill(0);
  let src = offset;
  for (let k = 0; k < n; k++) {
    out[k] = storage[src];
    // Odometer increment over the multi-index, last axis fastest.
    for (let d = size.length - 1; d >= 0; d--) {
      idx[d]++;
      src += stride[d];
      if (idx[d] < size[d]) break;
      src -= stride[d] * size[d];
      idx[d] = 0;
    }
  }
  return out;
}

function readFloat32LE(raw: Uint8Array, numel: number): Float32Array {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const out = new Float32Array(numel);
  for (let i = 0; i < numel; i++) out[i] = view.getFloat32(4 * i, true);
  return out;
}

export interface ImportPthOptions {
  /** V = {-r..r}^2 of the saved model (the reference's v_range); 0 imports a G-RNN. Not recoverable from weights. */
  vRange: number;
  pool?: Pool;
  activation?: 'relu' | 'tanh';
}

/**
 * Imports a reference Seq2SeqFERNN state_dict: infers inChannels, hidden, kernel sizes, decoder depth and output
 * channels from the weight shapes, transposes torch [out, in, kh, kw] to tfjs [kh, kw, in, out], and builds the
 * config (kind 'fernn', or 'grnn' when vRange is 0; velocities in the reference order).
 * @returns a model whose params are new variables; the caller disposes them (disposeModel).
 * @throws InputError('checkpoint', ...) for a foreign file or unknown/missing/mis-shaped weights;
 *   InputError('v-range', ...) for a bad vRange.
 */
export async function importReferencePth(path: string, opts: ImportPthOptions): Promise<Seq2SeqModel> {
  const { vRange } = opts;
  if (!Number.isInteger(vRange) || vRange < 0 || vRange > 16) throw new InputError('v-range', `must be an integer in 0..16, got ${vRange}`);
  const sd = readTorchStateDict(await readCheckpointFile(path));

  const uName = 'cell.conv_u.weight';
  const hName = 'cell.conv_h.weight';
  const known = /^(cell\.conv_[uh]\.weight|decoder_conv\.\d+\.weight)$/;
  const unknown = Object.keys(sd).filter((k) => !known.test(k));
  if (unknown.length) throw new InputError(FIELD, `unknown state_dict keys ${unknown.join(', ')}: not a reference Seq2SeqFERNN checkpoint`);
  for (const k of [uName, hName]) if (!sd[k]) throw new InputError(FIELD, `missing ${k}: not a reference Seq2SeqFERNN checkpoint`);

  const [hidden, inChannels, kernelU] = convDims(uName, sd[uName].shape);
  const [hOut, hIn, kernelH] = convDims(hName, sd[hName].shape);
  if (hOut !== hidden || hIn !== hidden) throw new InputError(FIELD, `${hName} has shape [${sd[hName].shape}], expected [${hidden}, ${hidden}, k, k]`);

  const decIdx = Object.keys(sd)
    .filter((k) => k.startsWith('decoder_conv.'))
    .map((k) => Number(k.split('.')[1]))
    .sort((a, b) => a - b);
  if (decIdx.length === 0) throw new InputError(FIELD, 'missing decoder_conv weights: not a reference Seq2SeqFERNN checkpoint');
  decIdx.forEach((d, i) => {
    if (d !== 2 * i) throw new InputError(FIELD, `decoder_conv indices must be 0, 2, 4, ... (conv, relu, conv, ...); got ${decIdx.join(', ')}`);
  });
  const decoderLayers = decIdx.length - 1;
  let outChannels = 0;
  for (let i = 0; i <= decoderLayers; i++) {
    const name = `decoder_conv.${2 * i}.weight`;
    const [o, inC, k] = convDims(name, sd[name].shape);
    const isLast = i === decoderLayers;
    if (inC !== hidden || k !== 3 || (!isLast && o !== hidden)) {
      throw new InputError(FIELD, `${name} has shape [${sd[name].shape}], expected [${isLast ? 'out' : hidden}, ${hidden}, 3, 3]`);
    }
    if (isLast) outChannels = o;
  }

  let config;
  try {
    const cell = makeCellConfig({
      kind: vRange === 0 ? 'grnn' : 'fernn',
      vRange,
      hidden,
      inChannels,
      kernelU,
      kernelH,
      activation: opts.activation ?? 'relu',
    });
    config = makeSeq2SeqConfig(cell, { decoderLayers, pool: opts.pool ?? 'max', outChannels });
  } catch (e) {
    throw new InputError(FIELD, `the weights imply an unsupported model: ${(e as Error).message}`);
  }

  const tensors: Record<string, HostTensor> = {};
  for (const [name, t] of Object.entries(sd)) tensors[name] = oihwToHwio(t);
  return { config, params: hostTensorsToParams(seq2seqParamSpec(config), tensors) };
}

/** [out, in, k, k] with k odd -> [out, in, k]. */
function convDims(name: string, shape: number[]): [number, number, number] {
  if (shape.length !== 4 || shape[2] !== shape[3] || shape[2] % 2 !== 1) {
    throw new InputError(FIELD, `${name} has shape [${shape}], expected a conv weight [out, in, k, k] with odd k`);
  }
  return [shape[0], shape[1], shape[2]];
}

/** torch conv weight [out, in, kh, kw] -> tfjs [kh, kw, in, out]. */
function oihwToHwio(t: HostTensor): HostTensor {
  const [o, i, kh, kw] = t.shape;
  const out = new Float32Array(t.data.length);
  for (let a = 0; a < o; a++)
    for (let b = 0; b < i; b++)
      for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) out[((y * kw + x) * i + b) * o + a] = t.data[((a * i + b) * kh + y) * kw + x];
  return { shape: [kh, kw, i, o], data: out };
}
