import { z } from 'zod';
import { ANY_CELL_KINDS } from '../nn/config';
import { MODEL_LIMITS } from '../nn/modelKinds';
import { readFlowText } from '../flows/flowGrammar';
import type { EquivarianceReport } from '../metrics/equivariance';
import type { EvaluationRecord, UserDataSource } from './evaluation';
import type { MemoryEstimate } from './memory';
import type { MetricRecord, ProgressEvent, RunRecord, TrainConfig } from './run';
import type { RunSummary } from './runSummary';
import { DISTINCT_OMEGAS, trainConfigSchema } from './run';
import { createSweepSchema, type CreateSweepRequest, type SweepDetail, type SweepExecutors, type SweepSummary } from './sweeps';

/**
 * The lab's service: what the CLI, the Electron main process (over IPC) and the web host (over HTTP + WebSocket)
 * expose. Every argument and result is JSON; tensors never cross it. Each method's argument has a schema in
 * `serviceSchemas`, which every transport uses to validate what it receives.
 */
export interface ILabService {
  info(): Promise<LabInfo>;
  /** Every run as a summary (the fields lists show; full records: getRun). */
  listRuns(): Promise<RunList>;
  getRun(req: { id: string }): Promise<RunDetail>;
  startRun(req: StartRunRequest): Promise<RunRecord>;
  stopRun(req: { id: string }): Promise<RunRecord>;
  resumeRun(req: { id: string }): Promise<RunRecord>;
  /**
   * "Train longer": continues a completed run from its last checkpoint to `steps` steps in all (above the steps it has
   * trained), with the optimizer and loop state restored; recorded in the run's `continuations`.
   */
  trainLonger(req: TrainLongerRequest): Promise<RunRecord>;
  deleteRun(req: { id: string }): Promise<{ deleted: string }>;
  evaluateRun(req: EvaluateRequest): Promise<EvaluationResults>;
  estimateRun(req: { config: unknown }): Promise<RunEstimate>;
  probeEquivariance(req: ProbeRequest): Promise<ProbeResult>;
  previewFlow(req: FlowPreviewRequest): Promise<FramesDto>;
  predictions(req: PredictionsRequest): Promise<PredictionsDto>;
  listFlows(): Promise<FlowPreset[]>;
  saveFlow(req: FlowPreset): Promise<FlowPreset[]>;
  deleteFlow(req: { name: string }): Promise<FlowPreset[]>;
  /** Sweeps of the store (beside it, in sweeps/), newest first. */
  listSweeps(): Promise<SweepSummary[]>;
  /** A sweep's members joined with their runs, per group mean, std and 95% CI, mean curves and progress. */
  getSweep(req: { id: string }): Promise<SweepDetail>;
  /** Validates every member, creates the sweep and runs it (local: this service's pool; slurm: an sbatch array). */
  createSweep(req: CreateSweepRequest): Promise<SweepDetail>;
  /** Queued members do not start; running ones stop at a checkpoint and end cancelled (slurm: scancel). */
  cancelSweep(req: { id: string }): Promise<SweepDetail>;
  /** Runs every member that has not completed (cancelled and interrupted ones from their checkpoints). */
  resumeSweep(req: { id: string }): Promise<SweepDetail>;
  /** The executors a sweep can use here, with the reason one cannot (Slurm without sbatch on PATH). */
  sweepExecutors(): Promise<SweepExecutors>;
  /** Progress of running trainings; returns an unsubscribe function. */
  onDidProgress(listener: (e: ProgressEvent) => void): () => void;
}

export interface LabInfo {
  version: string;
  storeRoot: string;
  /** Backends and whether they can be used here, with the reason when not. */
  backends: { name: string; available: boolean; detail: string; gpu?: boolean }[];
  /** What 'auto' chooses here, and whether that runs on a GPU device (detail says why faster ones were skipped). */
  auto?: { name: string; detail: string; gpu: boolean };
  /** Which app shell serves the renderer, and why (e.g. the Electron binary is missing). */
  shell: { kind: 'electron' | 'web'; note?: string };
}

export interface RunList {
  /** Summaries (core/protocol/runSummary.ts), newest first: getRun gives a run's full record. */
  runs: RunSummary[];
  /** Folders in the store that are not readable runs (reported, skipped). */
  problems: { dir: string; reason: string }[];
}

/**
 * The run list in two parts, as the web client reads the page's first list (issue 16): the head (core/protocol/
 * runSummary.ts `listHead`: the view's first rows, exact), the number of runs in all, and `rest()`, which reads the
 * whole list (already received) when called, so the page can draw the head before it parses the rest.
 */
export interface RunListHead extends RunList {
  total: number;
  rest(): RunList;
}

export interface RunDetail {
  run: RunRecord;
  metrics: MetricRecord[];
  /** Every evaluation of the run, oldest first; none is ever replaced. The single source of evaluation results. */
  evaluations: EvaluationRecord[];
  /** The newest result of each kind (derived from `evaluations`; kept for older clients). */
  evals: Record<string, unknown>;
}

