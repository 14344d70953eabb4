import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trainConfigSchema } from '../../src/core/protocol/run';
import { createLabService, type LabService } from '../../src/node/lab/labService';
import { writeNpySequences } from '../helpers/npySequences';
import { runLocalSweep } from '../../src/node/sweeps/localExecutor';
import { runMember } from '../../src/node/sweeps/member';
import { claimMember } from '../../src/node/sweeps/memberClaim';
import { sweepSettled, sweepStatus } from '../../src/node/sweeps/sweepStatus';
import { createSweep, memberRunId, readSweep, sweepsRootFor } from '../../src/node/sweeps/sweepStore';

const config = trainConfigSchema.parse({
  model: 'grnn',
  vRange: 0,
  hidden: 2,
  imageSize: 8,
  batch: 2,
  steps: 3,
  valEvery: 3,
  valSequences: 4,
  testSequences: 4,
  inputFrames: 3,
  predFrames: 2,
  backend: 'cpu',
});

let root = '';
let lab: LabService;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'fernn-member-'));
  lab = await createLabService({ storeRoot: join(root, 'runs'), shell: { kind: 'web' } });
});
afterAll(() => lab.dispose());

describe('sweep member task', () => {
  it('creates the run with its fixed id once, is a no-op when completed, and skips a member owned elsewhere', async () => {
    const { dir, sweep } = await createSweep(lab.store.root, {
      name: 'm',
      spec: { name: 'm', base: {}, grid: { seed: [0, 1] } },
      executor: { kind: 'local', parallel: 1 },
      members: [0, 1].map((seed) => ({ index: seed, overrides: { seed }, group: '(all)', config: { ...config, seed } })),
    });
    expect(dir.startsWith(sweepsRootFor(lab.store.root))).toBe(true);
    expect(await readSweep(dir)).toEqual(sweep);
    // A creator killed between mkdir and run.json left an empty folder: the claim holder redoes it.
    await mkdir(lab.store.runDir(memberRunId(sweep.id, 0)));
    const first = await runMember(lab, dir, sweep, 0, { job: null });
    expect(first.kind === 'ran' && first.run.status).toBe('completed');
    expect(first.kind === 'ran' && first.run.sweep).toEqual({ id: sweep.id, index: 0 });
    expect(first.kind === 'ran' && first.run.id).toBe(memberRunId(sweep.id, 0));
    const again = await runMember(lab, dir, sweep, 0, { job: null });
    expect(again.kind).toBe('already-completed');
    const held = await claimMember(dir, 1, 'other', process.ppid);
    expect(held.ok).toBe(true);
    expect((await runMember(lab, dir, sweep, 1, { job: null })).kind).toBe('owned-elsewhere');
    await expect(runMember(lab, dir, sweep, 7, { job: null })).rejects.toThrow(/index: sweep .* has members 0..1; got 7/);
  });
});

const npy = writeNpySequences;

describe('a member whose data stop reading after the sweep was made', () => {
  it('ends failed with the reason naming the file; the pool goes on with the other members', { timeout: 120_000 }, async () => {
    const good = await npy(join(root, 'good.npy'));
    const later = await npy(join(root, 'later.npy'));
    const onNpy = (data: string, seed: number) => trainConfigSchema.parse({ ...config, dataset: 'npy', dataDir: data, seed });
    const plan = [
      { data: good, seed: 0 },
      { data: later, seed: 0 },
      { data: good, seed: 1 },
    ];
    const { dir, sweep } = await createSweep(lab.store.root, {
      name: 'broken-data',
      spec: { name: 'broken-data', base: {}, variants: plan.map((p) => ({ data: p.data, seed: p.seed })), grid: {} },
      executor: { kind: 'local', parallel: 1 },
      members: plan.map((p, index) => ({ index, overrides: { data: p.data, seed: p.seed }, group: `data=${p.data}`, config: onNpy(p.data, p.seed) })),
    });
    // Truncated after the sweep was made (it read then), before any member starts.
    await writeFile(later, (await readFile(later)).subarray(0, 200));
    const outcomes = await runLocalSweep(lab, dir, sweep, { parallel: 1 });
    const runOf = (i: number) => {
      const o = outcomes.get(i);
      return o?.kind === 'ran' ? o.run : null;
    };
    expect([0, 1, 2].map((i) => runOf(i)?.status)).toEqual(['completed', 'failed', 'completed']);
    const failed = await lab.store.get(memberRunId(sweep.id, 1));
    expect(failed).toMatchObject({ status: 'failed', endReason: 'error', sweep: { id: sweep.id, index: 1 }, owner: null });
    expect(failed.endMessage).toMatch(/^config\.dataDir: \S*later\.npy: shape \(10, 5, 8, 8\) needs 12800 data bytes, the file has 72$/);
    expect(failed.sources).toBeUndefined();
    expect((await lab.store.listSummaries()).runs.find((r) => r.id === failed.id)?.status).toBe('failed');
    // The aggregate counts only what completed: the broken file's group has no figure, the good one both seeds.
    const st = await sweepStatus(lab.store, dir, sweep);
    expect(st.members.map((m) => m.status)).toEqual(['completed', 'failed', 'completed']);
    expect(st.groups.map((g) => [g.n, g.completed, g.test_mse === null])).toEqual([
      [2, 2, false],
      [1, 0, true],
    ]);
    expect(sweepSettled(st)).toBe(true);
    // Resumed once the file is whole again, the member reads it anew, records it and completes.
    await npy(later);
    const again = await runMember(lab, dir, sweep, 1, { job: null });
    expect(again.kind === 'ran' && again.run.status).toBe('completed');
    expect(again.kind === 'ran' && again.run.sources?.data?.[0]).toMatchObject({ path: later });
  });
});

describe('the local pool', () => {
  it('a member that throws ends alone: its queued run is failed with the message, the next member still runs', { timeout: 120_000 }, async () => {
    const { dir, sweep } = await createSweep(lab.store.root, {
      name: 'throws',
      spec: { name: 'throws', base: {}, grid: { seed: [0, 1] } },
      executor: { kind: 'local', parallel: 1 },
      members: [0, 1].map((seed) => ({ index: seed, overrides: { seed }, group: '(all)', config: { ...config, seed } })),
    });
    const first = memberRunId(sweep.id, 0);
    // The service refuses to train member 0 (as a store it cannot write would): runMember rejects after creating it.
    const refusing: LabService = {
      ...lab,
      resumeRun: (raw) => ((raw as { id: string }).id === first ? Promise.reject(new Error('disk full\n  at x')) : lab.resumeRun(raw)),
    };
    const outcomes = await runLocalSweep(refusing, dir, sweep, { parallel: 1 });
    expect(outcomes.get(0)).toEqual({ kind: 'error', message: 'disk full' });
    expect(await lab.store.get(first)).toMatchObject({ status: 'failed', endReason: 'error', endMessage: 'disk full' });
    const second = outcomes.get(1);
    expect(second?.kind === 'ran' && second.run.status).toBe('completed');
  });
});
