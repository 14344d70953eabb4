import { z } from 'zod';
import { CELL_KINDS, POOLS } from '../nn/config';

/**
 * The DTOs of a training run, shared by every transport (CLI, IPC, HTTP) and the run store. One schema per DTO;
 * boundaries validate with these and report the failing field.
 */
const int = (min: number, max: number) => z.number().int().min(min).max(max);

export const BACKEND_CHOICES = ['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu'] as const;

export const trainConfigSchema = z
  .object({
    model: z.enum(CELL_KINDS),
    /** FERNN/G-RNN+ velocity set V = {-r..r}^2; must be 0 for the G-RNN. */
    vRange: int(0, 4),
    hidden: int(1, 256),
    decoderLayers: int(0, 8).default(1),
    pool: z.enum(POOLS).default('max'),
    batch: int(1, 512).default(16),
    steps: int(1, 10_000_000),
    lr: z.number().positive().max(1).default(1e-3),
    /** Global grad-norm clip (reference 1.0); 0 disables. */
    clipNorm: z.number().min(0).max(1e6).default(1),
    teacherForcing: z.number().min(0).max(1).default(0),
    /** Each digit's integer velocity components are drawn from -D..D. */
    dataVRange: int(0, 8).default(2),
    /**
     * Instead of the range: each digit moves with one of these velocities (e.g. saved flows of the flow designer),
     * drawn uniformly per digit. Test sequences use the same motions.
     */
    dataVelocities: z
      .array(z.object({ vx: z.number().int().min(-8).max(8), vy: z.number().int().min(-8).max(8) }).strict())
      .min(1)
      .max(64)
      .optional(),
    imageSize: int(8, 64).default(28),
    numDigits: int(1, 4).default(2),
    inputFrames: int(1, 50).default(10),
    predFrames: int(1, 50).default(10),
    seed: int(0, 2 ** 31 - 1).default(0),
    /** Validate every N steps (and at the end). */
    valEvery: int(1, 1_000_000).default(100),
    /** Sequences in the validation and test sets used by the run. */
    valSequences: int(1, 6000).default(256),
    testSequences: int(1, 10000).default(256),
    /** Stop when validation has not improved for this many validations (0: never). */
    earlyStopPatience: int(0, 1000).default(0),
    /** Stop with reason 'diverged' when the training loss exceeds this multiple of its first value. */
    divergenceFactor: z.number().min(1).max(1e9).default(1e4),
    backend: z.enum(BACKEND_CHOICES).default('auto'),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.model === 'grnn' && c.vRange !== 0) ctx.addIssue({ code: 'custom', path: ['vRange'], message: 'a G-RNN has V = {0}: vRange must be 0' });
  });
export type TrainConfig = z.infer<typeof trainConfigSchema>;
export type TrainConfigInput = z.input<typeof trainConfigSchema>;

export const RUN_STATUSES = ['queued', 'running', 'completed', 'cancelled', 'failed', 'interrupted'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** Why a run ended, when it did not simply complete. */
export const END_REASONS = ['cancelled', 'early_stop', 'nan_loss', 'diverged', 'out_of_memory', 'worker_died', 'error', 'interrupted'] as const;
export type EndReason = (typeof END_REASONS)[number];

/** run.json */
export const runRecordSchema = z.object({
  format: z.literal('fernn-lab-run'),
  formatVersion: z.literal(1),
  id: z.string().regex(/^[A-Za-z0-9._-]{1,128}$/),
  name: z.string().max(200).optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
  status: z.enum(RUN_STATUSES),
  /** Set when the run ended other than by completing. */
  endReason: z.enum(END_REASONS).optional(),
  endMessage: z.string().optional(),
  config: trainConfigSchema,
  /** Seeds actually used: weights and data streams. */
  seeds: z.object({ init: z.number().int(), data: z.number().int() }),
  backend: z.object({ name: z.string(), detail: z.string() }).nullable(),
  versions: z.record(z.string(), z.string()),
  params: z.number().int().nonnegative(),
  /** Process that owns a running run: a running run whose process is gone is reported as interrupted. */
  owner: z.object({ pid: z.number().int(), host: z.string(), heartbeatAt: z.string() }).nullable(),
  progress: z.object({
    step: z.number().int().nonnegative(),
    epoch: z.number().nonnegative(),
    lastTrainLoss: z.number().nullable(),
    bestValMse: z.number().nullable(),
    bestStep: z.number().int().nullable(),
    /** Step of checkpoints/last.safetensors, the resume point. */
    checkpointStep: z.number().int().nullable(),
  }),
  timings: z.object({
    startedAt: z.string().nullable(),
    endedAt: z.string().nullable(),
    /** Training wall time summed over sessions (resumes add to it). */
    trainMs: z.number().nonnegative(),
    msPerStepMedian: z.number().nullable(),
  }),
  results: z
    .object({
      valMse: z.number().nullable(),
      testMse: z.number().nullable(),
    })
    .partial()
    .optional(),
});
export type RunRecord = z.infer<typeof runRecordSchema>;

/** One line of metrics.jsonl. */
export const metricRecordSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('train'), step: z.number().int(), epoch: z.number(), loss: z.number().nullable(), gradNorm: z.number().nullable(), msPerStep: z.number(), t: z.string() }),
  z.object({ kind: z.literal('val'), step: z.number().int(), mse: z.number(), best: z.boolean(), t: z.string() }),
  z.object({ kind: z.literal('event'), step: z.number().int(), event: z.string(), message: z.string().optional(), t: z.string() }),
]);
export type MetricRecord = z.infer<typeof metricRecordSchema>;

/** Progress event from a training run (worker -> service -> transports). */
export interface ProgressEvent {
  runId: string;
  step: number;
  totalSteps: number;
  epoch: number;
  loss: number | null;
  valMse: number | null;
  bestValMse: number | null;
  stepsPerSec: number;
  etaSec: number | null;
  status: RunStatus;
}
