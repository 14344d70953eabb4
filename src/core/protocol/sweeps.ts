import { z } from 'zod';
import { cartesian, groupKey, memberLabel, SWEEP_NAME_RE, type SweepValue } from '../sweeps/spec';
import type { GridStats } from '../sweeps/stats';
import { CELL_KIND_FACTS, isCellKind } from '../nn/modelKinds';
import { trainConfigSchema, type TrainConfig } from './run';

/**
 * Sweeps over the lab service: what the app (and any other client of ILabService) sends to create one, and the DTOs
 * it reads back. The CLI's spec files (core/sweeps/spec.ts) name `train` flags; a service request names TrainConfig
 * fields, as `startRun` does.
 */

const int = (min: number, max: number) => z.number().int().min(min).max(max);

/** Defaults and limits of a sweep request (one source: the service's schema and the app's form read these). */
export const SWEEP_DEFAULTS = { seeds: 2, maxSeeds: 32, maxValuesPerAxis: 16, maxMembers: 256 } as const;

export const slurmOptionsSchema = z
  .object({
    partition: z.string().min(1).optional(),
    time: z
      .string()
      .regex(/^[0-9:-]+$/, 'a Slurm time limit like 30, 1:00:00 or 1-00:00:00')
      .optional(),
    cpusPerTask: int(1, 1024).optional(),
    gpusPerTask: int(0, 64).optional(),
    mem: z
      .string()
      .regex(/^[0-9]+[KMGT]?$/, 'a Slurm memory size like 4G')
      .optional(),
    account: z.string().min(1).optional(),
    qos: z.string().min(1).optional(),
    arrayParallelism: int(1, 100000).optional(),
    sbatchArgs: z.array(z.string()).default([]),
    setup: z.string().optional(),
    /** Seconds before the time limit at which Slurm sends SIGUSR1 (checkpoint and requeue). */
    signalSeconds: int(1, 3600).default(60),
  })
  .strict();
export type SlurmOptions = z.infer<typeof slurmOptionsSchema>;

const scalar = z.union([z.string().max(200), z.number().finite(), z.boolean()]);
const configKey = z.string().regex(/^[a-z][A-Za-z0-9]*$/, 'a run setting (a TrainConfig field such as vRange)');

/**
 * createSweep's argument: `base` is a run's config (as startRun's), `grid` lists values of config fields (every
 * combination runs), `seeds` repeats each combination with seeds base.seed, base.seed + 1, …. A `model` axis without a
 * `vRange` axis gives its models without a velocity axis (G-RNN, 3D-CNN) vRange 0, as `train` does. Every member is
 * validated as a run config here, so a bad member is an error naming it and the field (`grid.vRange`, `base.hidden`)
 * before anything is created.
 */
export const createSweepSchema = z
  .object({
    name: z.string().regex(SWEEP_NAME_RE, 'use 1-64 of A-Z a-z 0-9 . _ -, starting with a letter or digit'),
    base: z.record(configKey, z.unknown()),
    grid: z.record(configKey, z.array(scalar).min(1, 'give at least one value').max(SWEEP_DEFAULTS.maxValuesPerAxis)).default({}),
    seeds: int(1, SWEEP_DEFAULTS.maxSeeds).default(SWEEP_DEFAULTS.seeds),
    executor: z
      .discriminatedUnion('kind', [
        z.object({ kind: z.literal('local'), parallel: int(1, 256).optional() }).strict(),
        z.object({ kind: z.literal('slurm'), slurm: slurmOptionsSchema.default({ sbatchArgs: [], signalSeconds: 60 }) }).strict(),
      ])
      .default({ kind: 'local' }),
  })
  .strict()
  .transform((req, ctx) => {
    if ('seed' in req.grid) {
      ctx.addIssue({ code: 'custom', path: ['grid', 'seed'], message: 'seeds come from `seeds` (base.seed, base.seed + 1, …); leave seed out of the grid' });
      return z.NEVER;
    }
    const combos = cartesian(req.grid);
    if (combos.length * req.seeds > SWEEP_DEFAULTS.maxMembers) {
      ctx.addIssue({ code: 'custom', path: ['grid'], message: `${combos.length * req.seeds} members; at most ${SWEEP_DEFAULTS.maxMembers}` });
      return z.NEVER;
    }
    const seed0 = typeof req.base.seed === 'number' ? req.base.seed : 0;
    const members: SweepRequestMember[] = [];
    for (const combo of combos) {
      for (let s = 0; s < req.seeds; s++) {
        const overrides: Record<string, SweepValue> = { ...combo, seed: seed0 + s };
        const index = members.length;
        // As `train` without --v-range: a model axis gives its models without a velocity axis (G-RNN, 3D-CNN) V = {0}.
        const model = combo.model;
        const noAxis = typeof model === 'string' && !('vRange' in req.grid) && !(isCellKind(model) && CELL_KIND_FACTS[model].lifted);
        const r = trainConfigSchema.safeParse({ ...req.base, ...overrides, ...(noAxis ? { vRange: 0 } : {}) });
        if (!r.success) {
          const issue = r.error.issues[0];
          const field = String(issue.path[0] ?? '');
          ctx.addIssue({
            code: 'custom',
            path: [field in req.grid ? 'grid' : 'base', ...issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p))],
            message: `${memberLabel({ index, overrides })}: ${issue.message}`,
          });
          return z.NEVER;
        }
        members.push({ index, overrides, group: groupKey(overrides), config: r.data });
      }
    }
    return { ...req, members };
  });
