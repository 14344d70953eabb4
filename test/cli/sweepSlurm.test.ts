import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { RunStore } from '../../src/node/store/runStore';
import { readSweep, sweepDirOf } from '../../src/node/sweeps/sweepStore';
import { sweepStatus, type SweepStatus } from '../../src/node/sweeps/sweepStatus';
import { gateFolder } from '../helpers/gates';
import { TINY_FLAGS, cli, safetensorsTensors, slurmHere, until, writeSpec } from '../helpers/sweeps';

/**
 * Sweeps through a real Slurm (scripts/slurm-local.sh start: munged, slurmctld, slurmd on this host). Without one
 * these tests skip with the reason printed; with FERNN_REQUIRE_SLURM=1 (CI) a missing cluster is a failure.
 * "Mid-run" is a test gate (FERNN_TEST_GATES, exported to the array tasks by sbatch): a member parks at a known step.
 */

const required = process.env.FERNN_REQUIRE_SLURM === '1';
const slurm = slurmHere();
if (!slurm.ok) process.stderr.write(`sweepSlurm: Slurm tests ${required ? 'REQUIRED but' : 'skipped:'} ${slurm.reason}\n`);

const TINY = TINY_FLAGS;

let work = '';
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'fernn-slurm-'));
});

const spec = (name: string, body: object): Promise<string> => writeSpec(work, name, body);

async function status(store: string, id: string): Promise<SweepStatus> {
  const dir = sweepDirOf(store, id);
  return sweepStatus(new RunStore(store), dir, await readSweep(dir));
}

