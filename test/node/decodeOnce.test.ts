// Users' files are read once per use: `eval/predict --data` on a clip folder decodes each clip once (the reader's one
// pass gives the record and the sequences) and reads a .npy once; a `frames` run and a `class-folders` run decode each
// clip / video once when they start (the service's inspect hands what it decoded to the run's worker); startRun walks
// a class-folders tree once (the walk gives the classes for the memory check and the run's parameter count). Decodes and walks are counted by
// wrapping the readers (vi.mock keeps the real ones); the service's worker is the built bundle, whose own reads
// are shown by taking the files away once startRun has returned.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { writeFrameFolder } from '../helpers/clipFolders';
import { trainConfigSchema, type TrainConfigInput } from '../../src/core/protocol/run';
import { encodeNpy } from '../../src/node/npy';
import { loadKthVideo } from '../../src/node/data/kth';
import { scanClassFolders } from '../../src/node/data/classFolders';
import { loadUserSequences } from '../../src/node/data/userSequences';
import { framesPrediction, inspectFramesData } from '../../src/node/data/datasets/frames';
import { classFoldersClassification, walkClassFolders } from '../../src/node/data/datasets/classFolders';
import { SPLITS } from '../../src/node/data/datasets/loader';
import { hashClipFolder, scanClipFolder } from '../../src/node/data/userFrames';
import { createLabService, type LabService } from '../../src/node/lab/labService';
import type * as FsPromises from 'node:fs/promises';
import type * as KthModule from '../../src/node/data/kth';
import type * as ClassFoldersModule from '../../src/node/data/classFolders';

vi.mock('../../src/node/data/kth', async (importOriginal) => {
  const real = await importOriginal<typeof KthModule>();
  return { ...real, loadKthVideo: vi.fn(real.loadKthVideo) };
});
vi.mock('../../src/node/data/classFolders', async (importOriginal) => {
  const real = await importOriginal<typeof ClassFoldersModule>();
  return { ...real, scanClassFolders: vi.fn(real.scanClassFolders) };
});
vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof FsPromises>();
  return { ...real, open: vi.fn(real.open) };
});

const decodes = vi.mocked(loadKthVideo);
const walks = vi.mocked(scanClassFolders);
const { open } = await import('node:fs/promises');
const opens = vi.mocked(open);
/** How many calls of `fn` so far were for `path` (their first argument, a path or an item with one). */
const callsFor = (fn: { mock: { calls: unknown[][] } }, path: string): number =>
  fn.mock.calls.filter((c) => {
    const a = c[0];
    return (typeof a === 'string' ? a : (a as { path?: string }).path) === path;
  }).length;

const CLIPS = 5;
let dir: string;
let clips: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'fernn-decode-once-'));
  clips = join(dir, 'clips');
  for (let i = 0; i < CLIPS; i++) writeFrameFolder(join(clips, `clip${i}`), { frames: 10, width: 12, height: 12, offset: i, background: 10 + 20 * i });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => vi.clearAllMocks());

const clipDecodes = (root: string): number => decodes.mock.calls.filter(([item]) => item.path.startsWith(`${root}/`)).length;

describe('eval / predict --data', () => {
  it('decode each clip of a folder once, and record the folder as a scan would', async () => {
    const got = await loadUserSequences(clips, 'data', { frames: { inputFrames: 3, predFrames: 2 }, size: { height: 8, width: 8, what: 'run r' } });
    expect(clipDecodes(clips)).toBe(CLIPS);
    expect(got.source).toEqual({
      kind: 'frames',
      path: clips,
      sha256: await hashClipFolder(await scanClipFolder(clips, 'data')),
      shape: [CLIPS * 2, 5, 8, 8],
      dtype: 'frames',
    });
    expect(got.count).toBe(CLIPS * 2);
    expect(got.sequences.batch(0, 1).shape).toEqual([1, 5, 8, 8, 1]);
  });

  it('read a .npy file once, its sha256 from that read', async () => {
    const file = join(dir, 'seq.npy');
    const values = Float32Array.from({ length: 3 * 5 * 8 * 8 }, (_, i) => (i % 7) / 7);
    writeFileSync(file, encodeNpy(values, [3, 5, 8, 8]));
    const got = await loadUserSequences(file, 'data', { frames: { inputFrames: 3, predFrames: 2 } });
    expect(callsFor(opens, file)).toBe(1);
    expect(got.source).toEqual({
      kind: 'npy',
      path: file,
      sha256: createHash('sha256').update(readFileSync(file)).digest('hex'),
      shape: [3, 5, 8, 8],
      dtype: 'float32',
    });
    expect(got.sequences.batch(2, 1).frames).toEqual(values.subarray(2 * 320, 3 * 320));
  });
});

/** A tiny prediction run on a folder of clips (windows of 3 + 2 frames at 8x8). */
const framesConfig = (root: string, backend: 'cpu' | 'wasm') =>
  ({
    dataset: 'frames',
    dataDir: root,
    model: 'grnn',
    vRange: 0,
    hidden: 2,
    imageSize: 8,
    inputFrames: 3,
    predFrames: 2,
    batch: 2,
    steps: 2,
    backend,
  }) satisfies TrainConfigInput;

