import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { addSlurmSubmission, readSlurmState, type SlurmOptions, type SweepRecord } from './sweepStore';

const run = promisify(execFile);

/**
 * The Slurm executor: an sbatch array script in the sweep's folder (kept, so a user can read and resubmit it), one
 * array task per member running `fernn-lab sweep task SWEEP_DIR INDEX`, which creates or resumes that member's run
 * in the shared store. Slurm does the scheduling; we only submit, ask and cancel.
 *
 * Time limits and preemption: Slurm sends SIGUSR1 to the task `signalSeconds` before the limit (--signal=B:USR1@S;
 * the task is the batch shell itself through exec); the task checkpoints, marks its run interrupted and requeues
 * itself. On SIGTERM (preemption, scontrol requeue, scancel) it checkpoints and exits; --requeue lets Slurm run it
 * again, and the new task resumes from the checkpoint.
 */

export const SBATCH_FILE = 'sweep.sbatch';

const q = (s: string): string => `'${s.replaceAll("'", "'\\''")}'`;

/** Array ranges in Slurm's syntax: [0,1,2,5] -> "0-2,5". */
export function arraySpec(indices: readonly number[]): string {
  const s = [...new Set(indices)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < s.length;) {
    let j = i;
    while (j + 1 < s.length && s[j + 1] === s[j] + 1) j++;
    parts.push(i === j ? String(s[i]) : `${s[i]}-${s[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

export interface TaskCommand {
  node: string;
  bin: string;
}

/** The array script: #SBATCH lines from the options, the --setup line, then exec of the member task. */
export function sbatchScript(sweep: SweepRecord, dir: string, o: SlurmOptions, cmd: TaskCommand): string {
  const lines = [
    '#!/bin/bash',
    `# fernn-lab sweep ${sweep.id} (${sweep.name}): one array task per member; resubmit with sbatch --array=LIST ${SBATCH_FILE}`,
    `#SBATCH --job-name=${q(`fernn-${sweep.name}`)}`,
    `#SBATCH --array=${arraySpec(sweep.members.map((m) => m.index))}${o.arrayParallelism ? `%${o.arrayParallelism}` : ''}`,
    `#SBATCH --output=${q(join(dir, 'logs', '%A_%a.out'))}`,
    '#SBATCH --open-mode=append',
    '#SBATCH --requeue',
    `#SBATCH --signal=B:USR1@${o.signalSeconds}`,
    ...(o.partition ? [`#SBATCH --partition=${q(o.partition)}`] : []),
    ...(o.time ? [`#SBATCH --time=${o.time}`] : []),
    ...(o.cpusPerTask ? [`#SBATCH --cpus-per-task=${o.cpusPerTask}`] : []),
    ...(o.gpusPerTask !== undefined ? [`#SBATCH --gpus-per-task=${o.gpusPerTask}`] : []),
    ...(o.mem ? [`#SBATCH --mem=${o.mem}`] : []),
    ...(o.account ? [`#SBATCH --account=${q(o.account)}`] : []),
    ...(o.qos ? [`#SBATCH --qos=${q(o.qos)}`] : []),
    ...o.sbatchArgs.map((a) => `#SBATCH ${a}`),
    ...(o.setup ? ['# --setup', o.setup] : []),
    // exec: the task is the batch shell, so B:USR1 and SIGTERM reach it directly.
    `exec ${q(cmd.node)} ${q(cmd.bin)} sweep task ${q(dir)} "$SLURM_ARRAY_TASK_ID" --store ${q(sweep.storeRoot)}`,
    '',
  ];
  return lines.join('\n');
}

/** Writes the script into the sweep folder (and logs/). */
export async function writeSbatchScript(sweep: SweepRecord, dir: string, o: SlurmOptions, cmd: TaskCommand): Promise<string> {
  await mkdir(join(dir, 'logs'), { recursive: true });
  const file = join(dir, SBATCH_FILE);
  await writeFile(file, sbatchScript(sweep, dir, o, cmd), { mode: 0o755 });
  return file;
}

/** Submits the sweep's script for `indices` with `sbatch --parsable`; records and returns the job id. */
export async function submitSweep(dir: string, indices: number[]): Promise<string> {
  const { stdout } = await run('sbatch', ['--parsable', `--array=${arraySpec(indices)}`, join(dir, SBATCH_FILE)], { cwd: dir });
  const jobId = stdout.trim().split(';')[0];
  if (!/^[0-9]+$/.test(jobId)) throw new Error(`sbatch answered ${JSON.stringify(stdout.trim())}, not a job id`);
  await addSlurmSubmission(dir, jobId, indices);
  return jobId;
}

/** Whether sbatch is on PATH (the Slurm executor's precondition), with the reason when not. */
export async function slurmAvailable(): Promise<{ ok: boolean; reason: string }> {
  try {
    await run('sbatch', ['--version']);
    return { ok: true, reason: 'sbatch found' };
  } catch (e) {
    return { ok: false, reason: `sbatch is not usable here (${(e as Error).message.split('\n')[0]})` };
  }
}

/** The Slurm job of each member (the latest submission holding it): `<job>_<index>`. */
export async function memberJobs(dir: string): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  for (const s of (await readSlurmState(dir)).submissions) for (const i of s.indices) out.set(i, `${s.jobId}_${i}`);
  return out;
}

/**
 * States of array tasks by `<job>_<index>`: squeue for live ones, then sacct (where accounting is on) for ended
 * ones. A tool that fails (no accounting, no controller) contributes nothing.
 */
export async function slurmStates(jobIds: readonly string[]): Promise<Map<string, string>> {
  const states = new Map<string, string>();
  if (jobIds.length === 0) return states;
  const ids = [...new Set(jobIds)].join(',');
  const sacct = await run('sacct', ['-n', '-P', '-X', '-j', ids, '-o', 'JobID,State']).catch(() => null);
  for (const line of sacct?.stdout.split('\n') ?? []) {
    const [id, state] = line.trim().split('|');
    if (id && state && /^\d+_\d+$/.test(id)) states.set(id, state.split(' ')[0]);
  }
  const squeue = await run('squeue', ['-h', '-r', '-t', 'all', '-j', ids, '-o', '%i|%T']).catch(() => null);
  for (const line of squeue?.stdout.split('\n') ?? []) {
    const [id, state] = line.trim().split('|');
    if (id && state) states.set(id, state);
  }
  return states;
}

/** Cancels every submission of the sweep (scancel; tasks get SIGTERM, checkpoint and end interrupted). */
export async function cancelSlurmSweep(dir: string): Promise<string[]> {
  const jobs = [...new Set((await readSlurmState(dir)).submissions.map((s) => s.jobId))];
  if (jobs.length) await run('scancel', jobs);
  return jobs;
}

/** Requeues this array task (from inside it, on SIGUSR1 before the time limit). */
export async function requeueSelf(env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  const job = env.SLURM_ARRAY_JOB_ID && env.SLURM_ARRAY_TASK_ID ? `${env.SLURM_ARRAY_JOB_ID}_${env.SLURM_ARRAY_TASK_ID}` : env.SLURM_JOB_ID;
  if (!job) return false;
  await run('scontrol', ['requeue', job]);
  return true;
}
