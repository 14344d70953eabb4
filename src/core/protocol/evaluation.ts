import { z } from 'zod';

/**
 * Evaluation records: every evaluation of a run (the test evaluation at the end of training and each later one) is
 * kept as its own record, never overwritten, with what it measured (kind), how (settings), on which weights
 * (checkpoint) and when. Stored one file per record (src/node/store/evaluations.ts).
 *
 * The run's headline test figure is defined once: the test evaluation made at the end of training, on the best
 * checkpoint by validation, with the run's configured test sequences (`RunRecord.results.testMse` /
 * `testAccuracy`, with its provenance in `results.testSource`). Later evaluations add records; they never change it.
 * A run trained longer (`continuations`) ends training again: its new end-of-training test becomes the headline, and
 * the earlier one stays as a record. An evaluation on a user's file (`data-test`, `settings.data`) is never the
 * headline, nor a `test` record: the headline stays on the run's own test split.
 */
export const EVALUATION_KINDS = [
  'test',
  'length',
  'velocity',
  'angular-velocity',
  'equivariance',
  'test-accuracy',
  'velocity-accuracy',
  /** Test MSE on sequences from a user's file (`eval RUN --data PATH`): its own kind, so it is never read as the run's test. */
  'data-test',
] as const;
export type EvaluationKind = (typeof EVALUATION_KINDS)[number];

/** training: the test evaluation at the end of training; evaluate: a later evaluation; legacy: read from an old store. */
export const EVALUATION_ORIGINS = ['training', 'evaluate', 'legacy'] as const;
export type EvaluationOrigin = (typeof EVALUATION_ORIGINS)[number];

export const checkpointRefSchema = z.object({ which: z.enum(['best', 'last']), step: z.number().int().nonnegative().nullable() }).strict();
export type CheckpointRef = z.infer<typeof checkpointRefSchema>;

/**
 * Sequences read from a user's path for an evaluation or a view (not the run's own data): which reader read them
 * (`kind`, e.g. npy), the path as given, the file's sha256 (hex), shape [N, T, H, W] and dtype.
 */
export const userDataSourceSchema = z
  .object({
    kind: z.string(),
    path: z.string(),
    sha256: z.string(),
    shape: z.array(z.number().int().nonnegative()),
    dtype: z.string(),
  })
  .strict();
export type UserDataSource = z.infer<typeof userDataSourceSchema>;

/** What an evaluation was asked to do: only the settings that apply to its kind are present. */
export const evaluationSettingsSchema = z
  .object({
    /** Test sequences (clips) per set, or per grid cell for velocity grids. */
    sequences: z.number().int().positive(),
    /** Velocity grid -R..R per axis (velocity kinds). */
    velocityRange: z.number().int().nonnegative(),
    /** Sequence lengths (length generalisation). */
    seqLens: z.array(z.number().int().positive()),
    /** Flows (equivariance). */
    flows: z.array(z.string()),
    /** data-test: the user's sequences evaluated (never the run's own test split). */
    data: userDataSourceSchema,
  })
  .partial()
  .strict();
export type EvaluationSettings = z.infer<typeof evaluationSettingsSchema>;

export const evaluationRecordSchema = z
  .object({
    format: z.literal('fernn-lab-evaluation'),
    /** Unique within the run; sorts by creation time (`20261204T114500123Z-test-ab12`, or `legacy-<name>`). */
    id: z.string().regex(/^[A-Za-z0-9_-]{1,128}$/),
    kind: z.enum(EVALUATION_KINDS),
    origin: z.enum(EVALUATION_ORIGINS),
    created_at: z.string(),
    /** The weights evaluated; null for an old-store evaluation that did not say. */
    checkpoint: checkpointRefSchema.nullable(),
    settings: evaluationSettingsSchema,
    /** The measurement, shaped as the matching field of EvaluationResults (test, length, velocity, ...). */
    result: z.unknown(),
  })
  .strict();
export type EvaluationRecord = z.infer<typeof evaluationRecordSchema>;

/** Provenance of the run's headline test figure (run.json results.testSource). */
export const testSourceSchema = z
  .object({
    /** The evaluation record it comes from (absent for runs trained before records existed). */
    evaluationId: z.string().optional(),
    checkpoint: z.enum(['best', 'last']),
    step: z.number().int().nonnegative().nullable(),
    sequences: z.number().int().positive(),
  })
  .strict();
export type TestSource = z.infer<typeof testSourceSchema>;
