import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { unzipSync, zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useCpu } from '../helpers/backend';
import { maxAbsDiff, relErr, TOL } from '../helpers/close';
import { importReferencePth, readTorchStateDict } from '../../src/node/checkpoint/pth';
import { loadCheckpoint } from '../../src/node/checkpoint/load';
import { encodeModelSafetensors } from '../../src/node/checkpoint/safetensors';
import { writeFileAtomic } from '../../src/node/store/atomicFile';
import { parseNpy, type NpyArray } from '../../src/node/npy';
import { disposeModel, forward, predict, type Seq2SeqModel } from '../../src/core/nn/seq2seq';
import { InputError } from '../../src/core/util/errors';

/** A model written to a file as the run store writes checkpoints: its safetensors bytes, atomically. */
const saveModel = async (path: string, model: Parameters<typeof encodeModelSafetensors>[0], meta?: Record<string, string>): Promise<void> =>
  writeFileAtomic(path, await encodeModelSafetensors(model, meta));

const PARITY = 'test/fixtures/parity';
const READER = 'test/fixtures/pth';

interface FixtureMeta {
  name: string;
  v_range: number;
  hidden: number;
  decoder_conv_layers: number;
  height: number;
  width: number;
  pred_len: number;
  velocities: [number, number][];
}

const FIXTURES = ['fernn_v1', 'grnn'] as const;

function npy(path: string): NpyArray {
  return parseNpy(new Uint8Array(readFileSync(path)));
}

function meta(name: string): FixtureMeta {
  return JSON.parse(readFileSync(join(PARITY, `${name}.json`), 'utf8')) as FixtureMeta;
}

/** Reference input [B, T, 1, H, W] -> ours [B, T, H, W, 1] (a reshape, since C = 1). Caller disposes. */
function inputTensor(a: NpyArray): tf.Tensor5D {
  const [b, t, c, h, w] = a.shape;
  expect(c).toBe(1);
  return tf.tensor5d(a.data, [b, t, h, w, 1]);
}

/** Reference hidden [B, T, V, C, H, W] at step t -> ours [B, V, H, W, C], flattened. */
function refHiddenAt(a: NpyArray, t: number): Float32Array {
  const [b, nt, nv, c, h, w] = a.shape;
  const out = new Float32Array(b * nv * h * w * c);
  for (let ib = 0; ib < b; ib++)
    for (let v = 0; v < nv; v++)
      for (let ic = 0; ic < c; ic++)
        for (let y = 0; y < h; y++)
          for (let x = 0; x < w; x++) {
            const src = ((((ib * nt + t) * nv + v) * c + ic) * h + y) * w + x;
            out[(((ib * nv + v) * h + y) * w + x) * c + ic] = a.data[src];
          }
  return out;
}

/** Encoder hidden states of our model, [B, V, H, W, C] per input step, flattened. */
function ourEncoderHiddens(m: Seq2SeqModel, x: tf.Tensor5D): Float32Array[] {
  const hs: Float32Array[] = [];
  const y = forward(m, x, 1, {
    onHidden: (h, phase) => {
      if (phase === 'encode') hs.push(h.dataSync() as Float32Array);
    },
  });
  y.dispose();
  return hs;
}

async function expectInputError(p: Promise<unknown>, field: string, pattern: RegExp): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(InputError);
  expect((err as InputError).field).toBe(field);
  expect((err as Error).message).toMatch(pattern);
}

