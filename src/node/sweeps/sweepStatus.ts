import { existsSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { gridStats, groupStats, type GroupStats } from '../../core/sweeps/stats';
import type { StatsJson, SweepGroupStatus, SweepMemberStatus, SweepStatus, SweepSummary, VelocityGridStats } from '../../core/protocol/sweeps';
import type { RunRecord } from '../../core/protocol/run';
import type { RunStore } from '../store/runStore';
import { latestByKind } from '../store/evaluations';
import { memberJobs, slurmStates } from './slurm';
import { CANCEL_FILE, listSweeps, memberRunId, type SweepRecord } from './sweepStore';

export type { StatsJson, SweepGroupStatus, SweepMemberStatus, SweepStatus, VelocityGridStats };

const stats = (xs: number[]): StatsJson | null => {
  if (xs.length === 0) return null;
  const s: GroupStats = groupStats(xs);
  return { mean: s.mean, std: s.std, ci95: s.ci95 };
};

const velocityEvalSchema = z.object({ velocities: z.array(z.number()), mse: z.array(z.array(z.number())) });
const velocityAccuracyEvalSchema = z.object({ velocities: z.array(z.number()), accuracy: z.array(z.array(z.number())) });

/** Cell statistics of the members' velocity grids that share the first one's velocities; undefined with none. */
async function velocityStats(store: RunStore, runs: RunRecord[], classification: boolean): Promise<VelocityGridStats | undefined> {
  const grids: { velocities: number[]; grid: number[][] }[] = [];
  for (const r of runs) {
    const evals = latestByKind(await store.readEvaluations(r.id).catch(() => []));
    if (classification) {
      const v = velocityAccuracyEvalSchema.safeParse(evals['velocity-accuracy']);
      if (v.success) grids.push({ velocities: v.data.velocities, grid: v.data.accuracy });
    } else {
      const v = velocityEvalSchema.safeParse(evals.velocity);
      if (v.success) grids.push({ velocities: v.data.velocities, grid: v.data.mse });
    }
  }
  if (grids.length === 0) return undefined;
  const same = grids.filter((g) => JSON.stringify(g.velocities) === JSON.stringify(grids[0].velocities) && g.grid.length === grids[0].grid.length);
  return { velocities: grids[0].velocities, ...gridStats(same.map((g) => g.grid)) };
}

/**
 * A sweep's status: every member joined with its run in the store (effective statuses, so a killed task reads as
 * interrupted) and, for Slurm sweeps, with squeue/sacct; per group (overrides without the seed) the mean, sample
 * std and 95% CI of the completed members' test MSE (prediction) or test accuracy (classification).
 */
export async function sweepStatus(store: RunStore, dir: string, sweep: SweepRecord): Promise<SweepStatus> {
  const jobs = sweep.executor.kind === 'slurm' ? await memberJobs(dir) : new Map<number, string>();
  const states = await slurmStates([...new Set([...jobs.values()].map((j) => j.split('_')[0]))]);
  const members: SweepMemberStatus[] = [];
  const runs = new Map<number, RunRecord | null>();
  for (const m of sweep.members) {
    const id = memberRunId(sweep.id, m.index);
    const run = await store.get(id).catch(() => null);
    runs.set(m.index, run);
    const job = jobs.get(m.index) ?? null;
    const state = job ? (states.get(job) ?? null) : null;
    const live = state !== null && LIVE_STATES.has(state);
    const metric = m.config.task === 'classification' ? { test_accuracy: run?.results?.testAccuracy ?? null } : { test_mse: run?.results?.testMse ?? null };
    const status = run ? run.status : live ? 'queued' : 'pending';
    members.push({ index: m.index, run_id: id, overrides: m.overrides, status, ...metric, slurm_job: job, slurm_state: state });
  }
  const groups: SweepGroupStatus[] = [];
  for (const key of [...new Set(sweep.members.map((m) => m.group))]) {
    const ms = sweep.members.filter((m) => m.group === key);
    const done = ms.map((m) => runs.get(m.index)).filter((r): r is RunRecord => r?.status === 'completed');
    const classification = ms[0].config.task === 'classification';
    const values = done.map((r) => (classification ? r.results?.testAccuracy : r.results?.testMse)).filter((x): x is number => typeof x === 'number');
    const grid = await velocityStats(store, done, classification);
    groups.push({
      key,
      n: ms.length,
      completed: done.length,
      ...(classification ? { test_accuracy: stats(values) } : { test_mse: stats(values) }),
      ...(grid ? (classification ? { velocity_accuracy: grid } : { velocity_mse: grid }) : {}),
    });
  }
  return { sweep_id: sweep.id, name: sweep.name, executor: sweep.executor.kind, members, groups };
}

const LIVE_STATES = new Set(['PENDING', 'RUNNING', 'REQUEUED', 'REQUEUE_HOLD', 'REQUEUE_FED', 'CONFIGURING', 'COMPLETING', 'RESIZING', 'SUSPENDED']);

/** True when nothing more will happen without a resume: no member is running or queued, in the store or in Slurm. */
export function sweepSettled(s: SweepStatus): boolean {
  return s.members.every((m) => !(m.slurm_state !== null && LIVE_STATES.has(m.slurm_state)) && m.status !== 'running' && m.status !== 'queued');
}

const CSV_COLUMNS = ['kind', 'index', 'run_id', 'group', 'status', 'metric', 'value', 'n', 'completed', 'mean', 'std', 'ci95_lo', 'ci95_hi'] as const;

const csvCell = (v: string | number | null | undefined): string => {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
};

/** One CSV of a sweep: a row per member (kind "member") and per group (kind "group", with mean, std and CI). */
export function sweepStatusCsv(s: SweepStatus, groupOf: (index: number) => string): string {
  const rows: (string | number | null | undefined)[][] = [[...CSV_COLUMNS]];
  for (const m of s.members) {
    const metric = m.test_accuracy !== undefined ? 'test_accuracy' : 'test_mse';
    rows.push(['member', m.index, m.run_id, groupOf(m.index), m.status, metric, m.test_accuracy ?? m.test_mse, null, null, null, null, null, null]);
  }
  for (const g of s.groups) {
    const metric = g.test_accuracy !== undefined ? 'test_accuracy' : 'test_mse';
    const st = g.test_accuracy ?? g.test_mse;
    rows.push(['group', null, null, g.key, null, metric, null, g.n, g.completed, st?.mean, st?.std, st?.ci95?.[0], st?.ci95?.[1]]);
  }
  return rows.map((r) => r.map(csvCell).join(',')).join('\n') + '\n';
}

/** The store's sweeps, newest first, with member counts: the listing of `sweep ls` and the lab service's listSweeps. */
export async function sweepSummaries(store: RunStore): Promise<SweepSummary[]> {
  return Promise.all(
    (await listSweeps(store.root)).map(async ({ dir, sweep }) => {
      const st = await sweepStatus(store, dir, sweep);
      const count = (x: string) => st.members.filter((m) => m.status === x).length;
      return {
        id: sweep.id,
        name: sweep.name,
        executor: sweep.executor.kind,
        createdAt: sweep.createdAt,
        members: sweep.members.length,
        completed: count('completed'),
        running: count('running'),
        cancelled: existsSync(path.join(dir, CANCEL_FILE)),
      };
    }),
  );
}
