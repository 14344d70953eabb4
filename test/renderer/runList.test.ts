import { describe, expect, it } from 'vitest';
import { runRecordSchema, trainConfigSchema, type RunRecord, type RunStatus } from '../../src/core/protocol/run';
import { DEFAULT_QUERY, NO_SWEEP, bestOf, filterRuns, listItems, sortRuns, sweepIds, visibleWindow, type RunListQuery } from '../../src/renderer/runList';

let seq = 0;
function run(over: {
  name?: string;
  model?: 'fernn' | 'grnn' | 'grnn-plus';
  status?: RunStatus;
  task?: 'prediction' | 'classification';
  sweep?: string;
  testMse?: number | null;
  testAccuracy?: number | null;
  step?: number;
}): RunRecord {
  const i = seq++;
  const model = over.model ?? 'fernn';
  const t = new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString();
  return runRecordSchema.parse({
    format: 'fernn-lab-run',
    formatVersion: 1,
    id: `r${String(i).padStart(4, '0')}-${model}`,
    ...(over.name !== undefined ? { name: over.name } : {}),
    ...(over.sweep ? { sweep: { id: over.sweep, index: 0 } } : {}),
    createdAt: t,
    updatedAt: t,
    status: over.status ?? 'completed',
    config: trainConfigSchema.parse({ model, vRange: model === 'grnn' ? 0 : 1, hidden: 4, steps: 100, task: over.task ?? 'prediction' }),
    seeds: { init: 0, data: 0 },
    backend: null,
    versions: {},
    params: 1,
    owner: null,
    progress: { step: over.step ?? 100, epoch: 0, lastTrainLoss: null, bestValMse: null, bestStep: null, checkpointStep: null },
    timings: { startedAt: null, endedAt: null, trainMs: 0, msPerStepMedian: null },
    results: { testMse: over.testMse ?? null, testAccuracy: over.testAccuracy ?? null },
  });
}
const q = (over: Partial<RunListQuery>): RunListQuery => ({ ...DEFAULT_QUERY, ...over });
const names = (rs: readonly { name?: string }[]) => rs.map((r) => r.name);

describe('run list: filter', () => {
  const runs = [
    run({ name: 'alpha baseline', model: 'grnn', testMse: 0.3 }),
    run({ name: 'Alpha fernn', model: 'fernn', status: 'failed' }),
    run({ name: 'beta', model: 'grnn-plus', task: 'classification', testAccuracy: 0.8, sweep: 'sw-1' }),
    run({ name: 'gamma', model: 'fernn', sweep: 'sw-1', testMse: 0.1 }),
  ];
  it('searches name, id, model label and sweep, case-insensitively, every word', () => {
    expect(names(filterRuns(runs, q({ text: 'ALPHA' })))).toEqual(['alpha baseline', 'Alpha fernn']);
    expect(names(filterRuns(runs, q({ text: 'alpha fernn-v1' })))).toEqual(['Alpha fernn']);
    expect(names(filterRuns(runs, q({ text: 'g-rnn+' })))).toEqual(['beta']);
    expect(names(filterRuns(runs, q({ text: 'sw-1' })))).toEqual(['beta', 'gamma']);
    expect(names(filterRuns(runs, q({ text: runs[3].id })))).toEqual(['gamma']);
    expect(filterRuns(runs, q({ text: 'alpha zeta' }))).toEqual([]);
  });
  it('filters by model, status, task and sweep, all at once', () => {
    expect(names(filterRuns(runs, q({ model: 'fernn' })))).toEqual(['Alpha fernn', 'gamma']);
    expect(names(filterRuns(runs, q({ status: 'failed' })))).toEqual(['Alpha fernn']);
    expect(names(filterRuns(runs, q({ task: 'classification' })))).toEqual(['beta']);
    expect(names(filterRuns(runs, q({ sweep: 'sw-1' })))).toEqual(['beta', 'gamma']);
    expect(names(filterRuns(runs, q({ sweep: NO_SWEEP })))).toEqual(['alpha baseline', 'Alpha fernn']);
    expect(names(filterRuns(runs, q({ model: 'fernn', sweep: 'sw-1', status: 'completed' })))).toEqual(['gamma']);
  });
});

