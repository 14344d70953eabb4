import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { RunStore } from '../../src/node/store/runStore';
import type { SweepStatus } from '../../src/node/sweeps/sweepStatus';
import { gateFolder } from '../helpers/gates';
import { expectBadInput } from '../helpers/cli';
import { BIN, ROOT, TINY_FLAGS, cli, until, writeSpec } from '../helpers/sweeps';

const TINY = TINY_FLAGS;
type SeedsClaimJson = {
  verdict: string;
  summary: string;
  evidence: string[];
  n: number;
  on_mean: string;
  every_seed: boolean;
  per_seed: { seed: number; verdict: string }[];
  figures: { run: string; figure: string; n: number; ci95: [number, number] | null }[];
};

let work = '';
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'fernn-sweep-'));
});

const spec = (name: string, body: object): Promise<string> => writeSpec(work, name, body);

describe('fernn-lab sweep (local executor)', () => {
  it('a bad member is exit code 2 naming the member and the flag, and nothing is created', async () => {
    const store = join(work, 'bad', 'runs');
    const file = await spec('bad', { base: { ...TINY, steps: 4 }, variants: [{ model: 'grnn' }, { model: 'fernn', 'v-range': 7 }], grid: { seed: [0, 1] } });
    const r = await cli(['sweep', 'run', file, '--store', store]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/error: member 2 \(model=fernn, v-range=7, seed=0\): v-range: must be <= 4/);
    expect(existsSync(join(work, 'bad'))).toBe(false);
    const slurmFlag = await cli(['sweep', 'run', await spec('ok', { base: { ...TINY, steps: 4, model: 'grnn' } }), '--store', store, '--partition', 'gpu']);
    expect(slurmFlag.code).toBe(2);
    expect(slurmFlag.stderr).toMatch(/--partition: is a slurm option/);
    expect(existsSync(join(work, 'bad'))).toBe(false);
  });

  it('a member beyond the wasm heap is exit code 2 before any member is created: sweep run and reproduce --seeds', async () => {
    const store = join(work, 'paper', 'runs');
    const paper = { model: 'fernn', 'v-range': 2, hidden: 128, 'decoder-layers': 4, 'image-size': 28, steps: 5, backend: 'wasm' };
    // Member 0 (batch 2) fits, member 1 (the paper's batch 128) does not: neither is created, nor the sweep.
    const r = await cli(['sweep', 'run', await spec('paper', { base: paper, grid: { batch: [2, 128] } }), '--store', store]);
    expectBadInput(
      r,
      /error: batch: member 1 \(batch=128(, seed=0)?\): this config needs about [\d.]+ GB at its peak on wasm, beyond its 4 GiB limit: batch \d+ fits .*GPU backend/,
    );
    const seeds = await cli(['reproduce', 'translating-mnist', '--scale', 'paper', '--seeds', '2', '--backend', 'wasm', '--store', store]);
    expectBadInput(seeds, /error: --batch: member 0 \(model=grnn, v-range=0, seed=0\): .*on wasm, beyond its 4 GiB limit/);
    const once = await cli(['reproduce', 'translating-mnist', '--scale', 'paper', '--backend', 'wasm', '--store', store]);
    expectBadInput(once, /error: --batch: grnn v_range 0: .*on wasm, beyond its 4 GiB limit/);
    expect(existsSync(join(store, '..', 'sweeps'))).toBe(false);
    expect((await new RunStore(store).list()).runs).toEqual([]);
  });

  it('runs every member in a bounded pool and aggregates; ls and show agree', async () => {
    const store = join(work, 'pool', 'runs');
    const file = await spec('pool', { base: { ...TINY, steps: 6 }, variants: [{ model: 'grnn' }, { model: 'fernn', 'v-range': 1 }], grid: { seed: [0, 1] } });
    const r = await cli(['sweep', 'run', file, '--store', store, '--parallel', '2', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as SweepStatus;
    expect(s.members.map((m) => m.status)).toEqual(['completed', 'completed', 'completed', 'completed']);
    expect(s.groups.map((g) => [g.key, g.completed])).toEqual([
      ['model=grnn', 2],
      ['model=fernn,v-range=1', 2],
    ]);
    const show = await cli(['sweep', 'show', s.sweep_id, '--store', store, '--json']);
    expect(JSON.parse(show.stdout)).toEqual(s);
    const csv = (await cli(['sweep', 'show', s.sweep_id, '--store', store, '--csv'])).stdout.trim().split('\n');
    expect(csv[0]).toBe('kind,index,run_id,group,status,metric,value,n,completed,mean,std,ci95_lo,ci95_hi');
    expect(csv).toHaveLength(1 + 4 + 2);
    const g = s.groups[0].test_mse;
    expect(csv[5]).toBe(`group,,,model=grnn,,test_mse,,2,2,${g?.mean},${g?.std},${g?.ci95?.[0]},${g?.ci95?.[1]}`);
    expect(csv[1]).toBe(`member,0,${s.members[0].run_id},model=grnn,completed,test_mse,${s.members[0].test_mse},,,,,,`);
    // Velocity generalisation of the G-RNN members: the group gets mean, std and CI per test-velocity cell.
    for (const m of s.members.slice(0, 2)) {
      const e = await cli(['eval', m.run_id, '--kinds', 'velocity', '--sequences', '2', '--velocity-range', '1', '--store', store]);
      expect(e.code, e.stderr).toBe(0);
    }
    const withGrid = JSON.parse((await cli(['sweep', 'show', s.sweep_id, '--store', store, '--json'])).stdout) as SweepStatus;
    const v = withGrid.groups[0].velocity_mse;
    expect(v?.velocities).toEqual([-1, 0, 1]);
    expect([v?.n, v?.mean.length, v?.mean[0].length, v?.ci95[1][1]?.length]).toEqual([2, 3, 3, 2]);
    expect(withGrid.groups[1].velocity_mse).toBeUndefined();
    const ls = await cli(['sweep', 'ls', '--store', store, '--json']);
    expect(JSON.parse(ls.stdout)).toEqual([expect.objectContaining({ sweep_id: s.sweep_id, members: 4, completed: 4 })]);
    // The run store still lists exactly the members' runs.
    expect((await new RunStore(store).list()).runs.map((x) => x.id).sort()).toEqual(s.members.map((m) => m.run_id).sort());
  });

  it('cancel stops a running member with a checkpoint and leaves the queue; resume completes them all', async () => {
    const store = join(work, 'cancel', 'runs');
    const gates = await gateFolder(join(work, 'gates'));
    const gate = await gates.hold('local-cancel/0', 3);
    const file = await spec('local-cancel', { base: { ...TINY, steps: 8, model: 'grnn' }, grid: { seed: [0, 1] } });
    const env = { ...process.env, FERNN_TEST_GATES: gates.dir };
    const args = [BIN, 'sweep', 'run', file, '--store', store, '--parallel', '1'];
    const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('close', r));
    const id = await until(async () => /sweep (\S+): 2 members/.exec(stderr)?.[1]);
    await gate.parked();
    const c = await cli(['sweep', 'cancel', id, '--store', store]);
    expect(c.code, c.stderr).toBe(0);
    expect(await exited).toBe(0);
    const shown = JSON.parse((await cli(['sweep', 'show', id, '--store', store, '--json'])).stdout) as SweepStatus;
    expect(shown.members.map((m) => m.status)).toEqual(['cancelled', 'pending']);
    await gate.release();
    const r = await cli(['sweep', 'resume', id, '--store', store, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as SweepStatus).members.map((m) => m.status)).toEqual(['completed', 'completed']);
    const { records } = await new RunStore(store).readMetrics(shown.members[0].run_id);
    expect(records.some((m) => m.kind === 'event' && m.event === 'resumed' && m.step === 3)).toBe(true);
  });
  it('reproduce --seeds runs a preset as a sweep: its models x seeds, aggregated per model', async () => {
    const store = join(work, 'reproduce', 'runs');
    const tiny = ['--steps', '3', '--hidden', '2', '--image-size', '8', '--batch', '2', '--val-every', '3', '--val-sequences', '4', '--test-sequences', '4'];
    const r = await cli(
      ['reproduce', 'translating-mnist', '--scale', 'tiny', '--seeds', '2', '--seed', '5', ...tiny, '--backend', 'cpu', '--store', store].concat(['--json']),
    );
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as SweepStatus;
    expect(s.name).toBe('translating-mnist-tiny');
    expect(s.members.map((m) => m.overrides)).toEqual([
      { model: 'grnn', 'v-range': 0, seed: 5 },
      { model: 'grnn', 'v-range': 0, seed: 6 },
      { model: 'fernn', 'v-range': 1, seed: 5 },
      { model: 'fernn', 'v-range': 1, seed: 6 },
    ]);
    expect(s.groups.map((g) => [g.key, g.completed, g.test_mse?.ci95 === null])).toEqual([
      ['model=grnn,v-range=0', 2, false],
      ['model=fernn,v-range=1', 2, false],
    ]);
    const run = await new RunStore(store).get(s.members[3].run_id);
    expect([run.config.seed, run.config.steps, run.config.hidden]).toEqual([6, 3, 2]);
    // The paper's claim over the seeds: judged on the means, with n, the seeds that show it, and each model's mean and CI.
    const { claim } = JSON.parse(r.stdout) as { claim: SeedsClaimJson };
    expect([claim.n, claim.per_seed.map((p) => p.seed), claim.on_mean]).toEqual([2, [5, 6], claim.verdict]);
    expect(['shown', 'not-shown']).toContain(claim.verdict);
    expect(claim.every_seed).toBe(claim.per_seed.every((p) => p.verdict === 'shown'));
    expect(claim.summary).toMatch(/^(Shown|Not) at this scale \(tiny\), on the mean of 2 seeds \(shown in [012] of 2 seeds/);
    expect(claim.figures.map((x) => [x.run, x.figure, x.n, x.ci95?.length])).toEqual([
      ['G-RNN', 'test MSE', 2, 2],
      ['FERNN-V1', 'test MSE', 2, 2],
    ]);
    expect(claim.evidence.join('\n')).toMatch(/mean over seeds: FERNN-V1 test MSE .* vs G-RNN/);
  });
});
