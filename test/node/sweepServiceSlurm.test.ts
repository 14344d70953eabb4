import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { TINY_MEMBER, slurmHere, useGatedLab } from '../helpers/sweeps';

/**
 * The lab service's Slurm executor against the real daemons (scripts/slurm-local.sh start): the path the app takes
 * (createSweep / getSweep / cancelSweep / resumeSweep), with the sbatch script the service writes itself. Without a
 * cluster it skips with the reason printed; FERNN_REQUIRE_SLURM=1 (CI) makes it required. "Mid-run" is a test gate
 * (FERNN_TEST_GATES, exported to the array tasks by sbatch).
 */

const required = process.env.FERNN_REQUIRE_SLURM === '1';
const slurm = slurmHere();
if (!slurm.ok) process.stderr.write(`sweepServiceSlurm: Slurm tests ${required ? 'REQUIRED but' : 'skipped:'} ${slurm.reason}\n`);

const svc = useGatedLab('fernn-sweep-svc-slurm-');
const base = TINY_MEMBER;
const settled = svc.settled;

const ACTIVE = ['RUNNING', 'PENDING', 'COMPLETING', 'CONFIGURING', 'REQUEUED', 'SUSPENDED'];

describe.skipIf(!slurm.ok && !required)('the lab service runs sweeps on Slurm (real daemons)', () => {
  it('a Slurm cluster answers and the service offers the Slurm executor (required in CI)', async () => {
    expect(slurm.ok, slurm.reason).toBe(true);
    const ex = await svc.lab.sweepExecutors();
    expect(ex.slurm.available, ex.slurm.reason).toBe(true);
  });

  it('createSweep submits 2 members; getSweep shows their jobs; cancelSweep scancels; resumeSweep completes both with group stats', async () => {
    const gate = await svc.gates.hold('svc-slurm/0', 2);
    const created = await svc.lab.createSweep({ name: 'svc-slurm', base, seeds: 2, executor: { kind: 'slurm', slurm: { sbatchArgs: [], signalSeconds: 60 } } });
    const id = created.status.sweep_id;
    expect(created.status.executor).toBe('slurm');
    expect(created.active).toBe(false);
    const jobs = created.status.members.map((m) => m.slurm_job ?? '');
    expect(jobs).toEqual([expect.stringMatching(/^\d+_0$/), expect.stringMatching(/^\d+_1$/)]);

    // The script the service wrote runs this lab's CLI with a real node (not Electron's binary), from the sweep's folder.
    const script = await readFile(path.join(created.folder, 'sweep.sbatch'), 'utf8');
    const exec = /^exec '([^']+)' '([^']+)' sweep task /m.exec(script);
    expect(exec, script).not.toBeNull();
    expect(exec?.[1]).toBe(process.execPath);
    expect(exec?.[2]).toBe(path.resolve('dist/cli.js'));

    await gate.parked();
    const parked = await settled(id, (d) => d.status.members[0].status === 'running' && d.status.members[0].slurm_state === 'RUNNING');
    expect(parked.status.members[0].slurm_job).toBe(jobs[0]);
    expect(parked.progress[0]).toEqual({ index: 0, step: 2, steps: 6 });

    const cancelled = await svc.lab.cancelSweep({ id });
    expect(cancelled.cancelled).toBe(true);
    // scancel: the parked task checkpoints on SIGTERM and its run ends interrupted; its job leaves the queue.
    const stopped = await settled(
      id,
      (d) => d.status.members.every((m) => m.status !== 'running' && !ACTIVE.includes(m.slurm_state ?? '')) && d.status.members[0].status === 'interrupted',
    );
    expect(stopped.status.members[0].status).toBe('interrupted');
    expect((await svc.lab.store.get(stopped.status.members[0].run_id)).progress.checkpointStep).toBe(2);

    await gate.release();
    const resumed = await svc.lab.resumeSweep({ id });
    expect(resumed.cancelled).toBe(false);
    const done = await settled(id, (d) => d.status.members.every((m) => m.status === 'completed'));
    // Resumed members run under a new submission.
    expect(done.status.members[0].slurm_job).not.toBe(jobs[0]);
    expect(done.status.groups).toHaveLength(1);
    const g = done.status.groups[0];
    expect([g.n, g.completed]).toEqual([2, 2]);
    const xs = done.status.members.map((m) => m.test_mse as number);
    expect(g.test_mse?.mean).toBeCloseTo((xs[0] + xs[1]) / 2, 12);
    expect(g.test_mse?.ci95).not.toBeNull();
    const { records } = await svc.lab.store.readMetrics(done.status.members[0].run_id);
    expect(records.some((r) => r.kind === 'event' && r.event === 'resumed' && r.step === 2)).toBe(true);
    expect(done.curves[0].train.map((p) => p.n)).toEqual([2, 2, 2, 2, 2, 2]);
  });
});
