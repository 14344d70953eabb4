import { accessSync, constants, existsSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MetricRecord } from '../../core/protocol/run';
import {
  SWEEP_DEFAULTS,
  type MeanCurvePoint,
  type SweepDetail,
  type SweepExecutors,
  type SweepGroupCurves,
  type SweepRef,
  type SweepSummary,
} from '../../core/protocol/sweeps';
import type { ServiceArgs } from '../../core/protocol/serviceArgs';
import { mean, sampleStd } from '../../core/sweeps/stats';
import { InputError } from '../../core/util/errors';
import type { LabService } from '../lab/labService';
import { checkSweepMembers } from './memberChecks';
import { defaultParallelism, startLocalSweep, type LocalSweep } from './localExecutor';
import { cancelSlurmSweep, slurmAvailable, submitSweep, writeSbatchScript, type TaskCommand } from './slurm';
import { CANCEL_FILE, createSweep, memberRunId, readSweep, sweepDirOf, type SweepRecord } from './sweepStore';
import { sweepStatus, sweepSummaries } from './sweepStatus';

/**
 * The lab service's sweeps: created from the app's request (validated members, core/protocol/sweeps.ts), run by
 * the service's own local pool (its training workers) or submitted to Slurm, and read back with per-group
 * statistics, mean curves and each member's progress. Arguments arrive validated (labService.ts).
 */
export interface SweepMethods {
  listSweeps(): Promise<SweepSummary[]>;
  getSweep(id: string): Promise<SweepDetail>;
  createSweep(req: ServiceArgs<'createSweep'>): Promise<SweepDetail>;
  cancelSweep(id: string): Promise<SweepDetail>;
  resumeSweep(id: string): Promise<SweepDetail>;
  sweepExecutors(): Promise<SweepExecutors>;
  /** The sweep member a run is, for runs this service's pools train. */
  memberOf(runId: string): SweepRef | undefined;
  /** Resolves when every pool of this service has ended (the lab's dispose stops their members first). */
  whenIdle(): Promise<void>;
}