export type CreateSweepRequest = z.input<typeof createSweepSchema>;

export interface SweepRequestMember {
  index: number;
  overrides: Record<string, SweepValue>;
  group: string;
  config: TrainConfig;
}

export interface StatsJson {
  mean: number;
  std: number | null;
  ci95: [number, number] | null;
}

export interface SweepMemberStatus {
  index: number;
  run_id: string;
  overrides: Record<string, string | number | boolean>;
  /** The run's status once it exists; before: 'queued' while Slurm holds its task, else 'pending'. */
  status: string;
  test_mse?: number | null;
  test_accuracy?: number | null;
  slurm_job: string | null;
  slurm_state: string | null;
}

export type VelocityGridStats = GridStats & { velocities: number[] };

export interface SweepGroupStatus {
  key: string;
  n: number;
  completed: number;
  test_mse?: StatsJson | null;
  test_accuracy?: StatsJson | null;
  /** Per test-velocity cell over the members with a velocity evaluation (fernn-lab eval RUN_ID --kinds velocity). */
  velocity_mse?: VelocityGridStats;
  velocity_accuracy?: VelocityGridStats;
}

export type SweepExecutorKind = 'local' | 'slurm';

/** What `sweep show --json` prints and getSweep returns in `status`. */
export interface SweepStatus {
  sweep_id: string;
  name: string;
  executor: SweepExecutorKind;
  members: SweepMemberStatus[];
  groups: SweepGroupStatus[];
}

/** One row of listSweeps. */
export interface SweepSummary {
  id: string;
  name: string;
  executor: SweepExecutorKind;
  createdAt: string;
  members: number;
  completed: number;
  running: number;
  cancelled: boolean;
}

/** A mean curve of a group over its members: at each step the mean, sample std (null below two) and n. */
export interface MeanCurvePoint {
  step: number;
  mean: number;
  std: number | null;
  n: number;
}

export interface SweepGroupCurves {
  key: string;
  /** Training loss per step. */
  train: MeanCurvePoint[];
  /** Validation MSE (prediction) or validation accuracy (classification) per validation. */
  val: MeanCurvePoint[];
}

export interface SweepDetail {
  status: SweepStatus;
  createdAt: string;
  /** The group of each member, by index. */
  memberGroups: string[];
  /** Each member's training progress (steps done of its run's steps; 0 before the run exists). */
  progress: { index: number; step: number; steps: number }[];
  task: 'prediction' | 'classification';
  curves: SweepGroupCurves[];
  cancelled: boolean;
  /** Whether this service's local pool is running members of the sweep now. */
  active: boolean;
  /** Slurm sweeps: the array script (kept in the sweep's folder). */
  folder: string;
}

/** The executors a sweep can use here; one that cannot says why (e.g. no sbatch on PATH). */
export interface SweepExecutors {
  local: { available: true; defaultParallel: number; detail: string };
  slurm: { available: boolean; reason: string };
  /** The request's defaults and limits (SWEEP_DEFAULTS), for forms. */
  defaults: typeof SWEEP_DEFAULTS;
}

/** Tagged on progress events of sweep members. */
export interface SweepRef {
  id: string;
  index: number;
}
