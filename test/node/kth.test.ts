import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/core/util/errors';
import { pngChunk } from '../helpers/clipFolders';
import { createRng } from '../../src/core/util/rng';
import { FFMPEG_MISSING, KTH_REFERENCE_SPLIT, loadKthVideo, resizeGray, scanKth, splitByPerson, type KthEntry, type KthIndex } from '../../src/node/data/kth';
import { KTH_ACTIONS, KthClipSource, applyRandomTranslation, sampleClip, translateClip, type GrayVideo } from '../../src/core/data/movingClips';

const hasFfmpeg = spawnSync('ffmpeg', ['-version'], { stdio: 'ignore' }).status === 0;
if (!hasFfmpeg) console.warn('kth.test: ffmpeg is not on PATH, so the real-video case is skipped (frame folders are still tested)');

// Fixture: KTH layout, 20 frames of 40x30 (W x H) per video with a 6x6 bright square moving 1 px right per frame.
const T = 20;
const W = 40;
const H = 30;
const PERSONS = [1, 17, 22]; // one per reference split: train, val, test

function squareFrame(t: number, shift = 0): Uint8Array {
  const img = new Uint8Array(W * H).fill(20);
  for (let y = 10 + shift; y < 16 + shift; y++) for (let x = 5 + t; x < 11 + t; x++) img[y * W + (x % W)] = 230;
  return img;
}

function pgm(img: Uint8Array): Uint8Array {
  const head = new TextEncoder().encode(`P5\n# fixture\n${W} ${H}\n255\n`);
  const out = new Uint8Array(head.length + img.length);
  out.set(head);
  out.set(img, head.length);
  return out;
}

/** An 8-bit PNG, gray (color type 0) or RGB with gray values (type 2), every row using filter type y mod 5. */
function png(img: Uint8Array, rgb: boolean): Buffer {
  const bpp = rgb ? 3 : 1;
  const stride = W * bpp;
  const pix = rgb ? Uint8Array.from({ length: W * H * 3 }, (_, i) => img[Math.floor(i / 3)]) : img;
  const raw = new Uint8Array(H * (stride + 1));
  for (let y = 0; y < H; y++) {
    const f = y % 5;
    raw[y * (stride + 1)] = f;
    for (let x = 0; x < stride; x++) {
      const v = pix[y * stride + x];
      const a = x >= bpp ? pix[y * stride + x - bpp] : 0;
      const b = y > 0 ? pix[(y - 1) * stride + x] : 0;
      const c = x >= bpp && y > 0 ? pix[(y - 1) * stride + x - bpp] : 0;
      const p = a + b - c;
      const paeth = Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c) ? a : Math.abs(p - b) <= Math.abs(p - c) ? b : c;
      const pred = [0, a, b, (a + b) >> 1, paeth][f];
      raw[y * (stride + 1) + 1 + x] = (v - pred) & 0xff;
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(W, 0);
  ihdr.writeUInt32BE(H, 4);
  ihdr[8] = 8;
  ihdr[9] = rgb ? 2 : 0;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(raw)),
    pngChunk('IEND', new Uint8Array(0)),
  ]);
}

function writeFrames(dir: string, ext: 'pgm' | 'png' | 'rgb.png', shift = 0): void {
  mkdirSync(dir, { recursive: true });
  for (let t = 0; t < T; t++) {
    const name = join(dir, `frame${t + 1}.${ext === 'pgm' ? 'pgm' : 'png'}`); // numeric order: frame2 < frame10
    const img = squareFrame(t, shift);
    writeFileSync(name, ext === 'pgm' ? pgm(img) : png(img, ext === 'rgb.png'));
  }
}

