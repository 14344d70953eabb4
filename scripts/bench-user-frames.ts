// Peak memory and time when a `frames` run starts on a larger clip folder: 40 clips x 60 PNG frames of 64x64 (made
// by test/helpers/clipFolders.ts), frame size 28, windows of 10 + 10 frames, a tiny G-RNN on wasm for 2 steps, through
// the lab service as the CLI and the app start runs (startRun: memory check, the folder's inspect, the run, its
// worker loading the clips). With `--kind class-folders`: a classification run on the same videos in 2 class folders
// (clips of 10 input frames, 8 validation and 8 test clips). Needs the built worker (`npm run build` first).
//   startRun      ms until startRun returned (the inspect: every clip checked before the run exists)
//   total         ms until the run's worker ended
//   maxRss        the process's peak resident set (process.resourceUsage().maxRSS: main thread and worker together),
//                 after startRun and at the end, MiB
//   rssBefore     resident set before startRun, MiB
//   heapPeak      the main thread's peak V8 heap used during startRun (sampled each 5 ms, and after each await), MiB
// Usage: npm run bench:user-frames [-- --clips N --frames N --side N --kind frames|class-folders] (bundled like `npm run bench`: tfjs-core does
// not load under tsx). Prints one JSON line;
// docs/benchmarks.md records the figures.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFrameFolder } from '../test/helpers/clipFolders';
import { createLabService } from '../src/node/lab/labService';

const num = (flag: string, fallback: number): number => {
  const i = process.argv.indexOf(flag);
  const n = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(n) || n < 1 || n > 100_000) {
    console.error(`${flag}: a whole number 1..100000`);
    process.exit(2);
  }
  return n;
};
const CLIPS = num('--clips', 40);
const FRAMES = num('--frames', 60);
const SIDE = num('--side', 64);
const kindAt = process.argv.indexOf('--kind');
const KIND = kindAt >= 0 ? process.argv[kindAt + 1] : 'frames';
if (KIND !== 'frames' && KIND !== 'class-folders') {
  console.error('--kind: frames or class-folders');
  process.exit(2);
}
const MiB = (bytes: number): number => Math.round((bytes / 2 ** 20) * 10) / 10;

const dir = mkdtempSync(join(tmpdir(), 'fernn-bench-frames-'));
try {
  const data = join(dir, 'clips');
  // class-folders: clips alternate between the classes a and b.
  const clipDir = (i: number): string => (KIND === 'frames' ? join(data, `clip${i}`) : join(data, i % 2 ? 'b' : 'a', `clip${i}`));
  for (let i = 0; i < CLIPS; i++) writeFrameFolder(clipDir(i), { frames: FRAMES, width: SIDE, height: SIDE, offset: i });
  const common = {
    dataDir: data,
    model: 'grnn',
    vRange: 0,
    hidden: 4,
    imageSize: 28,
    inputFrames: 10,
    batch: 4,
    steps: 2,
    valEvery: 2,
    backend: 'wasm',
  } as const;
  const lab = await createLabService({ storeRoot: join(dir, 'runs'), shell: { kind: 'web' }, flowsFile: join(dir, 'flows.json') });
  global.gc?.();
  const rssBefore = process.memoryUsage().rss;
  let heapPeak = process.memoryUsage().heapUsed;
  const sample = setInterval(() => (heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed)), 5);
  const t0 = performance.now();
  const rec = await lab.startRun({
    config:
      KIND === 'frames'
        ? { ...common, dataset: 'frames', predFrames: 10 }
        : { ...common, task: 'classification', dataset: 'class-folders', valSequences: 8, testSequences: 8 },
  });
  const startMs = performance.now() - t0;
  heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
  clearInterval(sample);
  const maxRssStart = process.resourceUsage().maxRSS * 1024;
  await lab.whenIdle(rec.id);
  const totalMs = performance.now() - t0;
  const end = await lab.store.get(rec.id);
  await lab.dispose();
  console.log(
    JSON.stringify({
      kind: KIND,
      clips: CLIPS,
      frames: FRAMES,
      side: SIDE,
      imageSize: 28,
      status: end.status,
      ...(end.endMessage ? { endMessage: end.endMessage } : {}),
      windows: end.sources?.data?.[0]?.shape,
      startRunMs: Math.round(startMs),
      totalMs: Math.round(totalMs),
      rssBeforeMiB: MiB(rssBefore),
      maxRssAfterStartMiB: MiB(maxRssStart),
      maxRssEndMiB: MiB(process.resourceUsage().maxRSS * 1024),
      heapPeakDuringStartMiB: MiB(heapPeak),
    }),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
