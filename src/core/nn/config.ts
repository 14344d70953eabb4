import { z } from 'zod';
import { VelocitySet, type Velocity2 } from '../flows/velocity';
import { AngularVelocitySet } from '../flows/angularVelocity';
import type { Fibre, LiftAxis } from '../flows/flow';

import { ACTIVATIONS, POOLS, type Activation, type Pool } from '../protocol/trainDefaults';
import { ANY_CELL_KINDS, CELL_KINDS, CELL_KIND_FACTS, ROTATION_CELL_KINDS, cellKindFacts, type AnyCellKind } from './modelKinds';

// The kinds themselves (and their facts) are in modelKinds.ts, a pure module the renderer shares.
export { ANY_CELL_KINDS, CELL_KINDS, ROTATION_CELL_KINDS, type AnyCellKind };
export type CellKind = (typeof CELL_KINDS)[number];
export type RotationCellKind = (typeof ROTATION_CELL_KINDS)[number];
// The pooling and activation choices are listed with the training defaults (a pure module the renderer shares).
export { ACTIVATIONS, POOLS, type Activation, type Pool };

const velocitySchema = z.object({ vx: z.number().int(), vy: z.number().int() });

export const cellConfigSchema = z
  .object({
    kind: z.enum(ANY_CELL_KINDS),
    /** The velocity set V, in the order of the hidden state's V axis. */
    velocities: z.array(velocitySchema).min(1).max(1089),
    inChannels: z.number().int().min(1).max(64),
    hidden: z.number().int().min(1).max(1024),
    activation: z.enum(ACTIVATIONS),
    kernelU: z
      .number()
      .int()
      .min(1)
      .max(15)
      .refine((k) => k % 2 === 1, 'kernel sizes must be odd'),
    kernelH: z
      .number()
      .int()
      .min(1)
      .max(15)
      .refine((k) => k % 2 === 1, 'kernel sizes must be odd'),
    /** Rotation cells only: the order N of the rotation group C_N (each hidden field has N orientation channels). */
    group: z.number().int().min(1).max(72).optional(),
    /** Rotation cells only: the angular velocities (degrees per frame) of the velocity axis, in its order. */
    omegas: z.array(z.number().min(-360).max(360)).min(1).max(64).optional(),
  })
  .superRefine((c, ctx) => {
    const still = c.velocities.length === 1 && c.velocities[0].vx === 0 && c.velocities[0].vy === 0;
    if (c.kind === 'grnn' && !still) {
      ctx.addIssue({ code: 'custom', path: ['velocities'], message: 'a G-RNN has V = {(0,0)}' });
    }
    if (isRotationKind(c.kind)) {
      if (!still) ctx.addIssue({ code: 'custom', path: ['velocities'], message: 'a rotation cell has no translation velocities: V = {(0,0)}' });
      if (c.group === undefined) ctx.addIssue({ code: 'custom', path: ['group'], message: 'a rotation cell needs the group order N' });
      if (c.omegas === undefined) ctx.addIssue({ code: 'custom', path: ['omegas'], message: 'a rotation cell needs its angular velocities' });
      else if (new Set(c.omegas).size !== c.omegas.length) ctx.addIssue({ code: 'custom', path: ['omegas'], message: 'angular velocities must be distinct' });
      else if (c.kind === 'grnn-rot' && (c.omegas.length !== 1 || c.omegas[0] !== 0))
        ctx.addIssue({ code: 'custom', path: ['omegas'], message: 'a rotation G-RNN has omegas = [0]' });
    } else {
      if (c.group !== undefined)
        ctx.addIssue({ code: 'custom', path: ['group'], message: `only rotation cells (${ROTATION_CELL_KINDS.join(', ')}) have a group` });
      if (c.omegas !== undefined)
        ctx.addIssue({ code: 'custom', path: ['omegas'], message: `only rotation cells (${ROTATION_CELL_KINDS.join(', ')}) have angular velocities` });
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

const oddKernel = z
  .number()
  .int()
  .min(1)
  .max(15)
  .refine((k) => k % 2 === 1, 'kernel sizes must be odd');

/**
 * The per-frame convolutional input encoder of the recurrent classifiers (the reference's `conv_u_first` in
 * kth/train_kth_classification.py): layer i is conv(kernels[i], no bias) + [BatchNorm] + relu, its widths are
 * `channels` and then the cell's hidden size. Its output replaces the cell's conv_u term:
 *   h_{t+1}[v] = act( encoder(u_t) + conv_h(move_v(h_t[v])) ).
 */
export const encoderConfigSchema = z
  .object({
    /** Output channels of every layer but the last (the last outputs cell.hidden). Reference: [32, 64]. */
    channels: z.array(z.number().int().min(1).max(1024)).max(8),
    /** Kernel side of each layer, channels.length + 1 entries. Reference: [5, 3, 3]. */
    kernels: z.array(oddKernel).min(1).max(9),
    /** 'zeros': torch's default padding (the reference); 'circular': wrap-around, which keeps the encoder exactly
     *  equivariant to circular translations. */
    padding: z.enum(['zeros', 'circular']),
    /** BatchNorm2d after every conv (the reference: true); batch statistics per frame when training. */
    batchNorm: z.boolean(),
  })
  .superRefine((e, ctx) => {
    if (e.kernels.length !== e.channels.length + 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['kernels'],
        message: `needs one kernel per layer: ${e.channels.length + 1} (channels has ${e.channels.length} entries)`,
      });
    }
  });
export type EncoderConfig = z.infer<typeof encoderConfigSchema>;

/** The recurrent (FERNN / G-RNN / G-RNN+) sequence classifier. */
export const recurrentClassifierConfigSchema = z
  .object({
    arch: z.literal('classifier'),
    cell: cellConfigSchema,
    pool: z.enum(POOLS),
    numClasses: z.number().int().min(2).max(1000),
    /** Absent: frames enter through the cell's conv_u (configs written before the encoder existed mean this).
     *  Present: the cell's conv_u (and kernelU) is unused. Translation cells only. */
    encoder: encoderConfigSchema.optional(),
  })
  .superRefine((c, ctx) => {
    if (c.encoder && !(CELL_KINDS as readonly string[]).includes(c.cell.kind)) {
      ctx.addIssue({ code: 'custom', path: ['encoder'], message: `the input encoder is for translation cells (${CELL_KINDS.join(', ')}), not ${c.cell.kind}` });
    }
  });
export type RecurrentClassifierConfig = z.infer<typeof recurrentClassifierConfigSchema>;

/**
 * The 3D-CNN baseline (the reference's Video3DCNNClassifier): five conv3d 3x3x3 blocks (zero padding 1, no bias,
 * BatchNorm3d, relu) of widths w, 2w, 2w, 4w, 4w; the first strides time by temporalStride, the second and fourth
 * halve the frame; then a global space-time average pool and a linear layer.
 */
export const cnn3dConfigSchema = z.object({
  arch: z.literal('cnn3d'),
  inChannels: z.number().int().min(1).max(64),
  /** Channels of the first stage (the reference's `base`: 16 in its main). */
  width: z.number().int().min(1).max(512),
  numClasses: z.number().int().min(2).max(1000),
  /** Time stride of the first conv (reference: 2). */
  temporalStride: z.number().int().min(1).max(8),
});
export type Cnn3dConfig = z.infer<typeof cnn3dConfigSchema>;

/** Any sequence classifier, told apart by `arch`. */
export const classifierConfigSchema = z.discriminatedUnion('arch', [recurrentClassifierConfigSchema, cnn3dConfigSchema]);
export type ClassifierConfig = z.infer<typeof classifierConfigSchema>;

export const modelConfigSchema = z.discriminatedUnion('arch', [seq2seqConfigSchema, recurrentClassifierConfigSchema, cnn3dConfigSchema]);
export type ModelConfig = z.infer<typeof modelConfigSchema>;

/** Options every cell kind has (translation cells: CellOptions; rotation cells: rotationCell.ts RotationCellOptions). */
export interface CommonCellOptions {
  hidden: number;
  inChannels?: number;
  activation?: 'relu' | 'tanh';
  kernelU?: number;
  kernelH?: number;
}

export interface CellOptions extends CommonCellOptions {
  kind: CellKind;
  /** V = {-r..r}^2; ignored (must be 0 or absent) for grnn. */
  vRange?: number;
  /** An explicit V instead of a grid. */
  velocities?: readonly Velocity2[];
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
  return cellConfigSchema.parse({ kind: o.kind, velocities, ...commonCellFields(o) });
}

/** The common options with the reference's defaults: 1 input channel, relu, 3x3 kernels. */
export function commonCellFields(o: CommonCellOptions): Required<CommonCellOptions> {
  return { inChannels: o.inChannels ?? 1, hidden: o.hidden, activation: o.activation ?? 'relu', kernelU: o.kernelU ?? 3, kernelH: o.kernelH ?? 3 };
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

export interface EncoderOptions {
  channels?: readonly number[];
  kernels?: readonly number[];
  padding?: 'zeros' | 'circular';
  batchNorm?: boolean;
}

/** The reference's encoder (conv 5x5 -> 32, 3x3 -> 64, 3x3 -> hidden, each + BatchNorm + relu, zero padding), with
 *  any field overridden. Give `channels` without `kernels` and every layer after the first gets 3x3. */
export function makeEncoderConfig(o: EncoderOptions = {}): EncoderConfig {
  const channels = o.channels ?? [32, 64];
  const kernels = o.kernels ?? (o.channels ? [5, ...channels.map(() => 3)] : [5, 3, 3]);
  return encoderConfigSchema.parse({ channels: [...channels], kernels: [...kernels], padding: o.padding ?? 'zeros', batchNorm: o.batchNorm ?? true });
}

export interface ClassifierOptions {
  pool?: Pool;
  /** An input encoder (see makeEncoderConfig; `{}` is the reference's). Default: none, the frame enters through
   *  the cell's conv_u as in the Translating-MNIST models. */
  encoder?: EncoderOptions | null;
}

export function makeClassifierConfig(cell: CellConfig, numClasses: number, opts: ClassifierOptions = {}): RecurrentClassifierConfig {
  const encoder = opts.encoder ? makeEncoderConfig(opts.encoder) : undefined;
  return recurrentClassifierConfigSchema.parse({ arch: 'classifier', cell, pool: opts.pool ?? 'max', numClasses, ...(encoder ? { encoder } : {}) });
}

export interface Cnn3dOptions {
  numClasses: number;
  /** Default 16 (the reference's main). */
  width?: number;
  /** Default 1. */
  inChannels?: number;
  /** Default 2. */
  temporalStride?: number;
}

export function makeCnn3dConfig(o: Cnn3dOptions): Cnn3dConfig {
  return cnn3dConfigSchema.parse({
    arch: 'cnn3d',
    inChannels: o.inChannels ?? 1,
    width: o.width ?? 16,
    numClasses: o.numClasses,
    temporalStride: o.temporalStride ?? 2,
  });
}

export function velocitySetOf(cell: CellConfig): VelocitySet {
  return VelocitySet.fromList(cell.velocities);
}

/** Side of the G-RNN+ per-velocity depthwise kernel: 2r+1 for r the largest velocity component. */
export function shiftKernelSize(cell: CellConfig): number {
  return 2 * velocitySetOf(cell).radius + 1;
}

function isRotationKind(kind: AnyCellKind): kind is RotationCellKind {
  return CELL_KIND_FACTS[kind].flow === 'rotation';
}

/** A rotation cell (C_N fields, angular velocities) rather than a translation cell. */
export function isRotationCell(cell: CellConfig): cell is CellConfig & { kind: RotationCellKind; group: number; omegas: number[] } {
  return isRotationKind(cell.kind);
}

/** Channels of one slice of the hidden state: hidden, or hidden * N for rotation cells (N orientations per field). */
export function stateChannels(cell: CellConfig): number {
  return isRotationCell(cell) ? cell.hidden * cell.group : cell.hidden;
}

/** Slices of the hidden state's velocity axis. */
export function liftedSize(cell: CellConfig): number {
  return isRotationCell(cell) ? cell.omegas.length : cell.velocities.length;
}

/** The axis the hidden state is lifted over, as flows need it to act on the state. */
export function liftAxisOf(cell: CellConfig): LiftAxis {
  return isRotationCell(cell) ? { kind: 'rotation', omegas: cell.omegas, orientations: cell.group } : { kind: 'translation', velocities: cell.velocities };
}

/** What the hidden channels carry: C_N regular fields for rotation cells, nothing for translation cells. */
export function fibreOf(cell: CellConfig): Fibre {
  return isRotationCell(cell) ? { kind: 'regular', orientations: cell.group } : { kind: 'trivial' };
}

/** A cell without a velocity axis (G-RNN, rotation G-RNN): its hidden state is compared in space and fibre only. */
export function isUnlifted(cell: CellConfig): boolean {
  return !CELL_KIND_FACTS[cell.kind].lifted;
}

/** "G-RNN (rot, C8)", "FERNN-V2 (rot, C36)" (omegas -20..20 step 10), "FERNN-V1 (rot, C8, step 45)", "FERNN (rot, C8, |Ω|=2)". */
function describeRotationCell(cell: CellConfig): string {
  if (!isRotationCell(cell)) throw new Error(`not a rotation cell: ${cell.kind}`);
  const g = `C${cell.group}`;
  if (cell.kind === 'grnn-rot') return `G-RNN (rot, ${g})`;
  const sym = AngularVelocitySet.fromList(cell.omegas).symmetricRadius();
  if (sym === null) return `FERNN (rot, ${g}, |Ω|=${cell.omegas.length})`;
  return sym.step === 10 || sym.r === 0 ? `FERNN-V${sym.r} (rot, ${g})` : `FERNN-V${sym.r} (rot, ${g}, step ${sym.step})`;
}

/** "V1" for a grid {-1..1}^2, else "|V|=5". */
function velocityText(cell: CellConfig): { vs: string; grid: boolean } {
  const r = velocitySetOf(cell).gridRadius();
  return { vs: r === null ? `|V|=${cell.velocities.length}` : `V${r}`, grid: r !== null };
}

/** The label of every cell kind: the mapped type makes a kind without one a compile error. */
const CELL_LABELS: { readonly [K in AnyCellKind]: (cell: CellConfig) => string } = {
  fernn: (c) => {
    const { vs, grid } = velocityText(c);
    return grid ? `FERNN-${vs}` : `FERNN (${vs})`;
  },
  grnn: () => 'G-RNN',
  'grnn-plus': (c) => `G-RNN+ (${velocityText(c).vs})`,
  'fernn-rot': describeRotationCell,
  'grnn-rot': describeRotationCell,
};

/** A short human name: "FERNN-V1", "G-RNN", "G-RNN+ (V1)", "FERNN (|V|=5)", "FERNN-V2 (rot, C8)". */
export function describeCell(cell: CellConfig): string {
  cellKindFacts(cell.kind); // a kind that bypassed the schema is named, not labelled as another
  return CELL_LABELS[cell.kind](cell);
}
