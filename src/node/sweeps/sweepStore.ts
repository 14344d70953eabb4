import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { trainConfigSchema, type TrainConfig } from '../../core/protocol/run';
import { SWEEP_NAME_RE, sweepSpecSchema, type SweepSpec, type SweepValue } from '../../core/sweeps/spec';
import { slurmOptionsSchema, type SlurmOptions } from '../../core/protocol/sweeps';
import { InputError } from '../../core/util/errors';
import { writeFileAtomic } from '../store/atomicFile';

/**
 * The sweep store: one folder per sweep beside the run store, `<parent of the run store>/sweeps/<sweep id>/`
 * (as flows.json sits beside it), so the run store's own listing is untouched:
 *
 *   sweep.json            spec, executor and members (index, overrides, group, validated config); written once
 *   slurm.json            Slurm submissions (job ids), replaced atomically by the submitting command
 *   members/<i>.claim.<g>/owner.json   who runs member i (generation g; see memberClaim.ts)
 *   cancelled             present while the sweep is cancelled (removed by resume)
 *   sweep.sbatch, logs/   the Slurm executor's array script (kept) and task logs
 *
 * A member's run has the fixed id `<sweep id>-m<index>`, so creating it is idempotent on any node.
 */

export const SWEEP_FILE = 'sweep.json';
export const SLURM_FILE = 'slurm.json';
export const CANCEL_FILE = 'cancelled';

const value = z.union([z.string(), z.number(), z.boolean()]);

export { slurmOptionsSchema, type SlurmOptions };

export const executorSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('local'), parallel: z.number().int().min(1).max(256) }).strict(),
  z.object({ kind: z.literal('slurm'), slurm: slurmOptionsSchema }).strict(),
]);
export type ExecutorChoice = z.infer<typeof executorSchema>;

export const sweepMemberSchema = z
  .object({
    index: z.number().int().nonnegative(),
    overrides: z.record(z.string(), value),
    group: z.string(),
    config: trainConfigSchema,
  })
  .strict();
export type SweepMember = z.infer<typeof sweepMemberSchema>;

export const sweepRecordSchema = z
  .object({
    format: z.literal('fernn-lab-sweep'),
    formatVersion: z.literal(1),
    id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,100}$/),
    name: z.string().regex(SWEEP_NAME_RE),
    createdAt: z.string(),
    storeRoot: z.string().min(1),
    /** The spec file of a sweep made by the CLI (train flags). */
    spec: sweepSpecSchema.optional(),
    /** What the app asked for (createSweep: config fields), for a sweep made through the lab service. */
    request: z
      .object({ base: z.record(z.string(), z.unknown()), grid: z.record(z.string(), z.array(value)), seeds: z.number().int() })
      .strict()
      .optional(),
    executor: executorSchema,
    members: z.array(sweepMemberSchema).min(1),
  })
  .strict();
export type SweepRecord = z.infer<typeof sweepRecordSchema>;

export const slurmStateSchema = z.object({
  submissions: z.array(z.object({ jobId: z.string().regex(/^[0-9]+$/), at: z.string(), indices: z.array(z.number().int()) })),
});
export type SlurmState = z.infer<typeof slurmStateSchema>;

/** The sweeps folder of a run store. */
export function sweepsRootFor(storeRoot: string): string {
  return join(dirname(resolve(storeRoot)), 'sweeps');
}

/** The fixed run id of a sweep member. */
export function memberRunId(sweepId: string, index: number): string {
  return `${sweepId}-m${index}`;
}

/** The run name of a member (also its test-gate name). */
export function memberRunName(sweep: Pick<SweepRecord, 'name'>, index: number): string {
  return `${sweep.name}/${index}`;
}

export function makeSweepId(name: string, now: Date = new Date()): string {
  const iso = now.toISOString();
  return `${iso.slice(0, 10).replaceAll('-', '')}-${iso.slice(11, 19).replaceAll(':', '')}-${name}-${randomBytes(2).toString('hex')}`;
}

