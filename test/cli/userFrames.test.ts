// The CLI on a user's own clips (dataset kind `frames`): `train --data FOLDER` with PNG frame folders and a video
// trains end to end and records the folder in run.json; each bad folder exits 2 naming the flag and the file, and
// leaves no run in the store.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, expectBadInput, killLiveClis } from '../helpers/cli';
import { hasFfmpeg, videoFromFrames, writeFrameFolder } from '../helpers/clipFolders';
import { runRecordSchema } from '../../src/core/protocol/run';
import { FFMPEG_MISSING } from '../../src/node/data/kth';

const W = 10;
const H = 9;
const FFMPEG = hasFfmpeg();
if (!FFMPEG) console.warn('userFrames.test: ffmpeg is not on PATH: the cases with a video are skipped');

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'fernn-frames-'));
});
afterAll(() => {
  killLiveClis();
  rmSync(dir, { recursive: true, force: true });
});

/** Run folders in a store (each has a run.json). */
const runsIn = (store: string): string[] => (existsSync(store) ? readdirSync(store).filter((n) => existsSync(join(store, n, 'run.json'))) : []);

/** A folder of `clips` PNG frame folders of `frames` frames each (clip i's square starts i pixels further right). */
function clipFolder(name: string, clips: number, frames = 12): string {
  const root = join(dir, name);
  for (let i = 0; i < clips; i++) writeFrameFolder(join(root, `clip${i}`), { frames, width: W, height: H, offset: i });
  return root;
}

/** A tiny prediction run (8 px, windows of 3 + 2 frames, 2 steps, wasm) on `data` into `store`. */
const tiny = (data: string, store: string, extra: string[] = []): string[] => [
  'train',
  ...['--data', data, '--model', 'grnn', '--hidden', '2', '--image-size', '8', '--batch', '2', '--steps', '2', '--input-frames', '3', '--pred-frames', '2'],
  ...['--val-every', '2', '--backend', 'wasm', '--store', store, '--json'],
  ...extra,
];

describe('train --data FOLDER: a folder of frame folders and videos', () => {
  it.skipIf(!FFMPEG)(
    'picks the frames kind, trains to a finite test MSE and records the folder (sha256, clips, windows, frame size)',
    async () => {
      const data = clipFolder('clips', 4); // 4 frame folders of 12 frames ...
      videoFromFrames(writeFrameFolder(join(dir, 'video-src'), { frames: 12, width: W, height: H, offset: 5 }), join(data, 'moving.mkv')); // ... and a video
      writeFileSync(join(data, '.DS_Store'), 'ignored'); // hidden files are not clips
      const store = join(dir, 'store-ok');
      const r = await cli(tiny(data, store));
      expect(r.code, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout) as { run_id: string; status: string; dataset: string; test_mse: number };
      expect(out).toMatchObject({ status: 'completed', dataset: 'frames' });
      expect(Number.isFinite(out.test_mse)).toBe(true);
      const rec = runRecordSchema.parse(JSON.parse(readFileSync(join(store, out.run_id, 'run.json'), 'utf8')));
      // 5 clips of 12 frames, windows of 5 frames side by side (the default stride): 2 windows per clip.
      expect(rec.sources?.data).toEqual([
        { split: 'all', path: data, sha256: expect.stringMatching(/^[0-9a-f]{64}$/), shape: [10, 5, 8, 8], dtype: 'frames', clips: 5 },
      ]);
      // The hash is over the files: one changed frame changes it.
      const before = rec.sources?.data?.[0].sha256;
      writeFrameFolder(join(data, 'clip0'), { frames: 12, width: W, height: H, offset: 3 });
      const again = await cli(tiny(data, store, ['--steps', '1']));
      expect(again.code, again.stderr).toBe(0);
      const rec2 = runRecordSchema.parse(JSON.parse(readFileSync(join(store, (JSON.parse(again.stdout) as { run_id: string }).run_id, 'run.json'), 'utf8')));
      expect(rec2.sources?.data?.[0].sha256).not.toBe(before);
    },
    120_000,
  );

  it('takes validation and test folders and a stride; records each folder', async () => {
    const data = clipFolder('train-clips', 2);
    const val = clipFolder('val-clips', 1);
    const test = clipFolder('test-clips', 1, 9);
    const store = join(dir, 'store-split');
    const r = await cli(tiny(data, store, ['--data-val', val, '--data-test', test, '--data-stride', '2', '--batch-order', 'file']));
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { run_id: string; status: string; test_mse: number };
    expect(out.status).toBe('completed');
    expect(Number.isFinite(out.test_mse)).toBe(true);
    const rec = runRecordSchema.parse(JSON.parse(readFileSync(join(store, out.run_id, 'run.json'), 'utf8')));
    expect(rec.config).toMatchObject({ dataset: 'frames', dataStride: 2, batchOrder: 'file' });
    // 12 frames, windows of 5 every 2 frames: starts 0, 2, 4, 6 (4 windows); 9 frames: starts 0, 2, 4 (3).
    expect(rec.sources?.data?.map((d) => [d.split, d.path, d.shape, d.clips])).toEqual([
      ['all', data, [8, 5, 8, 8], 2],
      ['val', val, [4, 5, 8, 8], 1],
      ['test', test, [3, 5, 8, 8], 1],
    ]);
  }, 60_000);
});

