import { z } from 'zod';
import { VelocitySet, type Velocity2 } from '../flows/velocity';

/** fernn: lifted over V with built-in per-velocity shifts; grnn: V = {0}; grnn-plus: shifts replaced by learned
 *  per-velocity depthwise kernels of size 2r+1 (same compute as the FERNN, no built-in equivariance). */
export const CELL_KINDS = ['fernn', 'grnn', 'grnn-plus'] as const;
export type CellKind = (typeof CELL_KINDS)[number];
export const POOLS = ['max', 'mean', 'sum'] as const;
export type Pool = (typeof POOLS)[number];

const velocitySchema = z.object({ vx: z.number().int(), vy: z.number().int() });

export const cellConfigSchema = z
  .object({
    kind: z.enum(CELL_KINDS),
    /** The velocity set V, in the order of the hidden state's V axis. */
    velocities: z.array(velocitySchema).min(1).max(1089),
    inChannels: z.number().int().min(1).max(64),
    hidden: z.number().int().min(1).max(1024),
    activation: z.enum(['relu', 'tanh']),
    kernelU: z.number().int().min(1).max(15).refine((k) => k % 2 === 1, 'kernel sizes must be odd'),
    kernelH: z.number().int().min(1).max(15).refine((k) => k % 2 === 1, 'kernel sizes must be odd'),
  })
  .superRefine((c, ctx) => {
    if (c.kind === 'grnn' && (c.velocities.length !== 1 || c.velocities[0].vx !== 0 || c.velocities[0].vy !== 0)) {
      ctx.addIssue({ code: 'custom', path: ['velocities'], message: 'a G-RNN has V = {(0,0)}' });
    }
  });
export type CellConfig = z.infer<typeof cellConfigSchema>;

export const seq2seqConfigSchema = z.object({
  arch: z.literal('seq2seq'),
  cell: cellConfigSchema,
  decoderLayers: z.number().int().min(0).max(16),
  pool: z.enum(POOLS),
  outChannels: z.number().int().min(1).max(64),
});
export type Seq2SeqConfig = z.infer<typeof seq2seqConfigSchema>;

export const classifierConfigSchema = z.object({
  arch: z.literal('classifier'),
  cell: cellConfigSchema,
  pool: z.enum(POOLS),
  numClasses: z.number().int().min(2).max(1000),
});
export type ClassifierConfig = z.infer<typeof classifierConfigSchema>;

export const modelConfigSchema = z.discriminatedUnion('arch', [seq2seqConfigSchema, classifierConfigSchema]);
export type ModelConfig = z.infer<typeof modelConfigSchema>;

export interface CellOptions {
  kind: CellKind;
  /** V = {-r..r}^2; ignored (must be 0 or absent) for grnn. */
  vRange?: number;
  /** An explicit V instead of a grid. */
  velocities?: readonly Velocity2[];
  hidden: number;
  inChannels?: number;
  activation?: 'relu' | 'tanh';
  kernelU?: number;
  kernelH?: number;
}

/** Builds and validates a cell config with the reference's defaults (3x3 kernels, relu, 1 input channel). */
export function makeCellConfig(o: CellOptions): CellConfig {
  let velocities: Velocity2[];
  if (o.kind === 'grnn') {
    if (o.vRange !== undefined && o.vRange !== 0) throw new Error(`v_range: a G-RNN has no velocity axis (V = {0}); got ${o.vRange}`);
    velocities = [{ vx: 0, vy: 0 }];
  } else if (o.velocities) {
    velocities = VelocitySet.fromList(o.velocities).toJSON();
  } else {
    velocities = VelocitySet.grid(o.vRange ?? 1).toJSON();
  }
  return cellConfigSchema.parse({
    kind: o.kind,
    velocities,
    inChannels: o.inChannels ?? 1,
    hidden: o.hidden,
    activation: o.activation ?? 'relu',
    kernelU: o.kernelU ?? 3,
    kernelH: o.kernelH ?? 3,
  });
}

export function makeSeq2SeqConfig(cell: CellConfig, opts: { decoderLayers?: number; pool?: Pool; outChannels?: number } = {}): Seq2SeqConfig {
  return seq2seqConfigSchema.parse({
    arch: 'seq2seq',
    cell,
    decoderLayers: opts.decoderLayers ?? 1,
    pool: opts.pool ?? 'max',
    outChannels: opts.outChannels ?? cell.inChannels,
  });
}

export function makeClassifierConfig(cell: CellConfig, numClasses: number, opts: { pool?: Pool } = {}): ClassifierConfig {
  return classifierConfigSchema.parse({ arch: 'classifier', cell, pool: opts.pool ?? 'max', numClasses });
}

export function velocitySetOf(cell: CellConfig): VelocitySet {
  return VelocitySet.fromList(cell.velocities);
}

/** Side of the G-RNN+ per-velocity depthwise kernel: 2r+1 for r the largest velocity component. */
export function shiftKernelSize(cell: CellConfig): number {
  return 2 * velocitySetOf(cell).radius + 1;
}

/** A short human name: "FERNN-V1", "G-RNN", "G-RNN+ (V1)", "FERNN (|V|=5)". */
export function describeCell(cell: CellConfig): string {
  const r = velocitySetOf(cell).gridRadius();
  const vs = r === null ? `|V|=${cell.velocities.length}` : `V${r}`;
  if (cell.kind === 'grnn') return 'G-RNN';
  if (cell.kind === 'grnn-plus') return `G-RNN+ (${vs})`;
  return r === null ? `FERNN (${vs})` : `FERNN-${vs}`;
}
