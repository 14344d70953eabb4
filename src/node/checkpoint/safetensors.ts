import { readFile } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs-core';
import { modelConfigSchema, type ModelConfig } from '../../core/nn/config';
import { paramsFromTensors, type ParamMap, type ParamSpec } from '../../core/nn/params';
import { seq2seqParamSpec } from '../../core/nn/seq2seq';
import { classifierBufferNames, classifierStateShapes } from '../../core/nn/classifier';
import { InputError } from '../../core/util/errors';

/**
 * The safetensors format (https://github.com/huggingface/safetensors): an 8-byte little-endian u64 N, N bytes of
 * UTF-8 JSON {name: {dtype, shape, data_offsets: [start, end]}, "__metadata__": {string: string}}, then the raw
 * little-endian tensor bytes; offsets are relative to the end of the header. We write and read F32 only.
 */

/** A plain host tensor: row-major values and their shape. */
export interface HostTensor {
  shape: number[];
  data: Float32Array;
}

export interface SafetensorsContents {
  tensors: Record<string, HostTensor>;
  metadata: Record<string, string>;
}

/** The reference implementation's cap on the JSON header; anything bigger is not a real checkpoint. */
const MAX_HEADER_BYTES = 100_000_000;
const FIELD = 'checkpoint';
export const SAFETENSORS_FORMAT = 'fernn-lab';
export const SAFETENSORS_FORMAT_VERSION = '1';

/**
 * Encodes tensors (sorted by name, so equal inputs give equal bytes) and string metadata. The header is padded
 * with spaces to a multiple of 8 so the data is 8-byte aligned, as the reference writer does.
 */
export function encodeSafetensors(tensors: Record<string, HostTensor>, metadata: Record<string, string>): Uint8Array {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) if (typeof v !== 'string') throw new Error(`safetensors metadata ${k} must be a string`);
    header.__metadata__ = metadata;
  }
  let offset = 0;
  for (const name of names) {
    if (name === '__metadata__') throw new Error('"__metadata__" is reserved and cannot name a tensor');
    const { shape, data } = tensors[name];
    const n = shape.reduce((a, b) => a * b, 1);
    if (n !== data.length) throw new Error(`tensor ${name}: shape [${shape}] holds ${n} values, data has ${data.length}`);
    header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + 4 * n] };
    offset += 4 * n;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(json);
    json = p;
  }
  const out = new Uint8Array(8 + json.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let pos = 8 + json.length;
  for (const name of names) {
    for (const v of tensors[name].data) {
      view.setFloat32(pos, v, true);
      pos += 4;
    }
  }
  return out;
}

/**
 * Decodes and validates a safetensors file: header length within the file, JSON object, every entry with a
 * supported dtype, integer shape, offsets in range, non-overlapping and sized to the shape.
 * @throws InputError('checkpoint', ...) naming what is wrong.
 */
export function decodeSafetensors(bytes: Uint8Array): SafetensorsContents {
  if (bytes.length < 8) throw new InputError(FIELD, `not a safetensors file: ${bytes.length} bytes, shorter than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n64 = view.getBigUint64(0, true);
  if (n64 > BigInt(Math.min(MAX_HEADER_BYTES, bytes.length - 8))) {
    throw new InputError(
      FIELD,
      `not a safetensors file: header length ${n64} exceeds the ${bytes.length - 8} bytes after it (or the ${MAX_HEADER_BYTES} byte cap)`,
    );
  }
  const headerLen = Number(n64);
  if (headerLen < 2) throw new InputError(FIELD, `not a safetensors file: header length ${headerLen} is too short for a JSON object`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLen)));
  } catch (e) {
    throw new InputError(FIELD, `not a safetensors file: the header is not UTF-8 JSON (${(e as Error).message})`);
  }
  if (!isRecord(header)) throw new InputError(FIELD, 'not a safetensors file: the header is not a JSON object');

  const dataStart = 8 + headerLen;
  const dataLen = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const spans: { name: string; start: number; end: number; shape: number[] }[] = [];
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (!isRecord(entry)) throw new InputError(FIELD, '__metadata__ must be an object of strings');
      for (const [k, v] of Object.entries(entry)) {
        if (typeof v !== 'string') throw new InputError(FIELD, `__metadata__.${k} must be a string, got ${typeof v}`);
        metadata[k] = v;
      }
      continue;
    }
    if (!isRecord(entry)) throw new InputError(FIELD, `tensor ${name}: header entry is not an object`);
    const { dtype, shape, data_offsets: offsets } = entry;
    if (dtype !== 'F32') throw new InputError(FIELD, `tensor ${name}: dtype ${JSON.stringify(dtype)} is not supported (only F32)`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
      throw new InputError(FIELD, `tensor ${name}: shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && (o as number) >= 0)) {
      throw new InputError(FIELD, `tensor ${name}: data_offsets must be [start, end] non-negative integers, got ${JSON.stringify(offsets)}`);
    }
    const [start, end] = offsets as [number, number];
    if (start > end || end > dataLen) {
      throw new InputError(FIELD, `tensor ${name}: data_offsets [${start}, ${end}] out of range (data section is ${dataLen} bytes)`);
    }
    const dims = shape as number[];
    const count = dims.reduce((a, b) => a * b, 1);
    if (end - start !== 4 * count) {
      throw new InputError(FIELD, `tensor ${name}: shape [${dims}] needs ${4 * count} bytes, data_offsets span ${end - start}`);
    }
    spans.push({ name, start, end, shape: dims });
  }
  spans.sort((a, b) => a.start - b.start || a.end - b.end);
  for (let i = 1; i < spans.length; i++) {
    const [a, b] = [spans[i - 1], spans[i]];
    if (b.start < a.end)
      throw new InputError(FIELD, `tensors ${a.name} and ${b.name} overlap (data_offsets [${a.start}, ${a.end}] and [${b.start}, ${b.end}])`);
  }

  const tensors: Record<string, HostTensor> = {};
  for (const { name, start, end, shape } of spans) {
    const data = new Float32Array((end - start) / 4);
    for (let i = 0; i < data.length; i++) data[i] = view.getFloat32(dataStart + start + 4 * i, true);
    tensors[name] = { shape, data };
  }
  return { tensors, metadata };
}