let dir: string;
beforeAll(async () => {
  await useCpu();
  dir = mkdtempSync(join(tmpdir(), 'fernn-pth-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('readTorchStateDict', () => {
  it('reads the reference state_dict names and torch shapes', () => {
    const sd = readTorchStateDict(new Uint8Array(readFileSync(join(PARITY, 'fernn_v1.pth'))));
    expect(Object.fromEntries(Object.entries(sd).map(([k, v]) => [k, v.shape]))).toEqual({
      'cell.conv_u.weight': [8, 1, 3, 3],
      'cell.conv_h.weight': [8, 8, 3, 3],
      'decoder_conv.0.weight': [8, 8, 3, 3],
      'decoder_conv.2.weight': [8, 8, 3, 3],
      'decoder_conv.4.weight': [1, 8, 3, 3],
    });
    for (const t of Object.values(sd)) expect(t.data.length).toBe(t.shape.reduce((a, b) => a * b, 1));
  });

  it('honours storage offsets and non-contiguous strides of views sharing one storage', () => {
    const sd = readTorchStateDict(new Uint8Array(readFileSync(join(READER, 'layout.pth'))));
    const whole = Array.from({ length: 12 }, (_, i) => i); // arange(12).reshape(3, 4)
    expect(sd.whole.shape).toEqual([3, 4]);
    expect(Array.from(sd.whole.data)).toEqual(whole);
    expect(sd.transposed.shape).toEqual([4, 3]);
    expect(Array.from(sd.transposed.data)).toEqual([0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]);
    expect(sd.offset.shape).toEqual([4]);
    expect(Array.from(sd.offset.data)).toEqual([5, 6, 7, 8]);
    expect(sd.strided.shape).toEqual([3, 2]);
    expect(Array.from(sd.strided.data)).toEqual([0, 2, 4, 6, 8, 10]);
  });
});

describe.each(FIXTURES)('parity with the PyTorch reference: %s', (name) => {
  it('importReferencePth infers the reference config', async () => {
    const s = meta(name);
    const m = await importReferencePth(join(PARITY, `${name}.pth`), { vRange: s.v_range });
    expect(m.config.cell.kind).toBe(s.v_range === 0 ? 'grnn' : 'fernn');
    expect(m.config.cell.hidden).toBe(s.hidden);
    expect(m.config.cell.inChannels).toBe(1);
    expect(m.config.decoderLayers).toBe(s.decoder_conv_layers);
    expect(m.config.outChannels).toBe(1);
    expect(m.config.cell.velocities.map((v) => [v.vx, v.vy])).toEqual(s.velocities);
    disposeModel(m);
  });

  it(`predict matches output.npy within TOL.parity, without leaking tensors`, async () => {
    const s = meta(name);
    const want = npy(join(PARITY, `${name}.output.npy`));
    const run = async (): Promise<number> => {
      const m = await importReferencePth(join(PARITY, `${name}.pth`), { vRange: s.v_range });
      const x = inputTensor(npy(join(PARITY, `${name}.input.npy`)));
      const y = predict(m, x, s.pred_len);
      const [b, k, , h, w] = want.shape;
      expect(y.shape).toEqual([b, k, h, w, 1]);
      const err = maxAbsDiff(await y.data(), want.data);
      [x, y].forEach((t) => t.dispose());
      disposeModel(m);
      return err;
    };
    expect(await run()).toBeLessThan(TOL.parity);
    // The first call may fill core's per-shape caches; a warm call must leave the count unchanged.
    const before = tf.memory().numTensors;
    expect(await run()).toBeLessThan(TOL.parity);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('encoder hidden states match hidden.npy within TOL.parity at every step', async () => {
    const s = meta(name);
    const ref = npy(join(PARITY, `${name}.hidden.npy`));
    const m = await importReferencePth(join(PARITY, `${name}.pth`), { vRange: s.v_range });
    const x = inputTensor(npy(join(PARITY, `${name}.input.npy`)));
    const ours = ourEncoderHiddens(m, x);
    expect(ours.length).toBe(ref.shape[1]);
    ours.forEach((h, t) => expect(maxAbsDiff(h, refHiddenAt(ref, t))).toBeLessThan(TOL.parity));
    x.dispose();
    disposeModel(m);
  });
});

describe('the parity check can fail', () => {
  /** Our prediction for a fixture's input with the weights imported under the given vRange, flattened. */
  async function predictWith(name: string, vRange: number): Promise<Float32Array> {
    const m = await importReferencePth(join(PARITY, `${name}.pth`), { vRange });
    const x = inputTensor(npy(join(PARITY, `${name}.input.npy`)));
    const y = predict(m, x, meta(name).pred_len);
    const out = (await y.data()) as Float32Array;
    [x, y].forEach((t) => t.dispose());
    disposeModel(m);
    return out;
  }

  it('the G-RNN weights imported with the wrong vRange (as FERNN-V1) mismatch by far more than TOL.parity', async () => {
    const want = npy(join(PARITY, 'grnn.output.npy')).data;
    expect(maxAbsDiff(await predictWith('grnn', 1), want)).toBeGreaterThan(TOL.visibleFailure);
  });

  it('the FERNN-V1 weights imported with the wrong vRange (0 or 2) visibly mismatch', async () => {
    // Its outputs are small (max |y| ~ 0.03), so compare relatively.
    const want = npy(join(PARITY, 'fernn_v1.output.npy')).data;
    for (const vRange of [0, 2]) expect(relErr(await predictWith('fernn_v1', vRange), want)).toBeGreaterThan(TOL.visibleFailure);
  });

  it('a perturbed weight makes the output comparison fail', async () => {
    const want = npy(join(PARITY, 'grnn.output.npy'));
    const m = await importReferencePth(join(PARITY, 'grnn.pth'), { vRange: 0 });
    const w = m.params['decoder_conv.2.weight'];
    w.assign(tf.tidy(() => tf.add(w, 0.05)));
    const x = inputTensor(npy(join(PARITY, 'grnn.input.npy')));
    const y = predict(m, x, 4);
    expect(maxAbsDiff(await y.data(), want.data)).toBeGreaterThan(TOL.visibleFailure);
    [x, y].forEach((t) => t.dispose());
    disposeModel(m);
  });
});

describe('foreign and bad files give InputError', () => {
  const write = (name: string, bytes: Uint8Array): string => {
    const p = join(dir, name);
    writeFileSync(p, bytes);
    return p;
  };

  it('not a zip', async () => {
    await expectInputError(importReferencePth(write('text.pth', new TextEncoder().encode('hello world')), { vRange: 1 }), 'checkpoint', /not a zip/);
  });

  it('a legacy (pre-1.6) torch.save pickle', async () => {
    await expectInputError(importReferencePth(write('legacy.pth', new Uint8Array([0x80, 0x02, 0x8a, 0x0a])), { vRange: 1 }), 'checkpoint', /legacy/);
  });

  it('a zip without data.pkl', async () => {
    const p = write('nodata.pth', zipSync({ 'x/readme.txt': new TextEncoder().encode('hi') }));
    await expectInputError(importReferencePth(p, { vRange: 1 }), 'checkpoint', /no <name>\/data\.pkl/);
  });

  it('a data.pkl that is not a pickle', async () => {
    const p = write('badpkl.pth', zipSync({ 'x/data.pkl': new Uint8Array([1, 2, 3]) }));
    await expectInputError(importReferencePth(p, { vRange: 1 }), 'checkpoint', /unpickle/);
  });

  it('a storage missing from the archive', async () => {
    const files = Object.fromEntries(Object.entries(unzipSync(new Uint8Array(readFileSync(join(PARITY, 'grnn.pth'))))).filter(([k]) => !k.endsWith('data/1')));
    await expectInputError(importReferencePth(write('nostorage.pth', zipSync(files)), { vRange: 0 }), 'checkpoint', /storage .*data\/1 is missing/);
  });

  it('a whole pickled module instead of a state_dict', async () => {
    await expectInputError(importReferencePth(join(READER, 'module.pth'), { vRange: 1 }), 'checkpoint', /torch\.nn\.modules.*state_dict/);
  });

  it('a float64 state_dict', async () => {
    await expectInputError(importReferencePth(join(READER, 'float64.pth'), { vRange: 1 }), 'checkpoint', /DoubleStorage; only float32/);
  });

  it('a state_dict of another model (unknown keys)', async () => {
    await expectInputError(importReferencePth(join(READER, 'layout.pth'), { vRange: 1 }), 'checkpoint', /unknown state_dict keys whole/);
  });

  /** grnn.pth with one key renamed inside data.pkl (same length, so the BINUNICODE length prefix stays valid). */
  async function renamedKey(from: string, to: string): Promise<string> {
    expect(to.length).toBe(from.length);
    const files = unzipSync(new Uint8Array(readFileSync(join(PARITY, 'grnn.pth'))));
    const pkl = files['grnn/data.pkl'].slice();
    const i = new TextDecoder('latin1').decode(pkl).indexOf(from);
    expect(i).toBeGreaterThan(0);
    pkl.set(new TextEncoder().encode(to), i);
    return write(`renamed-${to}.pth`, zipSync({ ...files, 'grnn/data.pkl': pkl }));
  }

  it('unknown keys', async () => {
    await expectInputError(
      importReferencePth(await renamedKey('cell.conv_h.weight', 'cell.conv_z.weight'), { vRange: 0 }),
      'checkpoint',
      /unknown state_dict keys cell\.conv_z\.weight/,
    );
  });

  it('missing keys', async () => {
    // A second cell.conv_u.weight overwrites the first; conv_h is gone.
    await expectInputError(
      importReferencePth(await renamedKey('cell.conv_h.weight', 'cell.conv_u.weight'), { vRange: 0 }),
      'checkpoint',
      /missing cell\.conv_h\.weight/,
    );
    await expectInputError(
      importReferencePth(await renamedKey('decoder_conv.2.weight', 'decoder_conv.4.weight'), { vRange: 0 }),
      'checkpoint',
      /decoder_conv indices must be 0, 2, 4/,
    );
  });

  it('a bad vRange', async () => {
    await expectInputError(importReferencePth(join(PARITY, 'grnn.pth'), { vRange: -1 }), 'v-range', /integer in 0\.\.16/);
    await expectInputError(importReferencePth(join(PARITY, 'grnn.pth'), { vRange: 1.5 }), 'v-range', /integer/);
  });
});

describe('loadCheckpoint', () => {
  it('dispatches .pth to the reference importer and needs vRange for it', async () => {
    await expectInputError(loadCheckpoint(join(PARITY, 'grnn.pth')), 'v-range', /required for \.pth checkpoints/);
    const m = await loadCheckpoint(join(PARITY, 'grnn.pth'), { vRange: 0 });
    expect(m.config.cell.kind).toBe('grnn');
    disposeModel(m);
  });

  it('dispatches .safetensors and round-trips an imported model', async () => {
    const m = await loadCheckpoint(join(PARITY, 'fernn_v1.pth'), { vRange: 1 });
    const p = join(dir, 'imported.safetensors');
    await saveModel(p, m);
    const back = await loadCheckpoint(p);
    expect(back.config).toEqual(m.config);
    for (const [k, v] of Object.entries(m.params)) expect(maxAbsDiff(await back.params[k].data(), await v.data())).toBe(0);
    disposeModel(m);
    disposeModel(back);
  });

  it('rejects a missing file, naming the path, and an unknown extension', async () => {
    await expectInputError(loadCheckpoint(join(dir, 'nope.safetensors')), 'checkpoint', /no such file: .*nope\.safetensors/);
    await expectInputError(loadCheckpoint(join(dir, 'nope.pth'), { vRange: 1 }), 'checkpoint', /no such file: .*nope\.pth/);
    await expectInputError(loadCheckpoint(join(PARITY, 'grnn.json')), 'checkpoint', /unknown extension '\.json'/);
  });
});
