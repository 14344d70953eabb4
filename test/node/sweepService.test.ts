import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { presetPlan } from '../../src/core/protocol/presets';
import type { ProgressEvent } from '../../src/core/protocol/run';
import { sweepsRootFor } from '../../src/node/sweeps/sweepStore';
import { TINY_MEMBER, useGatedLab } from '../helpers/sweeps';

const svc = useGatedLab('fernn-sweep-svc-');
const base = TINY_MEMBER;
const settled = svc.settled;

describe('the lab service runs sweeps in its own pool', () => {
  it('validates every member before creating anything: the error names the member and the field', async () => {
    await expect(svc.lab.createSweep({ name: 'bad', base, grid: { model: ['grnn', 'fernn'], vRange: [0, 7] }, seeds: 1 })).rejects.toThrow(
      /^grid\.vRange: member 1 \(model=grnn, vRange=7, seed=0\): .*<= ?4/,
    );
    await expect(svc.lab.createSweep({ name: 'bad', base: { ...base, hidden: 0 }, seeds: 2 })).rejects.toThrow(/^base\.hidden: member 0 \(seed=0\)/);
    await expect(svc.lab.createSweep({ name: 'bad', base, grid: { seed: [1, 2] } })).rejects.toThrow(/^grid\.seed: seeds come from `seeds`/);
    await expect(svc.lab.createSweep({ name: 'a/b', base })).rejects.toThrow(/^name: /);
    await expect(svc.lab.getSweep({ id: '../x' })).rejects.toThrow(/^id: must be a sweep id/);
    expect(existsSync(sweepsRootFor(svc.lab.store.root))).toBe(false);
    const ex = await svc.lab.sweepExecutors();
    expect(ex.local.available).toBe(true);
    expect(typeof ex.slurm.reason).toBe('string');
  });

  it('refuses a sweep with a paper-scale member on wasm before any member is created (the one memory check of startRun)', async () => {
    const paper = presetPlan('translating-mnist', 'paper').runs.find((c) => c.model === 'fernn' && c.vRange === 2)!;
    // Member 0 (batch 2) fits; member 1 (the paper's batch 128) does not: neither is created, nor the sweep.
    const req = { name: 'paper', base: { ...paper, backend: 'wasm' as const }, grid: { batch: [2, 128] }, seeds: 1 };
    await expect(svc.lab.createSweep(req)).rejects.toThrow(
      /^grid\.batch: member 1 \(batch=128, seed=0\): this config needs about [\d.]+ GB at its peak on wasm, beyond its 4 GiB limit: batch \d+ fits .*GPU backend/,
    );
    await expect(svc.lab.createSweep({ ...req, base: { ...req.base, batch: 128 }, grid: {} })).rejects.toThrow(
      /^base\.batch: member 0 \(seed=0\): .*4 GiB limit/,
    );
    expect(existsSync(sweepsRootFor(svc.lab.store.root))).toBe(false);
    expect((await svc.lab.listRuns()).runs).toEqual([]);
  });

  it('creates a 2 models x 2 seeds sweep: member progress events, cancel ends the running member cancelled, resume completes all', async () => {
    const gate = await svc.gates.hold('svc/0', 2);
    const events: ProgressEvent[] = [];
    const off = svc.lab.onDidProgress((e) => events.push(e));
    // A model axis without a vRange axis: the G-RNN members get V = {0}, the FERNN ones the base's vRange 1.
    const created = await svc.lab.createSweep({
      name: 'svc',
      base: { ...base, vRange: 1 },
      grid: { model: ['grnn', 'fernn'] },
      seeds: 2,
      executor: { kind: 'local', parallel: 1 },
    });
    const id = created.status.sweep_id;
    expect(created.status.members.map((m) => m.overrides)).toEqual([
      { model: 'grnn', seed: 0 },
      { model: 'grnn', seed: 1 },
      { model: 'fernn', seed: 0 },
      { model: 'fernn', seed: 1 },
    ]);
    expect(created.memberGroups).toEqual(['model=grnn', 'model=grnn', 'model=fernn', 'model=fernn']);
    expect(created.active).toBe(true);
    expect(await svc.lab.listSweeps()).toEqual([expect.objectContaining({ id, name: 'svc', members: 4, cancelled: false })]);

    await gate.parked();
    const parked = await svc.lab.getSweep({ id });
    expect(parked.status.members.map((m) => m.status)).toEqual(['running', 'pending', 'pending', 'pending']);
    expect(parked.progress[0]).toEqual({ index: 0, step: 2, steps: 6 });
    expect(events.some((e) => e.sweep?.id === id && e.sweep.index === 0 && e.step === 2)).toBe(true);

    const cancelled = await svc.lab.cancelSweep({ id });
    expect(cancelled.status.members.map((m) => m.status)).toEqual(['cancelled', 'pending', 'pending', 'pending']);
    expect([cancelled.cancelled, cancelled.active]).toEqual([true, false]);

    await gate.release();
    await svc.lab.resumeSweep({ id });
    const done = await settled(id, (d) => !d.active && d.status.members.every((m) => m.status === 'completed'));
    off();
    expect(done.cancelled).toBe(false);
    expect(done.status.groups.map((g) => [g.key, g.n, g.completed, g.test_mse?.ci95 !== null])).toEqual([
      ['model=grnn', 2, 2, true],
      ['model=fernn', 2, 2, true],
    ]);
    const configs = await Promise.all(done.status.members.map(async (m) => (await svc.lab.store.get(m.run_id)).config));
    expect(configs.map((c) => [c.model, c.vRange, c.seed])).toEqual([
      ['grnn', 0, 0],
      ['grnn', 0, 1],
      ['fernn', 1, 0],
      ['fernn', 1, 1],
    ]);
    // Member 0 went on from its checkpoint; the mean curves cover every step with n = 2.
    const { records } = await svc.lab.store.readMetrics(done.status.members[0].run_id);
    expect(records.some((r) => r.kind === 'event' && r.event === 'resumed' && r.step === 2)).toBe(true);
    expect(done.curves[0].train.map((p) => [p.step, p.n])).toEqual([1, 2, 3, 4, 5, 6].map((s) => [s, 2]));
    expect(done.curves[0].val.map((p) => p.step)).toEqual([3, 6]);
    expect(done.progress.every((p) => p.step === 6)).toBe(true);
    await expect(svc.lab.resumeSweep({ id })).resolves.toMatchObject({ active: false });
  });
});
