import { describe, expect, it } from 'vitest';
import type { RunSummary } from '../../src/core/protocol/runSummary';
import { listHead } from '../../src/core/protocol/runSummary';
import { DEFAULT_QUERY, listItems, type RunListItem } from '../../src/renderer/runList';
import { createRng } from '../../src/core/util/rng';

/** A store's summaries, newest first as listRuns gives them: runs alone and sweeps whose runs are spread in time. */
function store(n: number, seed: number): RunSummary[] {
  const rng = createRng(seed);
  const rand = () => rng.next();
  const runs: RunSummary[] = [];
  for (let i = 0; i < n; i++) {
    const inSweep = rand() < 0.4;
    const sweep = inSweep ? { id: `sweep-${Math.floor(rand() * Math.max(1, n / 25))}`, index: i } : undefined;
    const scored = rand() < 0.8;
    runs.push({
      id: `run-${String(i).padStart(5, '0')}`,
      ...(sweep ? { sweep } : {}),
      createdAt: new Date(Date.UTC(2026, 0, 1) + i * 60_000 + (rand() < 0.1 ? 0 : 1)).toISOString(),
      updatedAt: '2026-01-01T00:00:00.000Z',
      status: 'completed',
      progress: { step: 10, epoch: 1, lastTrainLoss: 0.1, bestValMse: 0.1, bestStep: 10, checkpointStep: 10 },
      results: { testMse: scored ? rand() : null },
      params: 1,
      config: { task: 'prediction', dataset: 'flowing-mnist', model: 'grnn', vRange: 0, hidden: 4, steps: 10, dataVRange: 2, backend: 'auto' },
    } as unknown as RunSummary);
  }
  // Newest first, ties by id, as the store lists them.
  return runs.sort((a, b) => (a.createdAt === b.createdAt ? (a.id < b.id ? 1 : -1) : a.createdAt < b.createdAt ? 1 : -1));
}

const row = (it: RunListItem) => (it.kind === 'run' ? `run ${it.run.id}` : `sweep ${it.sweep} ${it.runs} ${it.open} ${it.best?.id ?? '-'}`);

describe('the head of the run list (the page draws it before reading the rest, issue 16)', () => {
  it('gives the Runs view the same opening rows as the whole list', () => {
    for (const [n, seed] of [
      [5000, 1],
      [300, 2],
      [120, 3],
      [40, 4],
      [2000, 5],
    ]) {
      const runs = store(n, seed);
      const head = listHead(runs, 100);
      const rows = Math.min(100, listItems(runs, DEFAULT_QUERY, new Set()).length);
      expect(listItems(head, DEFAULT_QUERY, new Set()).slice(0, rows).map(row), `n=${n}`).toEqual(
        listItems(runs, DEFAULT_QUERY, new Set()).slice(0, rows).map(row),
      );
      expect(head.length, `n=${n}`).toBeLessThanOrEqual(runs.length);
      if (n >= 2000) expect(head.length).toBeLessThan(n / 4);
    }
  });

  it('takes every run of a sweep it shows, and keeps the list order', () => {
    const runs = store(3000, 7);
    const head = listHead(runs, 50);
    const sweeps = new Set(head.flatMap((r) => (r.sweep ? [r.sweep.id] : [])));
    for (const s of sweeps) expect(head.filter((r) => r.sweep?.id === s).length).toBe(runs.filter((r) => r.sweep?.id === s).length);
    const order = new Map(runs.map((r, i) => [r.id, i]));
    expect(head.map((r) => order.get(r.id)!)).toEqual([...head.map((r) => order.get(r.id)!)].sort((a, b) => a - b));
  });

  it('is the whole list when the list has fewer rows', () => {
    const runs = store(30, 9);
    expect(listHead(runs, 100)).toEqual(runs);
  });
});
