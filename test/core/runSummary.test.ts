import { describe, expect, it } from 'vitest';
import { runRecordSchema, trainConfigSchema, type RunRecord } from '../../src/core/protocol/run';
import { SUMMARY_CONFIG_FIELDS, SUMMARY_RECORD_FIELDS, toRunSummary } from '../../src/core/protocol/runSummary';
import { filterRuns, sortRuns, taskOf } from '../../src/renderer/runList';
import { modelLabel } from '../../src/renderer/format';

const t = '2026-01-01T00:00:00.000Z';
const full = (over: Partial<RunRecord> = {}): RunRecord =>
  runRecordSchema.parse({
    format: 'fernn-lab-run',
    formatVersion: 1,
    id: '20260101-000000-fernn-v1-ab12',
    name: 'baseline',
    sweep: { id: 'sw-1', index: 3 },
    createdAt: t,
    updatedAt: t,
    status: 'failed',
    endReason: 'error',
    endMessage: 'boom',
    config: trainConfigSchema.parse({ model: 'fernn', vRange: 1, hidden: 8, steps: 100, imageSize: 16, dataVelocities: [{ vx: 1, vy: 0 }] }),
    sources: { init: { path: '/w.safetensors', sha256: 'ab', format: 'safetensors' } },
    seeds: { init: 1, data: 2 },
    backend: { name: 'wasm', detail: 'simd', gpu: false },
    versions: { node: '22', os: 'linux' },
    params: 1234,
    owner: { pid: 1, host: 'h', heartbeatAt: t },
    progress: { step: 40, epoch: 1, lastTrainLoss: 0.1, bestValMse: 0.05, bestStep: 40, checkpointStep: 40 },
    timings: { startedAt: t, endedAt: t, trainMs: 1000, msPerStepMedian: 10 },
    continuations: [{ fromStep: 50, toStep: 100, at: t }],
    results: { testMse: 0.04, testSource: { checkpoint: 'best', step: 40, sequences: 32 } },
    ...over,
  });

describe('run summary (listRuns)', () => {
  it('keeps exactly the listed fields of the record and of its config, with their values', () => {
    const r = full();
    const s = toRunSummary(r);
    expect(Object.keys(s).sort()).toEqual([...SUMMARY_RECORD_FIELDS, 'config'].sort());
    for (const k of SUMMARY_RECORD_FIELDS) expect(s[k]).toEqual(r[k]);
    expect(Object.keys(s.config).sort()).toEqual(SUMMARY_CONFIG_FIELDS.filter((k) => r.config[k] !== undefined).sort());
    for (const k of SUMMARY_CONFIG_FIELDS) expect(s.config[k]).toEqual(r.config[k]);
    // What only the run page needs stays with getRun.
    for (const k of ['seeds', 'versions', 'sources', 'owner', 'timings', 'continuations', 'format', 'formatVersion']) expect(s).not.toHaveProperty(k);
    for (const k of ['lr', 'seed', 'valEvery', 'imageSize', 'batch']) expect(s.config).not.toHaveProperty(k);
    expect(JSON.stringify(s).length).toBeLessThan(JSON.stringify(r).length / 2);
  });

  it('leaves optional fields out when the run has none (no name, sweep, end reason or results)', () => {
    const r = full();
    for (const k of ['name', 'sweep', 'endReason', 'endMessage', 'results'] as const) delete r[k];
    delete r.config.dataVelocities;
    const s = toRunSummary(r);
    for (const k of ['name', 'sweep', 'endReason', 'endMessage', 'results']) expect(s).not.toHaveProperty(k);
    expect(s.config).not.toHaveProperty('dataVelocities');
  });

  it('is what the run list searches, filters, sorts and labels by: the same answers as for the full records', () => {
    const runs = [full(), full({ id: 'b-grnn', name: 'other', status: 'completed', sweep: undefined, results: { testMse: 0.02 } })];
    runs[1].config = trainConfigSchema.parse({ model: 'grnn', vRange: 0, hidden: 8, steps: 100, task: 'classification' });
    const sums = runs.map(toRunSummary);
    const ids = (xs: readonly { id: string }[]) => xs.map((x) => x.id);
    for (const q of [{ text: 'fernn' }, { text: 'sw-1' }, { model: 'grnn' }, { status: 'failed' as const }, { task: 'classification' as const }]) {
      const query = { text: '', model: '', status: '' as const, task: '' as const, sweep: '', ...q };
      expect(ids(filterRuns(sums, query))).toEqual(ids(filterRuns(runs, query)));
    }
    expect(ids(sortRuns(sums, 'testMse', 'asc'))).toEqual(ids(sortRuns(runs, 'testMse', 'asc')));
    expect(sums.map((s) => [taskOf(s), modelLabel(s.config)])).toEqual(runs.map((r) => [taskOf(r), modelLabel(r.config)]));
  });
});
