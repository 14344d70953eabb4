import { rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { InputError } from '../../core/util/errors';
import type { LabService } from '../../node/lab/labService';
import { RunStore } from '../../node/store/runStore';
import { defaultParallelism, runLocalSweep, type PoolOutcome } from '../../node/sweeps/localExecutor';
import { runMember } from '../../node/sweeps/member';
import { checkSweepMembers } from '../../node/sweeps/memberChecks';
import { memberOwner } from '../../node/sweeps/memberClaim';
import { cancelSlurmSweep, requeueSelf, slurmAvailable, submitSweep, writeSbatchScript } from '../../node/sweeps/slurm';
import {
  CANCEL_FILE,
  createSweep,
  readSweep,
  slurmOptionsSchema,
  sweepDirOf,
  type ExecutorChoice,
  type NewSweep,
  type SweepRecord,
} from '../../node/sweeps/sweepStore';
import { sweepSettled, sweepStatus, sweepStatusCsv, sweepSummaries, type StatsJson, type SweepStatus } from '../../node/sweeps/sweepStatus';
import { flagName, info, parseFlags, table } from '../io';
import { intFlag } from '../options';
import { openLab } from '../lab';
import { readSpecFile } from '../sweepSpecFile';

const storeOf = (store: string | undefined): string => resolve(store ?? RunStore.defaultRoot());

const fmtStats = (s: StatsJson | null | undefined): string => {
  if (!s) return '-';
  const ci = s.ci95 ? ` [${s.ci95[0].toPrecision(4)}, ${s.ci95[1].toPrecision(4)}]` : '';
  return `${s.mean.toPrecision(4)} ± ${s.std === null ? '-' : s.std.toPrecision(3)}${ci}`;
};

/** Human view of a sweep: members, then groups with mean ± std [95% CI]. */
export function describeSweep(s: SweepStatus): string {
  const metric = (m: { test_mse?: number | null; test_accuracy?: number | null }) => m.test_mse ?? m.test_accuracy ?? null;
  const members = table(
    ['#', 'run', 'status', 'overrides', 'test', 'slurm'],
    s.members.map((m) => [
      m.index,
      m.run_id,
      m.status,
      Object.entries(m.overrides)
        .map(([k, v]) => `${k}=${String(v)}`)
        .join(' '),
      metric(m)?.toPrecision(4) ?? '-',
      m.slurm_job ? `${m.slurm_job} ${m.slurm_state ?? ''}` : '-',
    ]),
  );
  const groups = table(
    ['group', 'n', 'completed', 'test MSE / accuracy: mean ± std [95% CI]'],
    s.groups.map((g) => [g.key, g.n, g.completed, fmtStats(g.test_mse ?? g.test_accuracy)]),
  );
  return `sweep ${s.sweep_id} (${s.name}, ${s.executor})\n${members}\n\n${groups}`;
}

const slurmFlags = {
  partition: z.string().min(1).optional(),
  time: z.string().optional(),
  cpusPerTask: intFlag(1, 1024).optional(),
  gpusPerTask: intFlag(0, 64).optional(),
  mem: z.string().optional(),
  account: z.string().optional(),
  qos: z.string().optional(),
  arrayParallelism: intFlag(1, 100000).optional(),
  sbatchArg: z.array(z.string()).default([]),
  setup: z.string().optional(),
};

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

/** Flags that choose and configure the executor (sweep run, reproduce --seeds). */
export const executorFlags = {
  executor: z.enum(['local', 'slurm'], { message: 'must be local or slurm' }).default('local'),
  parallel: intFlag(1, 256).optional(),
  ...slurmFlags,
};
export const executorFlagsSchema = z.object(executorFlags);
type ExecutorFlags = z.infer<typeof executorFlagsSchema>;

/** Declares the slurm flags on a command. */
export function addSlurmFlags(cmd: Command): Command {
  return cmd
    .option('--partition <P>', 'slurm partition')
    .option('--time <T>', 'slurm time limit per member task (e.g. 1:00:00)')
    .option('--cpus-per-task <N>', 'slurm CPUs per task')
    .option('--gpus-per-task <N>', 'slurm GPUs per task')
    .option('--mem <M>', 'slurm memory per task (e.g. 8G)')
    .option('--account <A>', 'slurm account')
    .option('--qos <Q>', 'slurm QOS')
    .option('--array-parallelism <N>', 'slurm: at most N member tasks at once (--array=...%N)')
    .option('--sbatch-arg <arg>', 'extra #SBATCH line, repeatable (e.g. --sbatch-arg=--constraint=a100)', collect)
    .option('--setup <line>', 'shell line run before each task (module load, conda activate, ...)');
}

/** The executor from validated flags; slurm flags without --executor slurm, or slurm without sbatch, are errors. */
export async function executorFromFlags(f: ExecutorFlags): Promise<ExecutorChoice> {
  if (f.executor === 'slurm') {
    if (f.parallel !== undefined) throw new InputError('--parallel', 'is for the local executor; use --array-parallelism with slurm');
    const o = slurmOptionsSchema.safeParse({
      partition: f.partition,
      time: f.time,
      cpusPerTask: f.cpusPerTask,
      gpusPerTask: f.gpusPerTask,
      mem: f.mem,
      account: f.account,
      qos: f.qos,
      arrayParallelism: f.arrayParallelism,
      sbatchArgs: f.sbatchArg,
      setup: f.setup,
    });
    if (!o.success) throw new InputError(flagName(String(o.error.issues[0].path[0])), o.error.issues[0].message);
    const avail = await slurmAvailable();
    if (!avail.ok) throw new InputError('--executor', `slurm: ${avail.reason}`);
    return { kind: 'slurm', slurm: o.data };
  }
  const slurmOnly = Object.keys(slurmFlags).find((k) => (k === 'sbatchArg' ? f.sbatchArg.length > 0 : f[k as keyof typeof f] !== undefined));
  if (slurmOnly) throw new InputError(flagName(slurmOnly), 'is a slurm option; add --executor slurm');
  return { kind: 'local', parallel: f.parallel ?? defaultParallelism() };
}

/** Waits on a Slurm sweep until nothing is running or queued, printing changes on stderr. */
async function waitSlurm(store: RunStore, dir: string, sweep: SweepRecord, quiet: boolean): Promise<SweepStatus> {
  const poll = Number(process.env.FERNN_SWEEP_POLL_MS ?? 2000);
  let last = '';
  for (;;) {
    const s = await sweepStatus(store, dir, sweep);
    const line = s.members.map((m) => `${m.index}:${m.status}`).join(' ');
    if (!quiet && line !== last) info(line);
    last = line;
    if (sweepSettled(s)) return s;
    await new Promise((r) => setTimeout(r, poll));
  }
}

/**
 * Local members in this process: a pool of the lab's workers. `sweep cancel` (the sweep's cancelled marker, seen by
 * the pool) ends the running members cancelled; Ctrl-C / SIGTERM checkpoint them and end them interrupted.
 */
async function runLocal(lab: LabService, dir: string, sweep: SweepRecord, parallel: number, indices: number[], quiet: boolean): Promise<void> {
  let stopping = false;
  const stop = () => {
    if (stopping) process.exit(130);
    stopping = true;
    info('stopping the sweep: running members checkpoint and end interrupted (sweep resume continues them)');
    void lab.dispose();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  try {
    await runLocalSweep(lab, dir, sweep, {
      parallel,
      indices,
      stopped: () => stopping,
      onMemberStart: (i) => !quiet && info(`member ${i} started`),
      onMemberEnd: (i, o) => !quiet && info(`member ${i}: ${memberEnd(o)}`),
    });
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

/** A member's end for the log: its run's status, with the reason of a failure (the file that did not read). */
function memberEnd(o: PoolOutcome): string {
  if (o.kind === 'error') return `error: ${o.message}`;
  if (o.kind !== 'ran' && o.kind !== 'already-completed') return o.kind;
  return o.run.status === 'failed' && o.run.endMessage ? `failed (${o.run.endReason ?? 'error'}): ${o.run.endMessage}` : o.run.status;
}

export async function printStatus(s: SweepStatus, json: boolean): Promise<void> {
  process.stdout.write(json ? `${JSON.stringify(s)}\n` : `${describeSweep(s)}\n`);
}

/** The command line of an array task: this node and this CLI, by absolute paths. */
const taskCommand = () => ({ node: process.execPath, bin: resolve(process.argv[1]) });

async function notCompleted(store: RunStore, dir: string, sweep: SweepRecord): Promise<number[]> {
  const s = await sweepStatus(store, dir, sweep);
  return s.members.filter((m) => m.status !== 'completed').map((m) => m.index);
}

/**
 * Creates a sweep of validated members and runs it: local, in this process's pool until every member has ended;
 * slurm, submitted as an array (and followed until settled with wait). Prints the status (JSON with json) at the end.
 * Every member must fit its backend's memory (the lab's one check, memoryCheck.ts) before the sweep is created;
 * `memoryField` is what the refusal names (the spec's `batch`, reproduce's `--batch`); print false leaves the printing
 * of the status to the caller (reproduce adds the paper's claim).
 */
export async function launchSweep(
  storeRoot: string,
  s: NewSweep,
  opts: { wait: boolean; json: boolean; memoryField?: string; print?: boolean },
): Promise<SweepStatus> {
  const field = opts.memoryField ?? 'batch';
  if (s.executor.kind === 'slurm') {
    // 'auto' resolves on the cluster's node: only a backend named in the config is checked here.
    await checkSweepMembers(s.members, null, field);
    return launchSlurm(storeRoot, s, opts);
  }
  const lab = await openLab(storeRoot);
  try {
    await checkSweepMembers(s.members, lab, field);
    const { dir, sweep: rec } = await createSweep(storeRoot, s);
    if (rec.executor.kind !== 'local') throw new Error('unreachable: a local sweep');
    info(`sweep ${rec.id}: ${rec.members.length} members, local executor, folder ${dir}`);
    await runLocal(
      lab,
      dir,
      rec,
      rec.executor.parallel,
      rec.members.map((m) => m.index),
      opts.json,
    );
    const st = await sweepStatus(lab.store, dir, rec);
    if (opts.print !== false) await printStatus(st, opts.json);
    return st;
  } finally {
    await lab.dispose();
  }
}

async function launchSlurm(storeRoot: string, s: NewSweep, opts: { wait: boolean; json: boolean; print?: boolean }): Promise<SweepStatus> {
  const { dir, sweep: rec } = await createSweep(storeRoot, s);
  if (rec.executor.kind !== 'slurm') throw new Error('unreachable: a slurm sweep');
  info(`sweep ${rec.id}: ${rec.members.length} members, slurm executor, folder ${dir}`);
  const store = new RunStore(storeRoot);
  await store.init();
  const script = await writeSbatchScript(rec, dir, rec.executor.slurm, taskCommand());
  const job = await submitSweep(
    dir,
    rec.members.map((m) => m.index),
  );
  info(`submitted ${script} as Slurm job ${job}`);
  const st = opts.wait ? await waitSlurm(store, dir, rec, opts.json) : await sweepStatus(store, dir, rec);
  if ((opts.wait || opts.json) && opts.print !== false) await printStatus(st, opts.json);
  return st;
}

export function registerSweep(program: Command): void {
  const sweep = program.command('sweep').description('Sweeps: many runs as one experiment (seeds x configs), on this machine or a Slurm cluster');

  addSlurmFlags(sweep.command('run'))
    .description('Validate a sweep spec (YAML or JSON), create the sweep and run it (local: a pool here; slurm: an sbatch array)')
    .argument('<spec>', 'spec file: name, base (train flags), variants, grid')
    .option('--executor <kind>', 'local | slurm (default local)')
    .option('--parallel <N>', 'local: runs trained at once (default: cores / threads per run)')
    .option('--store <dir>', 'run store folder (the sweep goes to sweeps/ beside it)')
    .option('--wait', 'slurm: wait until every member has ended (local always waits)')
    .option('--json', 'print the sweep status as JSON at the end')
    .action(async (specFile: string, raw: Record<string, unknown>) => {
      const f = parseFlags(
        z.object({
          ...executorFlags,
          store: z.string().optional(),
          wait: z.boolean().default(false),
          json: z.boolean().default(false),
        }),
        raw,
      );
      const { spec, members } = await readSpecFile(specFile);
      const executor = await executorFromFlags(f);
      await launchSweep(storeOf(f.store), { name: spec.name, spec, executor, members }, { wait: f.wait, json: f.json });
    });

  sweep
    .command('task')
    .description('Run one member (what each Slurm array task runs): create or resume its run; idempotent; SIGUSR1/SIGTERM checkpoint')
    .argument('<sweep-dir>')
    .argument('<index>')
    .option('--store <dir>', "run store folder (default: the sweep's)")
    .action(async (sweepDir: string, indexText: string, raw: Record<string, unknown>) => {
      const f = parseFlags(z.object({ store: z.string().optional(), index: intFlag(0, 1_000_000) }), { ...raw, index: indexText });
      // Signals first: a preemption may come while the lab is still starting.
      let stopping: NodeJS.Signals | null = null;
      let lab: LabService | null = null;
      let training = false;
      const onSignal = (sig: NodeJS.Signals) => {
        if (stopping) return;
        stopping = sig;
        info(`${sig}: checkpointing member ${f.index} and stopping`);
        if (training) void lab?.dispose();
      };
      for (const s of ['SIGTERM', 'SIGUSR1', 'SIGINT'] as const) process.on(s, onSignal);
      const dir = resolve(sweepDir);
      const rec = await readSweep(dir);
      lab = await openLab(f.store ?? rec.storeRoot);
      const env = process.env;
      const job = env.SLURM_ARRAY_JOB_ID ? `${env.SLURM_ARRAY_JOB_ID}_${env.SLURM_ARRAY_TASK_ID ?? ''}` : (env.SLURM_JOB_ID ?? null);
      try {
        const out = await runMember(lab, dir, rec, f.index, {
          job,
          stopped: () => stopping !== null,
          onTraining: () => {
            training = true;
            if (stopping) void lab?.dispose();
          },
        });
        if (out.kind === 'owned-elsewhere') info(`member ${f.index} is run by pid ${out.owner?.pid ?? '?'} on ${out.owner?.host ?? '?'}; nothing to do`);
        else if (out.kind === 'stopped') info(`member ${f.index}: stopped before it started`);
        else info(`member ${f.index}: run ${out.run.id} ${memberEnd(out)}`);
        if ((out.kind === 'ran' || out.kind === 'stopped') && stopping === 'SIGUSR1' && (await requeueSelf())) info('requeued before the time limit');
        if (out.kind === 'ran' && out.run.status === 'failed') process.exitCode = 1;
      } finally {
        await lab.dispose();
      }
    });

  sweep
    .command('ls')
    .description('Sweeps of the store, newest first')
    .option('--store <dir>', 'run store folder')
    .option('--json', 'print JSON')
    .action(async (raw: Record<string, unknown>) => {
      const f = parseFlags(z.object({ store: z.string().optional(), json: z.boolean().default(false) }), raw);
      const storeRoot = storeOf(f.store);
      // The lab service's listing (sweepSummaries), in the CLI's snake_case JSON.
      const rows = (await sweepSummaries(new RunStore(storeRoot))).map((s) => ({
        sweep_id: s.id,
        name: s.name,
        executor: s.executor,
        created_at: s.createdAt,
        members: s.members,
        completed: s.completed,
        running: s.running,
        cancelled: s.cancelled,
      }));
      if (f.json) process.stdout.write(`${JSON.stringify(rows)}\n`);
      else {
        const cells = rows.map((r) => [r.sweep_id, r.name, r.executor, r.members, r.completed, r.running]);
        process.stdout.write(`${table(['sweep', 'name', 'executor', 'members', 'completed', 'running'], cells)}\n`);
      }
    });

  sweep
    .command('show')
    .description('Members (joined with Slurm) and per-group mean, std and 95% CI of test MSE / accuracy')
    .argument('<id>', 'sweep id or folder')
    .option('--store <dir>', 'run store folder')
    .option('--json', 'print JSON')
    .option('--csv', 'print CSV: a row per member and per group (mean, std, 95% CI)')
    .action(async (id: string, raw: Record<string, unknown>) => {
      const f = parseFlags(z.object({ store: z.string().optional(), json: z.boolean().default(false), csv: z.boolean().default(false) }), raw);
      if (f.json && f.csv) throw new InputError('--csv', 'choose --json or --csv');
      const dir = sweepDirOf(storeOf(f.store), id);
      const rec = await readSweep(dir);
      const s = await sweepStatus(new RunStore(rec.storeRoot), dir, rec);
      if (f.csv) process.stdout.write(sweepStatusCsv(s, (i) => rec.members[i]?.group ?? ''));
      else await printStatus(s, f.json);
    });

  sweep
    .command('cancel')
    .description('Cancel a sweep: queued members do not start; running ones checkpoint and end cancelled (slurm: scancel, interrupted)')
    .argument('<id>', 'sweep id or folder')
    .option('--store <dir>', 'run store folder')
    .action(async (id: string, raw: Record<string, unknown>) => {
      const f = parseFlags(z.object({ store: z.string().optional() }), raw);
      const dir = sweepDirOf(storeOf(f.store), id);
      const rec = await readSweep(dir);
      await writeFile(join(dir, CANCEL_FILE), new Date().toISOString());
      if (rec.executor.kind === 'slurm') {
        const jobs = await cancelSlurmSweep(dir);
        info(`scancel ${jobs.join(' ') || '(nothing submitted)'}`);
        return;
      }
      // The pool running the members (a `sweep run` here, or the app's lab service) watches the marker: its running
      // members stop at a checkpoint and end cancelled; `sweep resume` continues them.
      const owners = (await Promise.all(rec.members.map((m) => memberOwner(dir, m.index)))).filter((o) => o !== null);
      const hosts = [...new Set(owners.map((o) => `${o.host} (pid ${o.pid})`))];
      info(`sweep ${rec.id} cancelled${hosts.length ? `: the pool of ${hosts.join(', ')} stops its running members` : ''}`);
    });

  sweep
    .command('resume')
    .description('Resume a sweep: members not completed are run again (interrupted ones from their checkpoints)')
    .argument('<id>', 'sweep id or folder')
    .option('--store <dir>', 'run store folder')
    .option('--parallel <N>', "local: runs trained at once (default: the sweep's)")
    .option('--wait', 'slurm: wait until every member has ended')
    .option('--json', 'print the sweep status as JSON at the end')
    .action(async (id: string, raw: Record<string, unknown>) => {
      const f = parseFlags(
        z.object({ store: z.string().optional(), parallel: intFlag(1, 256).optional(), wait: z.boolean().default(false), json: z.boolean().default(false) }),
        raw,
      );
      const dir = sweepDirOf(storeOf(f.store), id);
      const rec = await readSweep(dir);
      const store = new RunStore(rec.storeRoot);
      await rm(join(dir, CANCEL_FILE), { force: true });
      const todo = await notCompleted(store, dir, rec);
      info(`sweep ${rec.id}: resuming ${todo.length} member(s)${todo.length ? `: ${todo.join(', ')}` : ''}`);
      if (todo.length === 0) return printStatus(await sweepStatus(store, dir, rec), f.json);
      if (rec.executor.kind === 'slurm') {
        await writeSbatchScript(rec, dir, rec.executor.slurm, taskCommand());
        info(`submitted as Slurm job ${await submitSweep(dir, todo)}`);
        if (f.wait) await printStatus(await waitSlurm(store, dir, rec, f.json), f.json);
        else if (f.json) await printStatus(await sweepStatus(store, dir, rec), true);
        return;
      }
      const lab = await openLab(rec.storeRoot);
      try {
        await runLocal(lab, dir, rec, f.parallel ?? rec.executor.parallel, todo, f.json);
      } finally {
        await lab.dispose();
      }
      await printStatus(await sweepStatus(store, dir, rec), f.json);
    });
}