let root: string;
let index: KthIndex;
const entry = (name: string): KthEntry => {
  const e = index.entries.find((x) => x.name === name);
  if (!e) throw new Error(`fixture entry ${name} missing`);
  return e;
};

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'kth-'));
  for (const action of ['boxing', 'walking']) {
    for (const p of PERSONS) writeFrames(join(root, action, `person${String(p).padStart(2, '0')}_${action}_d1`), 'pgm', action === 'walking' ? 4 : 0);
  }
  writeFrames(join(root, 'handwaving', 'person03_handwaving_d4'), 'png');
  writeFrames(join(root, 'handwaving', 'person03_handwaving_d3'), 'rgb.png');
  // A video file entry (its bytes are never decoded unless ffmpeg exists) and bad entries that must be reported.
  mkdirSync(join(root, 'running'));
  writeFileSync(join(root, 'running', 'person21_running_d2_uncomp.avi'), 'not really a video');
  writeFileSync(join(root, 'walking', 'notes.txt'), 'hello');
  writeFrames(join(root, 'boxing', 'person02_walking_d1'), 'pgm'); // action differs from its folder
  mkdirSync(join(root, 'boxing', 'person05_boxing_d1')); // empty frame folder
  writeFileSync(join(root, 'README.md'), 'readme');
  writeFileSync(join(root, '00sequences.txt'), 'Sequences:\n\nperson01_boxing_d1\t\tframes\t1-9, 2-19\nperson17_boxing_d1 frames 0-40\n');
  index = await scanKth(root);
});

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('scanKth', () => {
  it('finds every video with its action, label, person and scenario', () => {
    expect(index.entries.map((e) => e.name)).toEqual([
      'person01_boxing_d1',
      'person01_walking_d1',
      'person03_handwaving_d3',
      'person03_handwaving_d4',
      'person17_boxing_d1',
      'person17_walking_d1',
      'person21_running_d2',
      'person22_boxing_d1',
      'person22_walking_d1',
    ]);
    const e = entry('person17_walking_d1');
    expect(e).toMatchObject({ kind: 'frames', action: 'walking', label: KTH_ACTIONS.indexOf('walking'), person: 17, scenario: 1 });
    expect(e.label).toBe(0); // the reference's order: walking, jogging, running, boxing, handwaving, handclapping
    expect(entry('person22_boxing_d1').label).toBe(3);
    expect(e.frameFiles?.map((f) => f.split('/').pop()).slice(0, 3)).toEqual(['frame1.pgm', 'frame2.pgm', 'frame3.pgm']);
    expect(entry('person21_running_d2')).toMatchObject({ kind: 'video', action: 'running', person: 21, scenario: 2 });
  });

  it('reports bad names, misplaced videos and empty frame folders without failing', () => {
    const reasons = (suffix: string): string[] => index.problems.filter((p) => p.path.endsWith(suffix)).map((p) => p.reason);
    expect(reasons('notes.txt')[0]).toMatch(/not named like person01_boxing_d1_uncomp\.avi/);
    expect(reasons('README.md')[0]).toMatch(/not an action folder/);
    expect(reasons('person02_walking_d1')[0]).toMatch(/inside the boxing folder/);
    expect(reasons('person05_boxing_d1')[0]).toMatch(/no .*frames/);
    expect(index.entries.some((e) => e.name === 'person02_walking_d1' || e.name === 'person05_boxing_d1')).toBe(false);
  });

  it('reads 00sequences.txt segments as the reference does', () => {
    expect(index.sequencesFile).toBe(join(root, '00sequences.txt'));
    expect(entry('person01_boxing_d1').segments).toEqual([
      [1, 9],
      [2, 19],
    ]);
    expect(entry('person17_boxing_d1').segments).toEqual([[0, 40]]);
    expect(index.problems.some((p) => p.path.endsWith('person22_boxing_d1') && /not listed/.test(p.reason))).toBe(true);
  });

  it('rejects a missing, empty or non-KTH root with an InputError naming kth', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'kth-empty-'));
    const other = mkdtempSync(join(tmpdir(), 'kth-other-'));
    writeFileSync(join(other, 'cat.jpg'), 'x');
    try {
      for (const [dir, pattern] of [
        [join(empty, 'nope'), /does not exist/],
        [empty, /is empty/],
        [other, /no KTH layout/],
      ] as const) {
        const err = await scanKth(dir).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(InputError);
        expect((err as InputError).field).toBe('kth');
        expect((err as Error).message).toMatch(pattern);
      }
    } finally {
      rmSync(empty, { recursive: true, force: true });
      rmSync(other, { recursive: true, force: true });
    }
  });
});

