// The `frames` dataset kind's pieces: windows cut from clips with a stride, held-out splits by clip (never a clip in
// two splits), and the loader's batches being those windows of the decoded frames.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFrameFolder } from '../helpers/clipFolders';
import { trainConfigSchema } from '../../src/core/protocol/run';
import { InputError } from '../../src/core/util/errors';
import { clipSplitWindows, framesPrediction } from '../../src/node/data/datasets/frames';
import { clipWindows, decodeClip, scanClipFolder, windowCount } from '../../src/node/data/userFrames';

describe('windows cut from clips', () => {
  it('start `stride` frames apart and never run past the clip', () => {
    expect(windowCount(12, 5, 5)).toBe(2);
    expect(windowCount(12, 5, 2)).toBe(4);
    expect(windowCount(5, 5, 3)).toBe(1);
    expect(windowCount(4, 5, 1)).toBe(0);
    expect(clipWindows([12, 9], [1, 0], 5, 3)).toEqual([
      { clip: 1, start: 0 },
      { clip: 1, start: 3 },
      { clip: 0, start: 0 },
      { clip: 0, start: 3 },
      { clip: 0, start: 6 },
    ]);
  });
});

describe('held-out splits by clip', () => {
  it('never put windows of one clip in two splits, and together hold every window once', () => {
    for (const clips of [3, 4, 7, 10, 25, 61]) {
      const counts = Array.from({ length: clips }, (_, i) => 5 + ((i * 7) % 11));
      for (let seed = 0; seed < 20; seed++) {
        const s = clipSplitWindows(counts, seed, { val: true, test: true }, { frames: 5, stride: 2 }, '/data/clips');
        const owner = new Map<number, string>();
        for (const part of ['train', 'val', 'test'] as const) {
          expect(s[part].length, `${clips} clips, seed ${seed}: ${part}`).toBeGreaterThan(0);
          for (const w of s[part]) {
            expect(owner.get(w.clip) ?? part, `clip ${w.clip} (seed ${seed})`).toBe(part);
            owner.set(w.clip, part);
          }
        }
        const all = [...s.train, ...s.val, ...s.test].map((w) => `${w.clip}:${w.start}`).sort();
        expect(all).toEqual(
          clipWindows(counts, [...counts.keys()], 5, 2)
            .map((w) => `${w.clip}:${w.start}`)
            .sort(),
        );
      }
    }
  });

  it('are seeded, hold out 10% of the clips each (at least one), and refuse to leave nothing to train on', () => {
    const counts = Array.from({ length: 30 }, () => 5);
    const a = clipSplitWindows(counts, 3, { val: true, test: true }, { frames: 5, stride: 5 }, 'p');
    expect(clipSplitWindows(counts, 3, { val: true, test: true }, { frames: 5, stride: 5 }, 'p')).toEqual(a);
    expect(clipSplitWindows(counts, 4, { val: true, test: true }, { frames: 5, stride: 5 }, 'p')).not.toEqual(a);
    expect([a.train.length, a.val.length, a.test.length]).toEqual([24, 3, 3]);
    // A split with a folder of its own holds out nothing for it.
    const own = clipSplitWindows(counts, 3, { val: false, test: true }, { frames: 5, stride: 5 }, 'p');
    expect([own.train.length, own.val.length, own.test.length]).toEqual([27, 0, 3]);
    expect(() => clipSplitWindows([9, 9], 0, { val: true, test: true }, { frames: 5, stride: 5 }, '/d')).toThrow(InputError);
    expect(() => clipSplitWindows([9, 9], 0, { val: true, test: true }, { frames: 5, stride: 5 }, '/d')).toThrow(/\/d: 2 clips leave none to train on/);
  });
});

describe('framesPrediction', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'fernn-frames-unit-'));
    // 10 clips of 7 frames, each on its own background, so each window's frames say which clip it is.
    for (let i = 0; i < 10; i++) writeFrameFolder(join(dir, `c${i}`), { frames: 7, width: 8, height: 8, offset: i, background: 10 + 5 * i });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('batches are the windows of the decoded clips, and no clip of the validation or test windows is trained on', async () => {
    const config = trainConfigSchema.parse({
      model: 'grnn',
      vRange: 0,
      hidden: 2,
      steps: 1,
      dataset: 'frames',
      dataDir: dir,
      imageSize: 8,
      inputFrames: 2,
      predFrames: 1,
      dataStride: 2,
    });
    const data = await framesPrediction(config, 5);
    // 7 frames, windows of 3 every 2 frames: 3 per clip; 8 clips train, 1 val, 1 test.
    expect([data.epochSize, data.valSize, data.testSize]).toEqual([24, 3, 3]);
    const folder = await scanClipFolder(dir, 'dataDir');
    const decoded = await Promise.all(folder.clips.map((c) => decodeClip(c, 8, { frames: 3, what: '' }, 'dataDir')));
    const per = 3 * 64;
    /** Which (clip, start) a window's frames are. */
    const identify = (frames: Float32Array): string => {
      for (const [i, d] of decoded.entries())
        for (let start = 0; start + 3 <= 7; start += 2) {
          const w = d.video.frames.subarray(start * 64, start * 64 + per);
          if (w.every((v, k) => v === frames[k])) return `${i}:${start}`;
        }
      throw new Error('a batch window is no window of the clips');
    };
    const windowsOf = (src: typeof data.train, n: number): string[] => {
      const b = src.batch(0, n);
      expect(b.shape).toEqual([n, 3, 8, 8, 1]);
      return Array.from({ length: n }, (_, j) => identify(b.frames.subarray(j * per, (j + 1) * per)));
    };
    const train = windowsOf(data.train, 24);
    const val = windowsOf(data.val, 3);
    const test = windowsOf(data.test, 3);
    expect(new Set(train).size).toBe(24); // one epoch: every training window once (shuffled)
    const clipOf = (ws: string[]): Set<string> => new Set(ws.map((w) => w.split(':')[0]));
    const [tc, vc, sc] = [clipOf(train), clipOf(val), clipOf(test)];
    expect([tc.size, vc.size, sc.size]).toEqual([8, 1, 1]);
    for (const c of vc) expect(tc.has(c) || sc.has(c)).toBe(false);
    for (const c of sc) expect(tc.has(c)).toBe(false);
    expect(val).toEqual([...val].sort()); // validation in folder order
  });
});