describe('run list: sort', () => {
  const runs = [
    run({ name: 'b', testMse: 0.2, step: 10 }),
    run({ name: 'a', testMse: null, step: 100 }),
    run({ name: 'c', testMse: 0.05, step: 50 }),
    run({ name: 'd', task: 'classification', testAccuracy: 0.9, step: 70 }),
    run({ name: 'e', testMse: 0.2, step: 20 }),
  ];
  it('sorts by test MSE, best first, runs without one last in either direction; ties newest first', () => {
    expect(names(sortRuns(runs, 'testMse', 'asc'))).toEqual(['c', 'e', 'b', 'd', 'a']);
    expect(names(sortRuns(runs, 'testMse', 'desc'))).toEqual(['e', 'b', 'c', 'd', 'a']);
  });
  it('sorts by test accuracy, name, progress and creation', () => {
    expect(names(sortRuns(runs, 'testAccuracy', 'desc'))[0]).toBe('d');
    expect(names(sortRuns(runs, 'name', 'asc'))).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(names(sortRuns(runs, 'progress', 'desc'))).toEqual(['a', 'd', 'c', 'e', 'b']);
    expect(names(sortRuns(runs, 'created', 'desc'))).toEqual(['e', 'd', 'c', 'a', 'b']);
  });
  it('does not reorder its input', () => {
    const before = names(runs);
    sortRuns(runs, 'name', 'desc');
    expect(names(runs)).toEqual(before);
  });
});

describe('run list: sweep groups', () => {
  const runs = [
    run({ name: 'solo', testMse: 0.5 }),
    run({ name: 's1', sweep: 'sw-a', testMse: 0.4 }),
    run({ name: 's2', sweep: 'sw-a', testMse: 0.1 }),
    run({ name: 'other', testMse: 0.2 }),
    run({ name: 't1', sweep: 'sw-b', testMse: null }),
  ];
  const rows = (items: ReturnType<typeof listItems>) =>
    items.map((it) => (it.kind === 'sweep' ? `[${it.sweep} ${it.runs}${it.open ? ' open' : ''}]` : it.run.name));
  it("shows a sweep as one row at its best member's place, its runs only when open", () => {
    expect(rows(listItems(runs, q({ sort: 'testMse', dir: 'asc' }), new Set())).join(' ')).toBe('[sw-a 2] other solo [sw-b 1]');
    expect(rows(listItems(runs, q({ sort: 'testMse', dir: 'asc' }), new Set(['sw-a']))).join(' ')).toBe('[sw-a 2 open] s2 s1 other solo [sw-b 1]');
    expect(rows(listItems(runs, q({ sort: 'testMse', dir: 'asc', group: false }), new Set())).join(' ')).toBe('s2 other s1 solo t1');
  });
  it('opens the sweep a filter asks for, and names its best run', () => {
    const items = listItems(runs, q({ sweep: 'sw-a' }), new Set());
    expect(rows(items).join(' ')).toBe('[sw-a 2 open] s2 s1');
    const head = items[0];
    expect(head.kind === 'sweep' && head.best?.name).toBe('s2');
    expect(bestOf([runs[4]])).toBeNull();
    expect(sweepIds(runs)).toEqual(['sw-a', 'sw-b']);
  });
});

describe('run list: the rows in sight', () => {
  it('renders the rows in the view and a few beyond, never past the ends', () => {
    expect(visibleWindow(5000, 50, 0, 500, 5)).toEqual({ start: 0, end: 16 });
    expect(visibleWindow(5000, 50, 10_000, 500, 5)).toEqual({ start: 195, end: 216 });
    expect(visibleWindow(5000, 50, 10_000_000, 500, 5)).toEqual({ start: 4984, end: 5000 });
    expect(visibleWindow(3, 50, 0, 500, 5)).toEqual({ start: 0, end: 3 });
    expect(visibleWindow(0, 50, 0, 500, 5)).toEqual({ start: 0, end: 0 });
  });
});
