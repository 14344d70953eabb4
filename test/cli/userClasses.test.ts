// Classification on the users' own class folders (dataset kind class-folders): a tiny run end to end with the folder
// names as class names in run.json, the CLI's confusion matrix and `runs show --json`; each bad folder exits 2
// naming the field and the folder or file, and leaves the store empty.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, expectBadInput, killLiveClis } from '../helpers/cli';
import { writeBarFrames, writeTestVideo } from '../helpers/classFolders';
import { runRecordSchema } from '../../src/core/protocol/run';

let dir: string;
/** across: 3 PNG frame folders and 1 video; along: 3 PNG frame folders. */
let classes: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'fernn-classes-'));
  classes = join(dir, 'classes');
  for (let i = 0; i < 3; i++) {
    writeBarFrames(join(classes, 'across', `clip${i}`), { frames: 8, bar: 'across', offset: i });
    writeBarFrames(join(classes, 'along', `clip${i}`), { frames: 8, bar: 'along', offset: i });
  }
  writeTestVideo(join(classes, 'across', 'video.avi'), 8);
});
afterAll(() => {
  killLiveClis();
  rmSync(dir, { recursive: true, force: true });
});

/** A tiny classification run's flags (8 px, 3 input frames: videos need 6 frames; 2 steps on wasm). */
const TINY = ['--task', 'classification', '--model', 'grnn', '--hidden', '2', '--image-size', '8', '--input-frames', '3', '--batch', '2', '--steps', '2'];
const TAIL = ['--val-every', '2', '--val-sequences', '2', '--test-sequences', '4', '--backend', 'wasm'];

/** What a store folder holds (nothing at all after bad input: no run, no half-made folder). */
const storeEntries = (store: string): string[] => (existsSync(store) ? readdirSync(store) : []);

/** A copy of the good class folders under a new name, changed by `edit`. */
function variant(name: string, edit: (root: string) => void): string {
  const root = join(dir, name);
  cpSync(classes, root, { recursive: true });
  edit(root);
  return root;
}

describe('train --task classification on class folders', () => {
  it('trains end to end and reports accuracy and the confusion matrix under the folder names', async () => {
    const store = join(dir, 'store-ok');
    const r = await cli(['train', ...TINY, ...TAIL, '--data', classes, '--store', store, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const id = (JSON.parse(r.stdout) as { run_id: string }).run_id;

    const shown = await cli(['runs', 'show', id, '--store', store, '--json']);
    expect(shown.code, shown.stderr).toBe(0);
    const d = JSON.parse(shown.stdout) as { run: unknown; evals: Record<string, { accuracy: number; confusion: number[][] }> };
    const run = runRecordSchema.parse(d.run);
    expect(run.config.dataset).toBe('class-folders');
    expect(run.status).toBe('completed');
    expect(run.results?.testAccuracy).toBeTypeOf('number');
    // Recorded before the run existed: the folder, its hash, its classes (sorted names) and their videos.
    const [data] = run.sources?.data ?? [];
    expect(data).toMatchObject({
      split: 'all',
      path: classes,
      shape: [7],
      classes: [
        { name: 'across', videos: 4 },
        { name: 'along', videos: 3 },
      ],
    });
    expect(data.sha256).toMatch(/^[0-9a-f]{64}$/);
    const confusion = d.evals['test-accuracy'].confusion;
    expect(confusion).toHaveLength(2);
    // 4 test clips from the held-out videos (one per class), every clip counted once.
    expect(confusion.flat().reduce((a, b) => a + b, 0)).toBe(4);

    const text = await cli(['runs', 'show', id, '--store', store]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/true \\ pred\s+across\s+along/);
    expect(text.stdout).toMatch(/\n\s*across\s+\d+\s+\d+/);
    const evald = await cli(['eval', id, '--kinds', 'test', '--sequences', '4', '--store', store]);
    expect(evald.code, evald.stderr).toBe(0);
    expect(evald.stdout).toMatch(/test accuracy [\d.]+% over 4 clips/);
    expect(evald.stdout).toMatch(/true \\ pred\s+across\s+along/);
  }, 300_000);

  it('takes validation and test folders with the same classes', async () => {
    const store = join(dir, 'store-split');
    const r = await cli(['train', ...TINY, ...TAIL, '--data', classes, '--data-val', classes, '--data-test', classes, '--store', store, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const id = (JSON.parse(r.stdout) as { run_id: string }).run_id;
    const run = runRecordSchema.parse((JSON.parse((await cli(['runs', 'show', id, '--store', store, '--json'])).stdout) as { run: unknown }).run);
    expect(run.sources?.data?.map((s) => s.split)).toEqual(['all', 'val', 'test']);
  }, 300_000);
});

describe('bad class folders: exit 2 naming the field and the folder or file, nothing in the store', () => {
  const bad: { name: string; make: () => string[]; message: RegExp }[] = [
    {
      name: 'an empty class folder',
      make: () => ['--data', variant('empty', (root) => mkdirSync(join(root, 'idle')))],
      message: /--data: the class folder \S*empty\/idle is empty/,
    },
    {
      name: 'fewer than 2 classes',
      make: () => ['--data', variant('one', (root) => rmSync(join(root, 'along'), { recursive: true }))],
      message: /--data: \S*one holds 1 class folder \(across\): classification needs at least 2/,
    },
    {
      name: 'a video ffmpeg cannot read',
      make: () => ['--data', variant('broken', (root) => writeFileSync(join(root, 'along', 'broken.avi'), 'not a video at all'))],
      message: /--data: ffmpeg could not decode \S*broken\/along\/broken\.avi/,
    },
    {
      name: 'frames of different sizes',
      make: () => [
        '--data',
        variant('sizes', (root) => writeBarFrames(join(root, 'along', 'mixed'), { frames: 8, bar: 'along', size: (t) => (t < 4 ? 16 : 12) })),
      ],
      message: /--data: \S*sizes\/along\/mixed\/0005\.png is 12x12, the folder's first frame \S*0001\.png 16x16/,
    },
    {
      name: 'a validation folder with other classes',
      make: () => ['--data', classes, '--data-val', variant('otherval', (root) => cpSync(join(root, 'along'), join(root, 'zigzag'), { recursive: true }))],
      message: /--data-val: \S*otherval has classes across, along, zigzag; the training folder \S*classes has across, along: they must be the same/,
    },
    {
      name: 'a test folder with other classes',
      make: () => ['--data', classes, '--data-test', variant('othertest', (root) => renameSync(join(root, 'along'), join(root, 'sideways')))],
      message: /--data-test: \S*othertest has classes across, sideways; the training folder \S*classes has across, along/,
    },
    {
      name: 'too few videos to hold out',
      make: () => ['--data', variant('few', (root) => rmSync(join(root, 'along', 'clip2'), { recursive: true }))],
      message: /--data: \S*few\/along has 2 videos: too few to hold out 2 for validation and test/,
    },
  ];
  for (const c of bad) {
    it(
      c.name,
      async () => {
        const store = join(dir, `store-${c.name.replace(/\W+/g, '-')}`);
        const r = await cli(['train', ...TINY, ...TAIL, ...c.make(), '--store', store]);
        expectBadInput(r, c.message);
        expect(storeEntries(store)).toEqual([]);
      },
      120_000,
    );
  }
});