describe('splitByPerson', () => {
  it('puts each person in exactly one split: 1-16 train, 17-20 val, 21-25 test (the reference)', () => {
    const s = splitByPerson(index);
    const persons = (es: KthEntry[]): number[] => [...new Set(es.map((e) => e.person))].sort((a, b) => a - b);
    expect(persons(s.train)).toEqual([1, 3]);
    expect(persons(s.val)).toEqual([17]);
    expect(persons(s.test)).toEqual([21, 22]);
    expect(s.unassigned).toEqual([]);
    expect(s.train.length + s.val.length + s.test.length).toBe(index.entries.length);
    const all = [...KTH_REFERENCE_SPLIT.train, ...KTH_REFERENCE_SPLIT.val, ...KTH_REFERENCE_SPLIT.test];
    expect([...all].sort((a, b) => a - b)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
  });

  it('rejects a person listed in two splits', () => {
    expect(() => splitByPerson(index, { train: [1, 2], val: [2], test: [] })).toThrow(/person 2 is also in train/);
  });
});

describe('loadKthVideo', () => {
  it('resizes frame folders to 32x32 gray in [0, 1]', async () => {
    const v = await loadKthVideo(entry('person01_boxing_d1'));
    expect(v.shape).toEqual([T, 32, 32]);
    expect(Math.min(...v.frames)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...v.frames)).toBeLessThanOrEqual(1);
    // The square is there (bright) and the background keeps its level 20/255.
    expect(Math.max(...v.frames.subarray(0, 1024))).toBeGreaterThan(0.8);
    expect(v.frames[0]).toBeCloseTo(20 / 255, 5);
    const small = await loadKthVideo(entry('person01_boxing_d1'), { size: [12, 16] });
    expect(small.shape).toEqual([T, 12, 16]);
  });

  it('decodes PNG frames (gray and RGB, all five row filters) to the same pixels as PGM', async () => {
    const fromPgm = await loadKthVideo(entry('person01_boxing_d1'), { size: [H, W] });
    for (const name of ['person03_handwaving_d4', 'person03_handwaving_d3']) {
      const fromPng = await loadKthVideo(entry(name), { size: [H, W] });
      expect(fromPng.shape).toEqual([T, H, W]);
      let maxDiff = 0;
      for (let i = 0; i < fromPng.frames.length; i++) maxDiff = Math.max(maxDiff, Math.abs(fromPng.frames[i] - fromPgm.frames[i]));
      expect(maxDiff).toBeLessThan(1e-6);
    }
  });

  it('area-averages when shrinking and keeps constants constant', () => {
    const src = Float32Array.from([0, 1, 0.5, 0.5, 1, 0, 0.5, 0.5, 0.2, 0.2, 0, 0, 0.2, 0.2, 1, 1]);
    expect(Array.from(resizeGray(src, 4, 4, 2, 2))).toEqual([0.5, 0.5, 0.2, 0.5].map((x) => Math.fround(x)));
    const up = resizeGray(new Float32Array(30 * 40).fill(0.25), 30, 40, 32, 32);
    for (const x of up) expect(x).toBeCloseTo(0.25, 6);
  });

  it('says clearly when ffmpeg is not on PATH, and when a given ffmpeg path does not exist', async () => {
    const video = entry('person21_running_d2');
    const missing = await loadKthVideo(video, { env: { PATH: '' } }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(InputError);
    expect((missing as InputError).field).toBe('kth');
    expect((missing as Error).message).toBe(`kth: ${FFMPEG_MISSING}`);
    expect(FFMPEG_MISSING).toMatch(/ffmpeg is not on PATH: install it .* or give folders of extracted frames/);
    const wrong = await loadKthVideo(video, { ffmpeg: join(root, 'no-such-ffmpeg') }).catch((e: unknown) => e);
    expect((wrong as Error).message).toMatch(/ffmpeg was not found at ".*no-such-ffmpeg"/);
  });

  it.skipIf(!hasFfmpeg)('decodes a real video with ffmpeg (gray, area-resized, [0, 1]) close to its frames', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kth-video-'));
    try {
      mkdirSync(join(dir, 'jogging'));
      const frames = join(dir, 'src');
      writeFrames(frames, 'pgm');
      const avi = join(dir, 'jogging', 'person09_jogging_d3_uncomp.avi');
      const made = spawnSync('ffmpeg', ['-v', 'error', '-framerate', '25', '-i', join(frames, 'frame%d.pgm'), '-c:v', 'ffv1', '-pix_fmt', 'gray', avi]);
      expect(made.status, made.stderr?.toString()).toBe(0);
      const idx = await scanKth(dir);
      expect(idx.entries.map((e) => [e.name, e.kind])).toEqual([['person09_jogging_d3', 'video']]);
      const v = await loadKthVideo(idx.entries[0]);
      expect(v.shape).toEqual([T, 32, 32]);
      const ref = await loadKthVideo({ ...idx.entries[0], kind: 'frames', frameFiles: Array.from({ length: T }, (_, t) => join(frames, `frame${t + 1}.pgm`)) });
      let mean = 0;
      for (let i = 0; i < v.frames.length; i++) mean += Math.abs(v.frames[i] - ref.frames[i]) / v.frames.length;
      expect(mean).toBeLessThan(0.03);
      const broken = await loadKthVideo(entry('person21_running_d2')).catch((e: unknown) => e);
      expect((broken as Error).message).toMatch(/ffmpeg could not decode/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** A static clip with one bright pixel at (y0, x0). */
function dotClip(t: number, h: number, w: number, y0: number, x0: number): GrayVideo {
  const frames = new Float32Array(t * h * w);
  for (let f = 0; f < t; f++) frames[f * h * w + y0 * w + x0] = 1;
  return { frames, shape: [t, h, w] };
}
const argmax = (a: Float32Array): number => a.reduce((best, x, i) => (x > a[best] ? i : best), 0);
const mod = (a: number, n: number): number => ((a % n) + n) % n;

describe('moving clips', () => {
  it('sampleClip cuts 16 frames at the given stride, deterministically per rng seed', async () => {
    const v = await loadKthVideo(entry('person01_boxing_d1'));
    const a = sampleClip(v, 16, createRng(5));
    const b = sampleClip(v, 16, createRng(5));
    expect(a.shape).toEqual([16, 32, 32]);
    expect(a.start).toBe(b.start);
    expect(a.frames).toEqual(b.frames);
    expect(a.start).toBeGreaterThanOrEqual(0);
    expect(a.start).toBeLessThanOrEqual(T - 16);
    expect(a.frames.subarray(0, 1024)).toEqual(v.frames.subarray(a.start * 1024, (a.start + 1) * 1024));
    const starts = new Set(Array.from({ length: 200 }, (_, s) => sampleClip(v, 16, createRng(s)).start));
    expect([...starts].sort()).toEqual([0, 1, 2, 3, 4]);
    const strided = sampleClip(v, 8, createRng(1), { step: 2, segment: [2, 19] });
    expect(strided.start).toBeGreaterThanOrEqual(2);
    expect(strided.start).toBeLessThanOrEqual(19 - 16 + 1);
    expect(strided.frames.subarray(1024, 2048)).toEqual(v.frames.subarray((strided.start + 2) * 1024, (strided.start + 3) * 1024));
    expect(() => sampleClip(v, 16, createRng(1), { step: 2 })).toThrow(/need 32 source frames/);
  });

  it('translation moves content v pixels per frame with wrap-around (torch.roll convention)', () => {
    const clip = dotClip(16, 32, 32, 3, 30);
    const out = translateClip(clip, { vx: 2, vy: -1 });
    for (let t = 0; t < 16; t++) {
      const k = argmax(out.subarray(t * 1024, (t + 1) * 1024));
      expect([Math.floor(k / 32), k % 32]).toEqual([mod(3 - t, 32), mod(30 + 2 * t, 32)]);
    }
    // Real content: every frame of the moved clip is the source frame rolled by (vy*t, vx*t).
    const src = sampleClip(
      { frames: Float32Array.from({ length: 16 * 30 * 40 }, (_, i) => ((i * 7919) % 1000) / 1000), shape: [16, 30, 40] },
      16,
      createRng(0),
    );
    const moved = applyRandomTranslation(src, 2, createRng(3));
    const { vx, vy } = moved.velocity;
    for (let t = 0; t < 16; t += 5) {
      for (const [i, j] of [
        [0, 0],
        [7, 39],
        [29, 13],
      ]) {
        expect(moved.frames[t * 1200 + i * 40 + j]).toBe(src.frames[t * 1200 + mod(i - vy * t, 30) * 40 + mod(j - vx * t, 40)]);
      }
    }
  });

  it('draws velocities uniformly over -R..R per axis', () => {
    const rng = createRng(9);
    const seen = new Set<string>();
    for (let i = 0; i < 400; i++) {
      const { velocity } = applyRandomTranslation(dotClip(2, 4, 4, 0, 0), { vx: 2, vy: 1 }, rng);
      expect(Math.abs(velocity.vx)).toBeLessThanOrEqual(2);
      expect(Math.abs(velocity.vy)).toBeLessThanOrEqual(1);
      seen.add(`${velocity.vx},${velocity.vy}`);
    }
    expect(seen.size).toBe(15);
  });

  it('KthClipSource gives [B, 16, 32, 32, 1] batches and labels, the same for the same seed', async () => {
    const train = splitByPerson(index).train.filter((e) => e.kind === 'frames');
    const videos = await Promise.all(train.map(async (e) => ({ video: await loadKthVideo(e), label: e.label })));
    const make = (seed: number): KthClipSource => new KthClipSource(videos, { clipLen: 16, step: 1, velocityRange: 2, hflip: true }, seed);
    const a = make(7).batch(1, 3);
    const b = make(7).batch(1, 3);
    expect(a.shape).toEqual([3, 16, 32, 32, 1]);
    expect(a.frames.length).toBe(3 * 16 * 32 * 32);
    expect(a).toEqual(b);
    expect(make(8).batch(1, 3).frames).not.toEqual(a.frames);
    // Batch i is clips i*B .. i*B+B-1 of one stream, in any request order.
    const s = make(7);
    const whole = s.batch(0, 6);
    expect(whole.frames.subarray(3 * 16 * 1024)).toEqual(a.frames);
    expect(Array.from(whole.labels.subarray(3))).toEqual(Array.from(a.labels));
    for (let k = 0; k < 6; k++) expect(whole.labels[k]).toBe(videos[s.segments[whole.segments[k]].video].label);
    expect(new Set(whole.labels)).toEqual(new Set(train.map((e) => e.label)));
    for (const v of whole.velocities) expect(Math.abs(v)).toBeLessThanOrEqual(2);
    // One velocity per segment (the reference's fixed per-sequence velocities).
    const bySeg = new Map<number, string>();
    const many = s.batch(0, 40);
    for (let k = 0; k < 40; k++) {
      const key = `${many.velocities[2 * k]},${many.velocities[2 * k + 1]}`;
      expect(bySeg.get(many.segments[k]) ?? key).toBe(key);
      bySeg.set(many.segments[k], key);
    }
  });

  it('KthClipSource drops segments too short for a clip and rejects bad configs', async () => {
    const v = await loadKthVideo(entry('person01_boxing_d1'));
    const src = new KthClipSource(
      [
        {
          video: v,
          label: 3,
          segments: [
            [0, 9],
            [2, 19],
          ],
        },
      ],
      { clipLen: 16, step: 1 },
      1,
    );
    expect(src.segments).toEqual([{ video: 0, range: [2, 19] }]);
    expect(() => new KthClipSource([{ video: v, label: 3 }], { clipLen: 16 }, 1)).toThrow(/need/); // step 2 needs 32 frames
    expect(() => new KthClipSource([{ video: v, label: 3 }], { clipLen: 16, velocty: 1 } as never, 1)).toThrow(/unknown field/);
  });
});