describe('a frames run', () => {
  it('is loaded from the clips its inspect decoded: one decode per clip, the same batches as decoding anew', async () => {
    const c = trainConfigSchema.parse(framesConfig(clips, 'cpu'));
    const inspected = await inspectFramesData(c, { decoded: true });
    expect(clipDecodes(clips)).toBe(CLIPS);
    const reused = await framesPrediction(c, 5, inspected.decoded);
    expect(clipDecodes(clips)).toBe(CLIPS);
    const fresh = await framesPrediction(c, 5);
    expect(clipDecodes(clips)).toBe(2 * CLIPS);
    for (const part of ['train', 'val', 'test'] as const) expect(reused[part].batch(1, 2)).toEqual(fresh[part].batch(1, 2));
    // A check alone keeps nothing.
    expect((await inspectFramesData(c)).decoded).toBeUndefined();
  });
});

/** A tree of 2 classes (left, right) of 4 frame-folder videos each. */
const writeClassTree = (root: string): void => {
  for (const [k, name] of ['left', 'right'].entries())
    for (let v = 0; v < 4; v++) writeFrameFolder(join(root, name, `v${v}`), { frames: 8, width: 12, height: 12, offset: v + 4 * k });
};
const classConfig = (root: string, backend: 'cpu' | 'wasm') =>
  ({
    task: 'classification',
    dataset: 'class-folders',
    dataDir: root,
    model: 'grnn',
    vRange: 0,
    hidden: 2,
    imageSize: 8,
    inputFrames: 3,
    batch: 2,
    steps: 2,
    valSequences: 2,
    testSequences: 2,
    backend,
  }) satisfies TrainConfigInput;
const VIDEOS = 8;

describe('a class-folders run', () => {
  it('is loaded from the videos its inspect decoded: one decode per video, the same batches as decoding anew', async () => {
    const root = join(dir, 'unit-classes');
    writeClassTree(root);
    const c = trainConfigSchema.parse(classConfig(root, 'cpu'));
    const inspected = await (await walkClassFolders(c)).inspect({ decoded: true });
    expect(clipDecodes(root)).toBe(VIDEOS);
    const load = { testRange: 0, splits: SPLITS };
    const reused = await classFoldersClassification(c, 5, { ...load, ...(inspected.decoded ? { decoded: inspected.decoded } : {}) });
    expect(clipDecodes(root)).toBe(VIDEOS);
    const fresh = await classFoldersClassification(c, 5, load);
    expect(clipDecodes(root)).toBe(2 * VIDEOS);
    for (const part of ['train', 'val', 'test'] as const) expect(reused[part].batch(1, 2)).toEqual(fresh[part].batch(1, 2));
    expect(reused.note).toBe(fresh.note);
    // A check alone keeps nothing.
    expect((await (await walkClassFolders(c)).inspect()).decoded).toBeUndefined();
  });
});

describe('startRun', () => {
  let lab: LabService;
  beforeAll(async () => {
    lab = await createLabService({
      storeRoot: join(dir, 'runs'),
      shell: { kind: 'web' },
      workerPath: resolve('dist/labWorker.js'),
      flowsFile: join(dir, 'flows.json'),
    });
  });
  afterAll(async () => {
    await lab.dispose();
  });

  it("of a frames run decodes each clip once: the run's worker trains on the clips the service decoded", async () => {
    const own = join(dir, 'own-clips');
    for (let i = 0; i < CLIPS; i++) writeFrameFolder(join(own, `clip${i}`), { frames: 10, width: 12, height: 12, offset: i });
    const rec = await lab.startRun({ config: framesConfig(own, 'wasm') });
    expect(clipDecodes(own)).toBe(CLIPS);
    // Taken away before the worker could read them: a worker that decoded the folder again would fail the run.
    rmSync(own, { recursive: true, force: true });
    await lab.whenIdle(rec.id);
    const done = await lab.store.get(rec.id);
    expect(done.endMessage ?? '').toBe('');
    expect(done.status).toBe('completed');
    expect(done.sources?.data?.[0]).toMatchObject({ path: own, clips: CLIPS, shape: [CLIPS * 2, 5, 8, 8] });
  });

  it('of a class-folders run walks the tree once (classes for the memory check and the parameter count)', async () => {
    const root = join(dir, 'classes');
    writeClassTree(root);
    const rec = await lab.startRun({ config: classConfig(root, 'wasm') });
    expect(callsFor(walks, root)).toBe(1);
    expect(rec.sources?.data?.[0].classes?.map((c) => c.name)).toEqual(['left', 'right']);
    await lab.whenIdle(rec.id);
    expect((await lab.store.get(rec.id)).status).toBe('completed');
  });

  it("of a class-folders run decodes each video once: the run's worker trains on the videos the service decoded", async () => {
    const root = join(dir, 'own-classes');
    writeClassTree(root);
    const rec = await lab.startRun({ config: classConfig(root, 'wasm') });
    expect(clipDecodes(root)).toBe(VIDEOS);
    // Taken away before the worker could read them: a worker that decoded the folders again would fail the run.
    rmSync(root, { recursive: true, force: true });
    await lab.whenIdle(rec.id);
    const done = await lab.store.get(rec.id);
    expect(done.endMessage ?? '').toBe('');
    expect(done.status).toBe('completed');
    expect(done.sources?.data?.[0]).toMatchObject({
      path: root,
      shape: [VIDEOS],
      classes: [
        { name: 'left', videos: 4 },
        { name: 'right', videos: 4 },
      ],
    });
  });
});
