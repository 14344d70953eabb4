import { expectInputError } from '../helpers/errors';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useCpu } from '../helpers/backend';
import { makeCellConfig, makeClassifierConfig, makeCnn3dConfig, makeSeq2SeqConfig, type CellKind, type ClassifierConfig } from '../../src/core/nn/config';
import { classifierBufferNames, createClassifier, disposeClassifier } from '../../src/core/nn/classifier';
import { createSeq2Seq, disposeModel } from '../../src/core/nn/seq2seq';
import { decodeSafetensors, encodeModelSafetensors, encodeSafetensors, loadModelSafetensors } from '../../src/node/checkpoint/safetensors';
import { writeFileAtomic } from '../../src/node/store/atomicFile';
import { InputError } from '../../src/core/util/errors';

/** A model written to a file as the run store writes checkpoints: its safetensors bytes, atomically. */
const saveModel = async (path: string, model: Parameters<typeof encodeModelSafetensors>[0], meta?: Record<string, string>): Promise<void> =>
  writeFileAtomic(path, await encodeModelSafetensors(model, meta));

let dir: string;
beforeAll(async () => {
  await useCpu();
  dir = mkdtempSync(join(tmpdir(), 'fernn-st-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const expectFieldError = (fn: () => unknown, pattern: RegExp): void => expectInputError(fn, 'checkpoint', pattern);

async function expectInputErrorAsync(p: Promise<unknown>, pattern: RegExp): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(InputError);
  expect((err as InputError).field).toBe('checkpoint');
  expect((err as Error).message).toMatch(pattern);
}

/** Bit patterns, so -0, NaN and subnormals must survive too. */
function bits(a: Float32Array): number[] {
  return Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
}

/** A hand-built file: header JSON (unpadded) + data. */
function rawFile(header: unknown, data: Uint8Array, declaredLen?: bigint): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, declaredLen ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

describe('safetensors encode/decode', () => {
  it('round-trips tensors bit for bit, with metadata, 8-byte aligned data', () => {
    const special = new Float32Array([0, -0, 1e-45, -3.4e38, Number.NaN, Number.POSITIVE_INFINITY, 1 / 3]);
    const tensors = { b: { shape: [7], data: special }, a: { shape: [2, 0, 3], data: new Float32Array(0) }, s: { shape: [], data: new Float32Array([2.5]) } };
    const bytes = encodeSafetensors(tensors, { note: 'hi', ü: 'unicode ✓' });
    const headerLen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + headerLen) % 8).toBe(0);
    const back = decodeSafetensors(bytes);
    expect(back.metadata).toEqual({ note: 'hi', ü: 'unicode ✓' });
    expect(Object.keys(back.tensors).sort()).toEqual(['a', 'b', 's']);
    for (const [k, t] of Object.entries(tensors)) {
      expect(back.tensors[k].shape).toEqual(t.shape);
      expect(bits(back.tensors[k].data)).toEqual(bits(t.data));
    }
  });

  it('is deterministic (names sorted)', () => {
    const x = { shape: [1], data: new Float32Array([1]) };
    const y = { shape: [1], data: new Float32Array([2]) };
    expect(encodeSafetensors({ x, y }, {})).toEqual(encodeSafetensors({ y, x }, {}));
  });
});

describe.each<[CellKind, number]>([
  ['fernn', 1],
  ['grnn', 0],
  ['grnn-plus', 1],
])('model round-trip: %s', (kind, vRange) => {
  it('saves and loads every parameter bit for bit and the same config, without leaking', async () => {
    const config = makeSeq2SeqConfig(makeCellConfig({ kind, vRange, hidden: 5, kernelU: 5 }), { decoderLayers: 2, pool: 'mean' });
    const model = createSeq2Seq(config, 42);
    const path = join(dir, `${kind}.safetensors`);
    await saveModel(path, model, { note: 'test' });
    const before = tf.memory().numTensors;
    const back = await loadModelSafetensors(path);
    expect(back.config).toEqual(config);
    expect(back.metadata).toMatchObject({ format: 'fernn-lab', format_version: '1', layout: 'HWIO', note: 'test' });
    expect(Object.keys(back.params).sort()).toEqual(Object.keys(model.params).sort());
    for (const [name, v] of Object.entries(model.params)) {
      expect(back.params[name].shape).toEqual(v.shape);
      expect(bits((await back.params[name].data()) as Float32Array)).toEqual(bits((await v.data()) as Float32Array));
    }
    disposeModel(back);
    expect(tf.memory().numTensors).toBe(before);
    disposeModel(model);
  });
});

describe.each<[string, ClassifierConfig]>([
  [
    'FERNN-V1 classifier with the reference encoder',
    makeClassifierConfig(makeCellConfig({ kind: 'fernn', vRange: 1, hidden: 3 }), 4, { encoder: { channels: [2, 3] } }),
  ],
  ['G-RNN+ classifier without an encoder', makeClassifierConfig(makeCellConfig({ kind: 'grnn-plus', vRange: 1, hidden: 2 }), 3, { pool: 'mean' })],
  ['3D-CNN', makeCnn3dConfig({ numClasses: 5, width: 2 })],
])('classifier round-trip: %s', (_name, config) => {
  it('saves and loads every tensor bit for bit (BatchNorm running statistics as non-trainable variables)', async () => {
    const model = createClassifier(config, 7);
    // Running statistics that differ from their init, so a reader that re-initialised them would be caught.
    for (const n of classifierBufferNames(config)) model.params[n].assign(tf.randomUniform(model.params[n].shape, 0.5, 2, 'float32', 3));
    const path = join(dir, `classifier-${config.arch}-${Object.keys(model.params).length}.safetensors`);
    await saveModel(path, model);
    const before = tf.memory().numTensors;
    const back = await loadModelSafetensors(path);
    expect(back.config).toEqual(config);
    expect(Object.keys(back.params).sort()).toEqual(Object.keys(model.params).sort());
    for (const [name, v] of Object.entries(model.params)) {
      expect(back.params[name].trainable, name).toBe(v.trainable);
      expect(bits((await back.params[name].data()) as Float32Array), name).toEqual(bits((await v.data()) as Float32Array));
    }
    disposeClassifier({ config: back.config as ClassifierConfig, params: back.params });
    expect(tf.memory().numTensors).toBe(before);
    disposeClassifier(model);
  });
});

describe('atomic write', () => {
  it('leaves only the final file, and overwrites an existing one', async () => {
    const sub = mkdtempSync(join(dir, 'atomic-'));
    const model = createSeq2Seq(makeSeq2SeqConfig(makeCellConfig({ kind: 'grnn', hidden: 2 })), 1);
    const path = join(sub, 'm.safetensors');
    writeFileSync(path, 'old contents');
    await saveModel(path, model);
    await saveModel(path, model);
    expect(readdirSync(sub)).toEqual(['m.safetensors']);
    const back = await loadModelSafetensors(path);
    disposeModel(back);
    disposeModel(model);
  });

  it('cleans up its temp file when the final rename fails', async () => {
    const model = createSeq2Seq(makeSeq2SeqConfig(makeCellConfig({ kind: 'grnn', hidden: 2 })), 1);
    const sub = mkdtempSync(join(dir, 'fail-'));
    // The target is a non-empty directory: the temp file gets written, the rename onto it fails.
    const blocked = join(sub, 'blocked.safetensors');
    mkdirSync(blocked);
    writeFileSync(join(blocked, 'child'), '');
    await expect(saveModel(blocked, model)).rejects.toThrow();
    expect(readdirSync(sub)).toEqual(['blocked.safetensors']);
    disposeModel(model);
  });
});

describe('corrupt files give InputError with a clear message', () => {
  const good = (): Uint8Array => encodeSafetensors({ w: { shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) } }, { format: 'x' });

  it('shorter than the length prefix', () => expectFieldError(() => decodeSafetensors(new Uint8Array(5)), /shorter than the 8-byte header length/));

  it('truncated data', () => {
    const b = good();
    expectFieldError(() => decodeSafetensors(b.subarray(0, b.length - 3)), /tensor w: data_offsets \[0, 16\] out of range/);
  });

  it('header length past the end of the file', () => {
    const b = good().slice();
    new DataView(b.buffer).setBigUint64(0, 10n ** 12n, true);
    expectFieldError(() => decodeSafetensors(b), /header length 1000000000000 exceeds/);
  });

  it('header that is not JSON', () => {
    const b = good().slice();
    b[8] = 0x41;
    expectFieldError(() => decodeSafetensors(b), /not UTF-8 JSON/);
  });

  it('offsets out of range', () => {
    expectFieldError(() => decodeSafetensors(rawFile({ w: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, new Uint8Array(8))), /out of range/);
    expectFieldError(() => decodeSafetensors(rawFile({ w: { dtype: 'F32', shape: [2], data_offsets: [8, 0] } }, new Uint8Array(8))), /out of range/);
  });

  it('overlapping tensors', () => {
    const h = { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } };
    expectFieldError(() => decodeSafetensors(rawFile(h, new Uint8Array(12))), /tensors a and b overlap/);
  });

  it('shape that does not match the byte span', () => {
    expectFieldError(() => decodeSafetensors(rawFile({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, new Uint8Array(8))), /needs 12 bytes/);
  });

  it('wrong dtype', () => {
    for (const dtype of ['F64', 'F16', 'BF16', 'I64']) {
      expectFieldError(
        () => decodeSafetensors(rawFile({ w: { dtype, shape: [1], data_offsets: [0, 8] } }, new Uint8Array(8))),
        new RegExp(`dtype "${dtype}" is not supported \\(only F32\\)`),
      );
    }
  });

  it('non-string metadata', () => {
    expectFieldError(() => decodeSafetensors(rawFile({ __metadata__: { n: 1 } }, new Uint8Array(0))), /__metadata__\.n must be a string/);
  });

  it('a safetensors file that is not ours, a bad config and mismatched params', async () => {
    const write = (name: string, bytes: Uint8Array): string => {
      const p = join(dir, name);
      writeFileSync(p, bytes);
      return p;
    };
    await expectInputErrorAsync(loadModelSafetensors(write('foreign.safetensors', good())), /not a fernn-lab model/);
    const meta = (config: unknown): Record<string, string> => ({ format: 'fernn-lab', format_version: '1', layout: 'HWIO', config: JSON.stringify(config) });
    const cfg = makeSeq2SeqConfig(makeCellConfig({ kind: 'grnn', hidden: 2 }));
    const tensors = { w: { shape: [1], data: new Float32Array(1) } };
    await expectInputErrorAsync(
      loadModelSafetensors(write('badcfg.safetensors', encodeSafetensors(tensors, meta({ ...cfg, cell: { ...cfg.cell, hidden: 0 } })))),
      /config\.cell\.hidden: /,
    );
    await expectInputErrorAsync(
      loadModelSafetensors(write('params.safetensors', encodeSafetensors(tensors, meta(cfg)))),
      /missing parameters: cell\.conv_u\.weight/,
    );
    await expectInputErrorAsync(
      loadModelSafetensors(write('classifier.safetensors', encodeSafetensors({}, meta({ arch: 'classifier', cell: cfg.cell, pool: 'max', numClasses: 6 })))),
      /missing parameters: cell\.conv_u\.weight, cell\.conv_h\.weight, head\.weight, head\.bias/,
    );
    await expectInputErrorAsync(
      loadModelSafetensors(
        write('cnn3d.safetensors', encodeSafetensors(tensors, meta({ arch: 'cnn3d', inChannels: 1, width: 0, numClasses: 6, temporalStride: 2 }))),
      ),
      /config\.width: /,
    );
    await expectInputErrorAsync(loadModelSafetensors(join(dir, 'missing.safetensors')), /no such file: .*missing\.safetensors/);
  });

  it('a real model file with one byte flipped in the header is rejected, not misread', () => {
    const b = encodeSafetensors({ w: { shape: [2, 2], data: new Float32Array(4) } }, {});
    const text = new TextDecoder().decode(b.subarray(8));
    const i = text.indexOf('16]');
    const c = b.slice();
    c[8 + i + 1] = '8'.charCodeAt(0); // data_offsets [0, 18]
    expectFieldError(() => decodeSafetensors(c), /out of range|needs 16 bytes/);
  });
});