/** Images as flat arrays (row-major); shape names the axes. */
export interface FramesDto {
  /** [T, H, W] values in [0, 1] (or any float for hidden maps). */
  shape: number[];
  data: number[];
}

export interface PredictionsDto {
  runId: string;
  /** The weights that predicted: the best checkpoint by validation or the last one, and its step. */
  checkpoint: { which: 'best' | 'last'; step: number | null };
  /** Index of the first test sequence shown (samples are test sequences first .. first + N - 1; with `source`, sequences of that file). */
  first: number;
  /** Where the samples come from when they are a user's file (`data`); absent for the run's own test sequences. */
  source?: UserDataSource;
  /** Each [N, T, H, W]. */
  inputs: FramesDto;
  targets: FramesDto;
  predictions: FramesDto;
  /**
   * The motion of each sample, one entry per digit: translation velocities in px/frame (Flowing MNIST) or angular
   * velocities in degrees per frame (Rotating MNIST).
   */
  motions: { velocities?: { vx: number; vy: number }[]; omegas?: number[] }[];
}

export interface RunEstimate {
  backend: string;
  backendDetail: string;
  msPerStep: number;
  totalSec: number;
  /** Measured (steps timed here) or extrapolated. */
  basis: string;
  warning?: string;
  /**
   * Estimated peak memory of a training step on this backend, against the backend's limit (wasm: 4 GiB). A config
   * that does not fit is not timed (msPerStep and totalSec are 0) and cannot start; `message` says what fits.
   */
  memory?: MemoryEstimate;
}

export interface EvaluationResults {
  runId: string;
  test?: { mse: number; perStep: number[]; sequences: number };
  /** Per future step: mean and std of the MSE, and `blank`, the MSE of predicting blank frames (records before it lack it). */
  length?: Record<string, { mean: number[]; std: number[]; sequences: number; blank?: number[] }>;
  velocity?: { velocities: number[]; mse: number[][]; sequences: number };
  equivariance?: EquivarianceReport[];
  /** Rotating-MNIST runs: test MSE per fixed angular velocity (stored as evals/angular-velocity.json). */
  angular?: { omegas: number[]; mse: number[]; sequences: number };
  /** Classification runs: test accuracy and confusion[true][predicted] (stored as evals/test-accuracy.json). */
  testAccuracy?: { accuracy: number; confusion: number[][]; sequences: number };
  /** Classification runs: accuracy per fixed test velocity (evals/velocity-accuracy.json). */
  velocityAccuracy?: { velocities: number[]; accuracy: number[][]; sequences: number };
  /** The evaluation records this evaluation added to the run (one per kind). */
  records?: EvaluationRecord[];
  /** An evaluation on a user's file (`data`): the file; `test` then holds its MSE (recorded as kind data-test). */
  data?: UserDataSource;
}

export interface ProbeModelResult {
  label: string;
  report: EquivarianceReport;
  /** Hidden state per velocity slice over time, channel-averaged: [T, V, H, W] (the motion-stabilised view). */
  hidden?: FramesDto;
  velocities: { vx: number; vy: number }[];
  /** Rotation cells: the angular velocities of the hidden state's velocity axis (velocities is then {(0,0)}). */
  omegas?: number[];
}

export interface ProbeResult {
  flow: string;
  /** Where the input comes from when it is a sequence of a user's file (`data`); absent for an MNIST digit at rest. */
  source?: UserDataSource & { sequence: number };
  /** [T, H, W] input sequence (a moving digit), and its flowed version. */
  input: FramesDto;
  flowed: FramesDto;
  models: ProbeModelResult[];
}

const int = (min: number, max: number) => z.number().int().min(min).max(max);
/**
 * A user's file of sequences read by the service's machine (node/data/userSequences.ts: a .npy today): an absolute
 * path, since the caller's working folder means nothing there.
 */
export const userDataPathSchema = z
  .string()
  .min(1)
  .max(4096)
  .regex(/^(\/|[A-Za-z]:[\\/]|\\\\)/, 'must be an absolute path to a .npy file of sequences');
const runId = z.string().regex(/^[A-Za-z0-9._-]{1,128}$/, 'must be a run id (letters, digits, . _ -)');
const sweepId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,100}$/, 'must be a sweep id (letters, digits, . _ -)');
/** A flow text of any kind, read by the one flow grammar (core/flows/flowGrammar.ts). */
export const flowSpecSchema = z.string().superRefine((f, ctx) => {
  const r = readFlowText(f);
  if (r.error !== undefined) ctx.addIssue({ code: 'custom', message: r.error });
});

export const startRunSchema = z.object({ config: trainConfigSchema, name: z.string().max(200).optional() }).strict();
export type StartRunRequest = z.input<typeof startRunSchema>;