// ---- bad folders: exit 2, the flag and the file named, nothing in the store ----

describe('bad clip folders are refused before the run exists', () => {
  const cases: [string, (store: string) => string[], RegExp][] = [
    [
      'an empty folder',
      (store) => {
        mkdirSync(join(dir, 'empty'), { recursive: true });
        return tiny(join(dir, 'empty'), store);
      },
      /--data: .*empty: the folder is empty/,
    ],
    ['a missing folder', (store) => tiny(join(dir, 'nowhere'), store), /--data: .*nowhere: no such folder/],
    [
      'frames of different sizes inside one frame folder',
      (store) => {
        const root = clipFolder('sizes', 3);
        writeFrameFolder(join(root, 'clip1'), { frames: 12, width: W, height: H, sizeOf: (t) => (t === 6 ? [W + 2, H] : [W, H]) });
        return tiny(root, store);
      },
      /--data: .*sizes\/clip1\/7\.png is 12x9, the folder's first frame \S*1\.png 10x9/,
    ],
    [
      'a clip shorter than one window, saying which and how many frames',
      (store) => {
        const root = clipFolder('short', 3);
        writeFrameFolder(join(root, 'brief'), { frames: 4, width: W, height: H });
        return tiny(root, store);
      },
      /--data: .*short\/brief: 4 frames, fewer than one window of 5 \(input frames \+ predicted frames = 3 \+ 2\)/,
    ],
    [
      'a non-image file in a frame folder',
      (store) => {
        const root = clipFolder('stray', 3);
        writeFileSync(join(root, 'clip2', 'notes.txt'), 'hello');
        return tiny(root, store);
      },
      /--data: .*stray\/clip2\/notes\.txt: not a frame image/,
    ],
    [
      'a file at the top that is neither a video nor a frame folder',
      (store) => {
        const root = clipFolder('toplevel', 3);
        writeFileSync(join(root, 'README.txt'), 'about my clips');
        return tiny(root, store);
      },
      /--data: .*toplevel\/README\.txt: not a video .* or a folder of frames/,
    ],
    [
      'a PNG that is not one',
      (store) => {
        const root = clipFolder('fakepng', 3);
        writeFileSync(join(root, 'clip0', '5.png'), 'not a png');
        return tiny(root, store);
      },
      /--data: .*fakepng\/clip0\/5\.png: not a PNG/,
    ],
    [
      'a video ffmpeg cannot read',
      (store) => {
        const root = clipFolder('badvideo', 3);
        writeFileSync(join(root, 'broken.mp4'), 'these bytes are no video');
        return tiny(root, store);
      },
      /--data: ffmpeg could not decode .*badvideo\/broken\.mp4/,
    ],
    [
      'nothing left to train on (two clips, validation and test held out)',
      (store) => tiny(clipFolder('two', 2), store),
      /--data: .*two: 2 clips leave none to train on after holding out 2 for validation\/test/,
    ],
    [
      'an empty validation folder',
      (store) => {
        mkdirSync(join(dir, 'empty-val'), { recursive: true });
        return tiny(clipFolder('main-v', 3), store, ['--data-val', join(dir, 'empty-val')]);
      },
      /--data-val: .*empty-val: the folder is empty/,
    ],
    [
      'a test folder with a clip shorter than one window',
      (store) => tiny(clipFolder('main-t', 3), store, ['--data-test', clipFolder('short-test', 1, 3)]),
      /--data-test: .*short-test\/clip0: 3 frames, fewer than one window of 5/,
    ],
    [
      'a stride on a dataset that is not cut from clips',
      (store) => ['train', '--model', 'grnn', '--hidden', '2', '--steps', '1', '--data-stride', '2', '--store', store],
      /--data-stride: a stride is for datasets cut from clips into windows \(frames\), not Flowing MNIST/,
    ],
  ];
  it.each(cases)(
    '%s',
    async (name, args, message) => {
      if (name.includes('ffmpeg') && !FFMPEG) return;
      const store = join(dir, `store-${name.replace(/[^a-z]+/g, '-')}`);
      const r = await cli(args(store));
      expectBadInput(r, message);
      expect(runsIn(store)).toEqual([]);
    },
    60_000,
  );

  it('a video without ffmpeg on PATH names the flag', async () => {
    const root = clipFolder('noffmpeg', 3);
    writeFileSync(join(root, 'a.mp4'), 'whatever');
    const store = join(dir, 'store-noffmpeg');
    const r = await cli(tiny(root, store), { PATH: join(dir, 'no-such-bin') });
    expectBadInput(r, new RegExp(`--data: ${FFMPEG_MISSING.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    expect(runsIn(store)).toEqual([]);
  }, 60_000);
});
