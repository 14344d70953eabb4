import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { npySequenceSource, readNpySequences, scanNpySequences } from '../../src/node/data/userNpy';
import { NPY_HOLDOUT, npySplits } from '../../src/node/lab/data';
import { encodeNpy } from '../../src/node/npy';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'fernn-usernpy-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A uint8 .npy [N, T, H, W] whose sequence n holds the value n in every pixel. */
function uint8File(n: number, t: number, h: number, w: number): string {
  const dict = `{'descr': '|u1', 'fortran_order': False, 'shape': (${n}, ${t}, ${h}, ${w}), }`;
  const total = 128;
  const out = new Uint8Array(total + n * t * h * w);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(out.buffer).setUint16(8, total - 10, true);
  const text = dict.padEnd(total - 11, ' ') + '\n';
  for (let i = 0; i < text.length; i++) out[10 + i] = text.charCodeAt(i);
  for (let s = 0; s < n; s++) out.fill(s, total + s * t * h * w, total + (s + 1) * t * h * w);
  const p = join(dir, `u8-${n}.npy`);
  writeFileSync(p, out);
  return p;
}

/** The first value of each sequence of a batch, as uint8 levels. */
const levels = (frames: Float32Array, b: number): number[] => Array.from({ length: b }, (_, j) => Math.round(frames[(j * frames.length) / b] * 255));

describe('user .npy sequences', () => {
  it('reads uint8 [N, T, H, W] as stored and scales batches to [0, 1]', async () => {
    const d = await readNpySequences(uint8File(6, 3, 2, 2));
    expect(d.dtype).toBe('uint8');
    expect(d.shape).toEqual([6, 3, 2, 2]);
    expect(d.values).toBeInstanceOf(Uint8Array);
    const b = npySequenceSource(d, [0, 1, 2, 3, 4, 5], 'file', 0).batch(1, 2);
    expect(b.shape).toEqual([2, 3, 2, 2, 1]);
    expect(b.frames[0]).toBeCloseTo(2 / 255, 7);
    expect(levels(b.frames, 2)).toEqual([2, 3]);
  });

  it("file order takes the file's sequences in order, epoch after epoch; shuffle permutes each epoch (seeded)", async () => {
    const d = await readNpySequences(uint8File(5, 1, 1, 1));
    const idx = [0, 1, 2, 3, 4];
    const file = npySequenceSource(d, idx, 'file', 0);
    expect([0, 1, 2, 3, 4].flatMap((i) => levels(file.batch(i, 2).frames, 2))).toEqual([0, 1, 2, 3, 4, 0, 1, 2, 3, 4]);
    const shuf = (seed: number): number[] => {
      const s = npySequenceSource(d, idx, 'shuffle', seed);
      return [0, 1, 2, 3, 4].flatMap((i) => levels(s.batch(i, 2).frames, 2));
    };
    const a = shuf(1);
    expect(a).toEqual(shuf(1));
    expect([...a.slice(0, 5)].sort()).toEqual(idx);
    expect([...a.slice(5)].sort()).toEqual(idx);
    expect(a).not.toEqual([0, 1, 2, 3, 4, 0, 1, 2, 3, 4]);
  });

  it('held-out splits are seeded, never overlap, cover the file and keep file order', () => {
    const n = 53;
    const s = npySplits(n, 7, true, true, 'x.npy');
    const k = Math.round(n * NPY_HOLDOUT);
    expect([s.val.length, s.test.length, s.train.length]).toEqual([k, k, n - 2 * k]);
    expect(new Set([...s.train, ...s.val, ...s.test]).size).toBe(n);
    for (const part of [s.train, s.val, s.test]) expect(part).toEqual([...part].sort((a, b) => a - b));
    expect(npySplits(n, 7, true, true, 'x.npy')).toEqual(s);
    expect(npySplits(n, 8, true, true, 'x.npy').val).not.toEqual(s.val);
    expect(npySplits(n, 7, false, false, 'x.npy').train.length).toBe(n);
  });

  it('scan gives the sha256 of the whole file and the same checks as read', async () => {
    const p = join(dir, 'f.npy');
    const bytes = encodeNpy(new Float32Array(2 * 3 * 4).fill(0.25), [2, 3, 1, 2, 2]);
    writeFileSync(p, bytes);
    const { createHash } = await import('node:crypto');
    const s = await scanNpySequences(p);
    expect(s.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(s.shape).toEqual([2, 3, 2, 2]);
    const bad = encodeNpy(new Float32Array(2 * 3 * 4).fill(0.25).fill(-0.5, 13, 14), [2, 3, 2, 2]);
    writeFileSync(p, bad);
    await expect(scanNpySequences(p)).rejects.toThrow(/f\.npy: sequence 1: value -0\.5 outside \[0, 1\]/);
    await expect(readNpySequences(p)).rejects.toThrow(/f\.npy: sequence 1: value -0\.5 outside \[0, 1\]/);
  });
});