const isExecutable = (file: string): boolean => {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/** An executable `node` on `pathEnv` (absolute; the first in PATH order), or null. */
export function nodeOnPath(pathEnv: string = process.env.PATH ?? '', platform: NodeJS.Platform = process.platform, executable = isExecutable): string | null {
  for (const d of pathEnv.split(platform === 'win32' ? ';' : ':')) {
    const f = path.join(d || '.', platform === 'win32' ? 'node.exe' : 'node');
    if (executable(f)) return path.resolve(f);
  }
  return null;
}

/** What decides the command of a Slurm array task (findTaskCommand's inputs, injectable for tests). */
export interface TaskCommandInputs {
  /** The CLI bundle found next to this lab (dist/cli.js), or null. */
  cli: string | null;
  /** Whether this process is Electron (its binary is not node). */
  electron: boolean;
  /** This process's binary (node, outside Electron). */
  execPath: string;
  /** The `node` on the lab's PATH (absolute), or null; asked only in Electron. */
  nodeOnPath(): string | null;
}

/**
 * The command each Slurm array task runs, `NODE CLI sweep task …`, or why there is none: NODE is this process's node
 * (the web host, `fernn-lab serve`, tests), or in Electron, whose binary is not node, the `node` on the lab's PATH
 * (absolute, as tasks start without --setup's PATH changes being known here). A CLI inside an app archive (.asar)
 * cannot be run by node: no command.
 */
export function taskCommandFor(i: TaskCommandInputs): { cmd: TaskCommand } | { reason: string } {
  if (!i.cli) return { reason: "the fernn-lab CLI (dist/cli.js) is not found next to this lab; run 'npm run build'" };
  if (i.cli.includes('.asar'))
    return { reason: `the lab's CLI is inside the app archive (${i.cli}); start the lab from a checkout (npm start, fernn-lab serve)` };
  const node = i.electron ? i.nodeOnPath() : i.execPath;
  if (!node) return { reason: 'no node on PATH to run the array tasks with (Electron is not node)' };
  return { cmd: { node, bin: i.cli } };
}

/** The Slurm executor as the app offers it: available with sbatch and a task command, else greyed with the reason. */
export function slurmExecutor(sbatch: { ok: boolean; reason: string }, found: { cmd: TaskCommand } | { reason: string }): SweepExecutors['slurm'] {
  if (!sbatch.ok) return { available: false, reason: sbatch.reason };
  if ('cmd' in found) return { available: true, reason: `sbatch found; tasks run ${found.cmd.node} ${found.cmd.bin}` };
  return { available: false, reason: found.reason };
}

/** The CLI bundle next to this one (dist/) or, from the sources, the repo's dist/cli.js; null when not built. */
function findCli(): string | null {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (let dir = here, i = 0; i < 6; i++, dir = path.dirname(dir)) {
    const cli = path.basename(dir) === 'dist' ? path.join(dir, 'cli.js') : path.join(dir, 'dist', 'cli.js');
    if (existsSync(cli)) return cli;
  }
  return null;
}

/** What each Slurm array task of this lab runs (taskCommandFor with this process's facts). */
export function findTaskCommand(): { cmd: TaskCommand } | { reason: string } {
  return taskCommandFor({ cli: findCli(), electron: Boolean(process.versions.electron), execPath: process.execPath, nodeOnPath: () => nodeOnPath() });
}

/** Mean, std and n at every step any member reached (curves of members that are still running included). */
function meanCurve(curves: { step: number; y: number }[][]): MeanCurvePoint[] {
  const at = new Map<number, number[]>();
  for (const c of curves) for (const p of c) at.set(p.step, [...(at.get(p.step) ?? []), p.y]);
  return [...at.entries()].sort((a, b) => a[0] - b[0]).map(([step, ys]) => ({ step, mean: mean(ys), std: sampleStd(ys), n: ys.length }));
}

export function createSweepMethods(lab: LabService, opts: { taskCommand?: TaskCommand | null; stopped?: () => boolean } = {}): SweepMethods {
  const storeRoot = lab.store.root;
  const pools = new Map<string, LocalSweep>();
  const members = new Map<string, SweepRef>();
  const found = opts.taskCommand === undefined ? findTaskCommand() : opts.taskCommand ? { cmd: opts.taskCommand } : { reason: 'no task command' };
  const taskCommand = 'cmd' in found ? found.cmd : null;

  const open = async (id: string): Promise<{ dir: string; rec: SweepRecord }> => {
    const dir = sweepDirOf(storeRoot, id);
    const rec = await readSweep(dir).catch((e: unknown) => {
      if (e instanceof InputError && /^sweep: no sweep at /.test(e.message)) throw new InputError('id', `no sweep ${id} in ${path.dirname(dir)}`);
      throw e;
    });
    return { dir, rec };
  };

  const runPool = (dir: string, rec: SweepRecord, indices: number[], parallel: number): void => {
    for (const i of indices) members.set(memberRunId(rec.id, i), { id: rec.id, index: i });
    const pool = startLocalSweep(lab, dir, rec, { parallel, indices, stopped: opts.stopped });
    pools.set(rec.id, pool);
    void pool.done
      .catch((e: unknown) => console.error(`sweep ${rec.id}: ${(e as Error).message}`))
      .finally(() => {
        if (pools.get(rec.id) === pool) pools.delete(rec.id);
      });
  };

  const submit = async (dir: string, rec: SweepRecord, indices: number[]): Promise<void> => {
    if (rec.executor.kind !== 'slurm') return;
    const avail = await executors();
    if (!avail.slurm.available || !taskCommand) throw new InputError('executor', `slurm: ${avail.slurm.reason}`);
    await writeSbatchScript(rec, dir, rec.executor.slurm, taskCommand);
    await submitSweep(dir, indices);
  };

  const executors = async (): Promise<SweepExecutors> => {
    const slurm = slurmExecutor(await slurmAvailable(), found);
    const parallel = defaultParallelism();
    return { local: { available: true, defaultParallel: parallel, detail: `a pool of ${parallel} training workers here` }, slurm, defaults: SWEEP_DEFAULTS };
  };

  const detail = async (dir: string, rec: SweepRecord): Promise<SweepDetail> => {
    const status = await sweepStatus(lab.store, dir, rec);
    const progress: SweepDetail['progress'] = [];
    const curvesOf = new Map<number, { train: { step: number; y: number }[]; val: { step: number; y: number }[] }>();
    const classification = rec.members[0].config.task === 'classification';
    for (const m of rec.members) {
      const id = memberRunId(rec.id, m.index);
      const run = await lab.store.get(id).catch(() => null);
      progress.push({ index: m.index, step: run?.progress.step ?? 0, steps: m.config.steps });
      if (!run) continue;
      const records: MetricRecord[] = (await lab.store.readMetrics(id).catch(() => ({ records: [] as MetricRecord[] }))).records;
      curvesOf.set(m.index, {
        train: records.flatMap((r) => (r.kind === 'train' && r.loss !== null ? [{ step: r.step, y: r.loss }] : [])),
        val: records.flatMap((r) =>
          classification ? (r.kind === 'val-accuracy' ? [{ step: r.step, y: r.accuracy }] : []) : r.kind === 'val' ? [{ step: r.step, y: r.mse }] : [],
        ),
      });
    }
    const curves: SweepGroupCurves[] = status.groups.map((g) => {
      const ms = rec.members.filter((m) => m.group === g.key).flatMap((m) => curvesOf.get(m.index) ?? []);
      return { key: g.key, train: meanCurve(ms.map((c) => c.train)), val: meanCurve(ms.map((c) => c.val)) };
    });
    return {
      status,
      createdAt: rec.createdAt,
      memberGroups: rec.members.map((m) => m.group),
      progress,
      task: classification ? 'classification' : 'prediction',
      curves,
      cancelled: existsSync(path.join(dir, CANCEL_FILE)),
      active: pools.has(rec.id),
      folder: dir,
    };
  };

  return {
    listSweeps: () => sweepSummaries(lab.store),
    async getSweep(id) {
      const { dir, rec } = await open(id);
      return detail(dir, rec);
    },
    async createSweep(req) {
      const executor = req.executor.kind === 'local' ? { kind: 'local' as const, parallel: req.executor.parallel ?? defaultParallelism() } : req.executor;
      if (executor.kind === 'slurm') {
        const avail = await executors();
        if (!avail.slurm.available) throw new InputError('executor', `slurm: ${avail.slurm.reason}`);
      }
      // Every member fits its backend's memory and reads its data, or nothing is created (on Slurm, 'auto' resolves
      // on the node, so only a backend named in the config is checked for memory here).
      await checkSweepMembers(req.members, executor.kind === 'local' ? lab : null, 'batch' in req.grid ? 'grid.batch' : 'base.batch');
      const { dir, sweep } = await createSweep(storeRoot, {
        name: req.name,
        request: { base: req.base, grid: req.grid, seeds: req.seeds },
        executor,
        members: req.members,
      });
      const all = sweep.members.map((m) => m.index);
      if (sweep.executor.kind === 'local') runPool(dir, sweep, all, sweep.executor.parallel);
      else await submit(dir, sweep, all);
      return detail(dir, sweep);
    },
    async cancelSweep(id) {
      const { dir, rec } = await open(id);
      await writeFile(path.join(dir, CANCEL_FILE), new Date().toISOString());
      if (rec.executor.kind === 'slurm') await cancelSlurmSweep(dir);
      else {
        // Our pool: stop its members now. Another process's pool sees the marker itself.
        const pool = pools.get(rec.id);
        if (pool) {
          await pool.cancel();
          await pool.done;
        }
      }
      return detail(dir, rec);
    },
    async resumeSweep(id) {
      const { dir, rec } = await open(id);
      if (pools.has(rec.id)) throw new InputError('id', `sweep ${rec.id} is running here; cancel it first`);
      await rm(path.join(dir, CANCEL_FILE), { force: true });
      const st = await sweepStatus(lab.store, dir, rec);
      const busy = st.members.filter((m) => m.status === 'running' || m.status === 'queued');
      if (busy.length) throw new InputError('id', `members ${busy.map((m) => m.index).join(', ')} are still running; wait for them or cancel the sweep`);
      const todo = st.members.filter((m) => m.status !== 'completed').map((m) => m.index);
      if (todo.length) {
        if (rec.executor.kind === 'local') runPool(dir, rec, todo, rec.executor.parallel);
        else await submit(dir, rec, todo);
      }
      return detail(dir, rec);
    },
    sweepExecutors: executors,
    memberOf: (runId) => members.get(runId),
    async whenIdle() {
      await Promise.all([...pools.values()].map((p) => p.done.catch(() => undefined)));
    },
  };
}
