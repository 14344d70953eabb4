import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runRecordSchema, trainConfigSchema, type RunRecord, type RunStatus } from '../../src/core/protocol/run';

/** The models, statuses and tasks the generated runs cycle through. */
const MODELS = ['fernn', 'grnn', 'grnn-plus'] as const;
const STATUSES: RunStatus[] = ['completed', 'completed', 'failed', 'cancelled', 'completed', 'interrupted'];

/** What generated run i is, so a test can count the rows a filter should give without reading the store. */
export interface GeneratedRun {
  id: string;
  name: string;
  model: (typeof MODELS)[number];
  status: RunStatus;
  task: 'prediction' | 'classification';
  sweep: string | null;
  testMse: number | null;
  testAccuracy: number | null;
}

/**
 * Run i of a generated store: names `run-00042`, models cycling fernn / grnn / grnn-plus, one run in 7 a
 * classification run, one in 5 without a test figure, every 10 consecutive runs of the first 200 a sweep
 * (`sweep-000` ...), and test MSEs that are all different and not in creation order (i * 7919 mod n).
 */
export function generatedRun(i: number, n: number): GeneratedRun {
  const model = MODELS[i % MODELS.length];
  const task = i % 7 === 3 ? 'classification' : 'prediction';
  const scored = i % 5 !== 4;
  const rank = (i * 7919) % n;
  return {
    id: `20260101-${String(i).padStart(6, '0')}-${model}-gen`,
    name: `run-${String(i).padStart(5, '0')}`,
    model,
    status: STATUSES[i % STATUSES.length],
    task,
    sweep: i < 200 ? `sweep-${String(Math.floor(i / 10)).padStart(3, '0')}` : null,
    testMse: scored && task === 'prediction' ? 0.01 + rank / n : null,
    testAccuracy: scored && task === 'classification' ? rank / n : null,
  };
}

function record(g: GeneratedRun, i: number): RunRecord {
  const config = trainConfigSchema.parse({
    model: g.model,
    vRange: g.model === 'grnn' ? 0 : 1,
    hidden: 8,
    steps: 100,
    task: g.task,
    imageSize: 16,
  });
  const t = new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString();
  return runRecordSchema.parse({
    format: 'fernn-lab-run',
    formatVersion: 1,
    id: g.id,
    name: g.name,
    ...(g.sweep ? { sweep: { id: g.sweep, index: i % 10 } } : {}),
    createdAt: t,
    updatedAt: t,
    status: g.status,
    ...(g.status === 'failed' ? { endReason: 'error', endMessage: 'generated' } : {}),
    config,
    seeds: { init: i, data: i },
    backend: { name: 'wasm', detail: 'generated' },
    versions: {},
    params: 1234,
    owner: null,
    progress: { step: 100, epoch: 1, lastTrainLoss: 0.1, bestValMse: g.task === 'prediction' ? 0.05 : null, bestStep: 100, checkpointStep: 100 },
    timings: { startedAt: t, endedAt: t, trainMs: 1000, msPerStepMedian: 10 },
    results: g.task === 'prediction' ? { testMse: g.testMse } : { testAccuracy: g.testAccuracy },
  });
}

/**
 * Writes n run folders (run.json and an empty metrics.jsonl each) into the store root, as the run store lays them
 * out; returns what each run is. Nothing is trained: these are records for the list, not runs to open.
 */
export async function writeManyRuns(root: string, n: number): Promise<GeneratedRun[]> {
  const runs = Array.from({ length: n }, (_, i) => generatedRun(i, n));
  await mkdir(root, { recursive: true });
  const BATCH = 64;
  for (let s = 0; s < n; s += BATCH) {
    await Promise.all(
      runs.slice(s, s + BATCH).map(async (g, k) => {
        const dir = join(root, g.id);
        await mkdir(join(dir, 'checkpoints'), { recursive: true });
        await writeFile(join(dir, 'metrics.jsonl'), '');
        await writeFile(join(dir, 'run.json'), JSON.stringify(record(g, s + k), null, 2) + '\n');
      }),
    );
  }
  return runs;
}