export interface NewSweep {
  name: string;
  spec?: SweepSpec;
  request?: { base: Record<string, unknown>; grid: Record<string, SweepValue[]>; seeds: number };
  executor: ExecutorChoice;
  members: { index: number; overrides: Record<string, SweepValue>; group: string; config: TrainConfig }[];
}

/** Creates a sweep folder (a fresh id, never an existing folder) with its sweep.json; returns its folder and record. */
export async function createSweep(storeRoot: string, s: NewSweep): Promise<{ dir: string; sweep: SweepRecord }> {
  const root = sweepsRootFor(storeRoot);
  await mkdir(root, { recursive: true });
  for (let attempt = 0; attempt < 16; attempt++) {
    const id = makeSweepId(s.name);
    const dir = join(root, id);
    try {
      await mkdir(dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw e;
    }
    const sweep = sweepRecordSchema.parse({
      format: 'fernn-lab-sweep',
      formatVersion: 1,
      id,
      name: s.name,
      createdAt: new Date().toISOString(),
      storeRoot: resolve(storeRoot),
      spec: s.spec,
      request: s.request,
      executor: s.executor,
      members: s.members,
    });
    try {
      await mkdir(join(dir, 'members'));
      await writeFileAtomic(join(dir, SWEEP_FILE), JSON.stringify(sweep, null, 2) + '\n');
    } catch (e) {
      await rm(dir, { recursive: true, force: true });
      throw e;
    }
    return { dir, sweep };
  }
  throw new Error(`could not find a free sweep id in ${root}`);
}

/** Reads and validates a sweep folder's sweep.json; errors name the file and the field. */
export async function readSweep(dir: string): Promise<SweepRecord> {
  const file = join(dir, SWEEP_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new InputError('sweep', `no sweep at ${dir} (no ${SWEEP_FILE})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new InputError('sweep', `${file} is not valid JSON (${(e as Error).message})`);
  }
  const r = sweepRecordSchema.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new InputError('sweep', `${file}: ${issue.path.map(String).join('.') || '(root)'}: ${issue.message}`);
  }
  return r.data;
}

/** A sweep's folder from an id (in the store's sweeps folder) or a path to the folder. */
export function sweepDirOf(storeRoot: string, idOrDir: string): string {
  if (idOrDir.includes('/')) return resolve(idOrDir);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,100}$/.test(idOrDir)) throw new InputError('sweep', `invalid sweep id ${JSON.stringify(idOrDir)}`);
  return join(sweepsRootFor(storeRoot), idOrDir);
}

/** Every readable sweep of a store, newest first; unreadable folders are skipped. */
export async function listSweeps(storeRoot: string): Promise<{ dir: string; sweep: SweepRecord }[]> {
  const root = sweepsRootFor(storeRoot);
  const names = await readdir(root).catch(() => [] as string[]);
  const out: { dir: string; sweep: SweepRecord }[] = [];
  for (const n of names) {
    const dir = join(root, n);
    const sweep = await readSweep(dir).catch(() => null);
    if (sweep && sweep.storeRoot === resolve(storeRoot)) out.push({ dir, sweep });
  }
  return out.sort((a, b) => (a.sweep.createdAt < b.sweep.createdAt ? 1 : a.sweep.createdAt > b.sweep.createdAt ? -1 : 0));
}

export async function readSlurmState(dir: string): Promise<SlurmState> {
  const text = await readFile(join(dir, SLURM_FILE), 'utf8').catch(() => null);
  if (text === null) return { submissions: [] };
  const r = slurmStateSchema.safeParse(JSON.parse(text));
  if (!r.success) throw new InputError('sweep', `${join(dir, SLURM_FILE)}: ${r.error.issues[0].path.join('.')}: ${r.error.issues[0].message}`);
  return r.data;
}

export async function addSlurmSubmission(dir: string, jobId: string, indices: number[]): Promise<void> {
  const s = await readSlurmState(dir);
  s.submissions.push({ jobId, at: new Date().toISOString(), indices });
  await writeFileAtomic(join(dir, SLURM_FILE), JSON.stringify(s, null, 2) + '\n');
}