describe.skipIf(!slurm.ok && !required)('sweeps on Slurm (real daemons)', () => {
  it('a Slurm cluster answers (required in CI)', () => {
    expect(slurm.ok, slurm.reason).toBe(true);
  });

  it('2 models x 2 seeds through sbatch complete and aggregate per model', async () => {
    const store = join(work, 'grid', 'runs');
    const variants = [{ model: 'grnn' }, { model: 'fernn', 'v-range': 1 }];
    const file = await spec('slurm-grid', { base: { ...TINY, steps: 8 }, variants, grid: { seed: [0, 1] } });
    const r = await cli(['sweep', 'run', file, '--executor', 'slurm', '--store', store, '--wait', '--json'], { FERNN_SWEEP_POLL_MS: '200' });
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as SweepStatus;
    expect(s.executor).toBe('slurm');
    expect(s.members.map((m) => m.status)).toEqual(['completed', 'completed', 'completed', 'completed']);
    expect(s.members.every((m) => /^\d+_\d$/.test(m.slurm_job ?? ''))).toBe(true);
    expect(s.groups.map((g) => [g.key, g.n, g.completed])).toEqual([
      ['model=grnn', 2, 2],
      ['model=fernn,v-range=1', 2, 2],
    ]);
    for (const g of s.groups) {
      const model = g.key === 'model=grnn' ? 'grnn' : 'fernn';
      const xs = s.members.filter((m) => m.overrides.model === model).map((m) => m.test_mse as number);
      expect(g.test_mse?.mean).toBeCloseTo((xs[0] + xs[1]) / 2, 12);
      const [lo, hi] = g.test_mse?.ci95 ?? [NaN, NaN];
      expect(lo).toBeLessThan(Math.min(...xs));
      expect(hi).toBeGreaterThan(Math.max(...xs));
    }
    const dir = sweepDirOf(store, s.sweep_id);
    expect(await readFile(join(dir, 'sweep.sbatch'), 'utf8')).toMatch(/#SBATCH --signal=B:USR1@60[\s\S]*exec .* sweep task /);
    const run = await new RunStore(store).get(s.members[3].run_id);
    expect(run.sweep).toEqual({ id: s.sweep_id, index: 3 });
  });

  it('a member cancelled (scancel) mid-run shows interrupted; sweep resume completes it from its checkpoint', async () => {
    const store = join(work, 'cancel', 'runs');
    const gates = await gateFolder(join(work, 'gates-cancel'));
    const gate = await gates.hold('slurm-cancel/0', 4);
    const file = await spec('slurm-cancel', { base: { ...TINY, steps: 10, model: 'grnn' } });
    const env = { FERNN_TEST_GATES: gates.dir, FERNN_SWEEP_POLL_MS: '200' };
    const started = await cli(['sweep', 'run', file, '--executor', 'slurm', '--store', store, '--json'], env);
    expect(started.code, started.stderr).toBe(0);
    const id = (JSON.parse(started.stdout) as SweepStatus).sweep_id;
    await gate.parked();
    const cancel = await cli(['sweep', 'cancel', id, '--store', store]);
    expect(cancel.code, cancel.stderr).toBe(0);
    expect(cancel.stderr).toMatch(/scancel \d+/);
    const stopped = await until(async () => {
      const s = await status(store, id);
      return s.members[0].status === 'interrupted' && !['RUNNING', 'PENDING', 'COMPLETING'].includes(s.members[0].slurm_state ?? '') && s;
    });
    expect(stopped.members[0].status).toBe('interrupted');
    const runId = stopped.members[0].run_id;
    expect((await new RunStore(store).get(runId)).progress.checkpointStep).toBe(4);
    await gate.release();
    const resumed = await cli(['sweep', 'resume', id, '--store', store, '--wait', '--json'], env);
    expect(resumed.code, resumed.stderr).toBe(0);
    const s = JSON.parse(resumed.stdout) as SweepStatus;
    expect(s.members[0].status).toBe('completed');
    const { records } = await new RunStore(store).readMetrics(runId);
    expect(records.some((m) => m.kind === 'event' && m.event === 'resumed' && m.step === 4)).toBe(true);
  });

  it('a member requeued mid-run (scontrol requeue) resumes from its checkpoint with the weights of an uninterrupted run', async () => {
    const store = join(work, 'requeue', 'runs');
    const gates = await gateFolder(join(work, 'gates-requeue'));
    const gate = await gates.hold('slurm-requeue/0', 4);
    const base = { ...TINY, steps: 10, model: 'fernn', 'v-range': 1, seed: 3 };
    const env = { FERNN_TEST_GATES: gates.dir, FERNN_SWEEP_POLL_MS: '200' };
    const started = await cli(['sweep', 'run', await spec('slurm-requeue', { base }), '--executor', 'slurm', '--store', store, '--json'], env);
    expect(started.code, started.stderr).toBe(0);
    const first = JSON.parse(started.stdout) as SweepStatus;
    const runId = first.members[0].run_id;
    await gate.parked();
    const job = first.members[0].slurm_job ?? '';
    execFileSync('scontrol', ['requeue', job]);
    // Slurm holds a requeued job back for a while (its begin time); once it is pending again, let it start now.
    const state = await until(async () => {
      const st = (await status(store, first.sweep_id)).members[0].slurm_state;
      return (st === 'PENDING' || st === 'RUNNING') && st;
    });
    if (state === 'PENDING') execFileSync('scontrol', ['update', `JobId=${job}`, 'StartTime=now']);
    // The requeued task resumes from the step-4 checkpoint and parks there again (the hold is still on).
    const runs = new RunStore(store);
    await until(async () => (await runs.readMetrics(runId)).records.some((m) => m.kind === 'event' && m.event === 'resumed' && m.step === 4));
    await gate.release();
    const done = await until(async () => {
      const s = await status(store, first.sweep_id);
      return s.members[0].status === 'completed' && s;
    });
    expect(done.members[0].status).toBe('completed');
    const events = (await runs.readMetrics(runId)).records.filter((m) => m.kind === 'event').map((m) => `${m.event}@${m.step}`);
    expect(events).toContain('interrupted@4');
    // The same member, uninterrupted (local executor, no gate on its name).
    const ref = await cli(['sweep', 'run', await spec('slurm-requeue-ref', { base }), '--store', join(work, 'requeue-ref', 'runs'), '--json']);
    expect(ref.code, ref.stderr).toBe(0);
    const refRun = (JSON.parse(ref.stdout) as SweepStatus).members[0].run_id;
    const a = await safetensorsTensors(runs.checkpointPath(runId, 'last'));
    const b = await safetensorsTensors(new RunStore(join(work, 'requeue-ref', 'runs')).checkpointPath(refRun, 'last'));
    expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
    expect(a.size).toBeGreaterThan(0);
    for (const [name, bytes] of a) expect(bytes.equals(b.get(name) as Buffer), name).toBe(true);
  });
  it('SIGUSR1 (what Slurm sends before the time limit) checkpoints, requeues the task, and the member completes', async () => {
    const store = join(work, 'usr1', 'runs');
    const gates = await gateFolder(join(work, 'gates-usr1'));
    const gate = await gates.hold('slurm-usr1/0', 3);
    const env = { FERNN_TEST_GATES: gates.dir };
    const file = await spec('slurm-usr1', { base: { ...TINY, steps: 6, model: 'grnn' } });
    const started = await cli(['sweep', 'run', file, '--executor', 'slurm', '--store', store, '--json'], env);
    expect(started.code, started.stderr).toBe(0);
    const first = JSON.parse(started.stdout) as SweepStatus;
    const job = first.members[0].slurm_job ?? '';
    await gate.parked();
    execFileSync('scancel', ['--signal=USR1', '--batch', job]);
    const runs = new RunStore(store);
    const runId = first.members[0].run_id;
    await until(async () => (await runs.readMetrics(runId)).records.some((m) => m.kind === 'event' && m.event === 'interrupted' && m.step === 3));
    const state = await until(async () => {
      const st = (await status(store, first.sweep_id)).members[0].slurm_state;
      return (st === 'PENDING' || st === 'RUNNING') && st;
    });
    if (state === 'PENDING') execFileSync('scontrol', ['update', `JobId=${job}`, 'StartTime=now']);
    await until(async () => (await runs.readMetrics(runId)).records.some((m) => m.kind === 'event' && m.event === 'resumed' && m.step === 3));
    await gate.release();
    const done = await until(async () => {
      const st = await status(store, first.sweep_id);
      return st.members[0].status === 'completed' && st;
    });
    expect(done.members[0].test_mse).toEqual(expect.any(Number));
  });
});