/**
 * A model as safetensors bytes: the params under their state_dict names in tfjs layout ([kh, kw, in, out] for
 * convs, [kd, kh, kw, in, out] for 3D convs; a classifier's BatchNorm running statistics included), metadata
 * {format: 'fernn-lab', format_version: '1', layout: 'HWIO', config: JSON} plus `extraMeta`. Written to disk by the
 * run store (RunStore.writeResumePoint, atomically) or by writeFileAtomic (store/atomicFile.ts).
 * @param model params are only read (asynchronously: the webgpu backend cannot read synchronously), not disposed.
 */
export async function encodeModelSafetensors(model: { config: ModelConfig; params: ParamMap }, extraMeta: Record<string, string> = {}): Promise<Uint8Array> {
  const tensors: Record<string, HostTensor> = {};
  const names = Object.keys(model.params);
  const values = await Promise.all(names.map((name) => model.params[name].data<'float32'>()));
  names.forEach((name, i) => {
    tensors[name] = { shape: [...model.params[name].shape], data: values[i] };
  });
  const metadata: Record<string, string> = {
    ...extraMeta,
    format: SAFETENSORS_FORMAT,
    format_version: SAFETENSORS_FORMAT_VERSION,
    layout: 'HWIO',
    config: JSON.stringify(model.config),
  };
  return encodeSafetensors(tensors, metadata);
}

/**
 * Reads a model written from encodeModelSafetensors (seq2seq or classifier, recurrent or 3D-CNN); validates the
 * metadata, the config (modelConfigSchema) and every parameter's name and shape.
 * @returns params as new variables; the caller disposes them (disposeModel).
 * @throws InputError('checkpoint', ...) for a missing or foreign file, a bad config or mismatched params.
 */
export async function loadModelSafetensors(path: string): Promise<{ config: ModelConfig; params: ParamMap; metadata: Record<string, string> }> {
  const { tensors, metadata } = decodeSafetensors(await readCheckpointFile(path));
  if (metadata.format !== SAFETENSORS_FORMAT) {
    throw new InputError(
      FIELD,
      `${path} is a safetensors file but not a fernn-lab model (metadata format ${JSON.stringify(metadata.format ?? null)}, expected "${SAFETENSORS_FORMAT}")`,
    );
  }
  if (metadata.format_version !== SAFETENSORS_FORMAT_VERSION) {
    throw new InputError(
      FIELD,
      `format_version ${JSON.stringify(metadata.format_version ?? null)} is not supported (expected "${SAFETENSORS_FORMAT_VERSION}")`,
    );
  }
  if (metadata.layout !== 'HWIO') throw new InputError(FIELD, `layout ${JSON.stringify(metadata.layout ?? null)} is not supported (expected "HWIO")`);
  let raw: unknown;
  try {
    raw = JSON.parse(metadata.config ?? '');
  } catch {
    throw new InputError(FIELD, 'metadata config is missing or not JSON');
  }
  const parsed = modelConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InputError(FIELD, `config.${issue.path.map(String).join('.')}: ${issue.message}`);
  }
  const config = parsed.data;
  if (config.arch === 'seq2seq') return { config, params: hostTensorsToParams(seq2seqParamSpec(config), tensors), metadata };
  // Classifiers: parameters and BatchNorm running statistics; the statistics come back as non-trainable variables.
  const params = hostTensorsToParams(classifierStateShapes(config), tensors);
  for (const name of classifierBufferNames(config)) params[name].trainable = false;
  return { config, params, metadata };
}

/**
 * Checks names and shapes against the spec, then makes variables; nothing is allocated when a check fails.
 * @returns new variables; the caller disposes them.
 * @throws InputError('checkpoint', ...) naming missing, unexpected or mis-shaped parameters.
 */
export function hostTensorsToParams(spec: ParamSpec, tensors: Record<string, HostTensor>): ParamMap {
  const missing = Object.keys(spec).filter((k) => !(k in tensors));
  const extra = Object.keys(tensors).filter((k) => !(k in spec));
  if (missing.length) throw new InputError(FIELD, `missing parameters: ${missing.join(', ')}`);
  if (extra.length) throw new InputError(FIELD, `unexpected parameters: ${extra.join(', ')}`);
  for (const [name, { shape }] of Object.entries(spec)) {
    const got = tensors[name].shape;
    if (got.length !== shape.length || got.some((d, i) => d !== shape[i])) {
      throw new InputError(FIELD, `parameter ${name}: expected shape [${shape}], got [${got}]`);
    }
  }
  return tf.tidy(() => paramsFromTensors(spec, Object.fromEntries(Object.entries(tensors).map(([name, t]) => [name, tf.tensor(t.data, t.shape, 'float32')]))));
}

/** @throws InputError('checkpoint', ...) naming the path when it cannot be read. */
export async function readCheckpointFile(path: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new InputError(FIELD, `no such file: ${path}`);
    if (code === 'EISDIR') throw new InputError(FIELD, `${path} is a directory, not a checkpoint file`);
    throw new InputError(FIELD, `cannot read ${path}: ${(e as Error).message}`);
  }
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}