export const evaluateSchema = z
  .object({
    id: runId,
    kinds: z.array(z.enum(['test', 'length', 'velocity', 'equivariance'])).min(1),
    sequences: int(1, 10000).default(256),
    velocityRange: int(1, 6).default(2),
    seqLens: z.array(int(12, 200)).max(4).default([40, 70]),
    /** Flows of the equivariance evaluation; default: one velocity step of the run's motion (translate:1,0, or
     *  rotate:OMEGA_STEP for a Rotating-MNIST run). */
    flows: z.array(flowSpecSchema).min(1).max(8).optional(),
    /** Test MSE on the sequences of this user file instead (kinds: test only); recorded as a data-test evaluation. */
    data: userDataPathSchema.optional(),
  })
  .strict()
  .superRefine((r, ctx) => {
    if (r.data !== undefined && r.kinds.some((k) => k !== 'test'))
      ctx.addIssue({ code: 'custom', path: ['kinds'], message: 'with data, only test is measured (length, velocity and equivariance use generated data)' });
  });
export type EvaluateRequest = z.input<typeof evaluateSchema>;

export const trainLongerSchema = z.object({ id: runId, steps: int(1, 10_000_000) }).strict();
export type TrainLongerRequest = z.input<typeof trainLongerSchema>;

export const predictionsSchema = z
  .object({
    id: runId,
    /** Samples shown, and the index of the first test sequence (for "more samples"). */
    count: int(1, 32).default(8),
    first: int(0, 9999).default(0),
    checkpoint: z.enum(['best', 'last']).default('best'),
    /** Sequences from this user file instead of the run's test sequences. */
    data: userDataPathSchema.optional(),
  })
  .strict();
export type PredictionsRequest = z.input<typeof predictionsSchema>;

const probeModelSchema = z.union([
  z
    .object({
      kind: z.enum(ANY_CELL_KINDS),
      vRange: int(0, 4),
      hidden: int(MODEL_LIMITS.hidden.min, MODEL_LIMITS.hidden.max),
      seed: int(0, 2 ** 31 - 1).default(0),
      /** Rotation cells: N of C_N (default 8) and degrees per velocity step (default 10). */
      group: int(1, 72).optional(),
      omegaStep: z.number().positive().max(180).optional(),
    })
    .strict()
    .superRefine((m, ctx) => {
      if (m.kind === 'fernn-rot' && m.vRange * (m.omegaStep ?? 10) >= 180)
        ctx.addIssue({ code: 'custom', path: ['omegaStep'], message: DISTINCT_OMEGAS(m.vRange, m.omegaStep ?? 10) });
    }),
  z.object({ runId }).strict(),
]);
export const probeSchema = z
  .object({
    models: z.array(probeModelSchema).min(1).max(4),
    flow: flowSpecSchema,
    steps: int(1, 40).default(10),
    imageSize: int(8, 64).default(28),
    digit: int(0, 9999).default(0),
    withHidden: z.boolean().default(true),
    /** Input: the first `steps` frames of sequence `sequence` of this user file instead of an MNIST digit at rest
     *  (frames at the file's size; imageSize and digit do not apply). */
    data: userDataPathSchema.optional(),
    sequence: int(0, 10_000_000).default(0),
  })
  .strict();
export type ProbeRequest = z.input<typeof probeSchema>;

export const flowPreviewSchema = z
  .object({ flow: flowSpecSchema, digit: int(0, 9999).default(0), imageSize: int(8, 64).default(28), frames: int(1, 60).default(20) })
  .strict();
export type FlowPreviewRequest = z.input<typeof flowPreviewSchema>;

export const flowPresetSchema = z
  .object({
    name: z
      .string()
      .min(1)
      .max(60)
      .regex(/^[\w .+-]+$/, 'letters, digits, spaces and . _ + - only'),
    flow: flowSpecSchema,
    note: z.string().max(500).optional(),
  })
  .strict();
export type FlowPreset = z.infer<typeof flowPresetSchema>;

/** Argument schema of every method (no-argument methods take nothing). */
export const serviceSchemas = {
  info: null,
  listRuns: null,
  listFlows: null,
  getRun: z.object({ id: runId }).strict(),
  startRun: startRunSchema,
  stopRun: z.object({ id: runId }).strict(),
  resumeRun: z.object({ id: runId }).strict(),
  trainLonger: trainLongerSchema,
  deleteRun: z.object({ id: runId }).strict(),
  evaluateRun: evaluateSchema,
  estimateRun: z.object({ config: trainConfigSchema }).strict(),
  probeEquivariance: probeSchema,
  previewFlow: flowPreviewSchema,
  predictions: predictionsSchema,
  saveFlow: flowPresetSchema,
  deleteFlow: z.object({ name: z.string().min(1).max(60) }).strict(),
  listSweeps: null,
  getSweep: z.object({ id: sweepId }).strict(),
  createSweep: createSweepSchema,
  cancelSweep: z.object({ id: sweepId }).strict(),
  resumeSweep: z.object({ id: sweepId }).strict(),
  sweepExecutors: null,
} as const;
export type ServiceMethod = keyof typeof serviceSchemas;
export const SERVICE_METHODS = Object.keys(serviceSchemas) as ServiceMethod[];

export type { TrainConfig, RunSummary };
export type { CreateSweepRequest, SweepDetail, SweepExecutors, SweepSummary };
