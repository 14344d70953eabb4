import { mod } from '../util/math';
import { z } from 'zod';
import { createRng, type Rng, streamSeed } from '../util/rng';
import { InputError } from '../util/errors';
import type { Velocity2 } from '../flows/velocity';
import type { IdxImages } from './idx';

/**
 * Flowing (translating) MNIST, the data of the reference protocol (`moving_mnist_fp/moving_mnist_dataset.py`):
 * each sequence overlays `numDigits` digits, each with a random integer start position on the pixel torus and its
 * own integer velocity; frame t of a digit is `roll(canvas, (y0 + vy*t, x0 + vx*t))` with torch.roll semantics
 * (the convention of src/core/nn/circular.ts `roll` and TranslationFlow), the digits are summed and clamped to
 * [0, 1]. Everything is plain typed arrays so a batch can cross a worker boundary; see tensor.ts for tensors.
 */

/** Speeds beyond this are pointless on any frame size we support and usually a typo. */
export const MAX_SPEED = 64;
/** Number of images in the MNIST training set; the reference holds out 10 % of it for validation. */
export const MNIST_TRAIN_COUNT = 60000;

const velocitySchema = z.object({
  vx: z.number().int().min(-MAX_SPEED).max(MAX_SPEED),
  vy: z.number().int().min(-MAX_SPEED).max(MAX_SPEED),
});

/**
 * How each digit's velocity is chosen:
 * - `range`: vx and vy independently uniform in -range..range (the reference's `data_v_range`, default 2);
 * - `list`: uniform over an explicit list of allowed velocities;
 * - `fixed`: every digit moves with the same velocity (one cell of a velocity-generalisation grid).
 */
export const velocitySpecSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('range'), range: z.number().int().min(0).max(MAX_SPEED) }),
  z.strictObject({ kind: z.literal('list'), velocities: z.array(velocitySchema).min(1).max(4096) }),
  z.strictObject({ kind: z.literal('fixed'), velocity: velocitySchema }),
]);
export type VelocitySpec = z.infer<typeof velocitySpecSchema>;

/** The fields both MNIST generators' configs share (Flowing MNIST; Rotating MNIST, rotatingMnist.ts). */
export const sequenceConfigFields = {
  /** Digits per sequence (reference: 2); 1 gives the single-digit (classification) variant. */
  numDigits: z.number().int().min(1).max(10).default(2),
  /** Square frame side H = W (reference: 28). Digits are downsampled (integer factor, area average) to fit smaller
   *  frames and centred on a zero canvas in larger ones. */
  imageSize: z.number().int().min(4).max(256).default(28),
  /** Frames per sequence (reference: 20 = 10 input + 10 predicted). */
  seqLen: z.number().int().min(1).max(1000).default(20),
};

export const flowingMnistConfigSchema = z.strictObject({
  ...sequenceConfigFields,
  velocity: velocitySpecSchema.default({ kind: 'range', range: 2 }),
});
/** What callers may pass (every field optional). */
export type FlowingMnistConfigInput = z.input<typeof flowingMnistConfigSchema>;
/** The validated config with defaults filled in. */
export type FlowingMnistConfig = z.output<typeof flowingMnistConfigSchema>;

/** Validates a config; errors are InputErrors whose field is the offending path (e.g. `velocity.range`). */
export function parseFlowingMnistConfig(input: unknown): FlowingMnistConfig {
  return parseGeneratorConfig(flowingMnistConfigSchema, input, 'kind plus range | velocities | velocity (by kind)');
}

/**
 * Validates a generator config against its strict schema. Errors are InputErrors naming the offending path; an
 * unknown key lists the allowed ones (`nestedAllowed` describes those of the nested motion spec).
 */
export function parseGeneratorConfig<T>(schema: z.ZodType<T> & { shape: Record<string, unknown> }, input: unknown, nestedAllowed: string): T {
  const r = schema.safeParse(input ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  if (issue.code === 'unrecognized_keys') {
    const prefix = issue.path.length > 0 ? `${issue.path.join('.')}.` : '';
    const allowed = issue.path.length === 0 ? Object.keys(schema.shape).join(', ') : nestedAllowed;
    throw new InputError(issue.keys.map((k) => prefix + k).join(', '), `unknown field; allowed: ${allowed}`);
  }
  throw new InputError(issue.path.length > 0 ? issue.path.join('.') : 'config', issue.message);
}

/** The digits a generator draws from: an image stack, its labels, and the indices of one split. */
export interface DigitSource {
  readonly images: IdxImages;
  /** One label per image (0..9 for MNIST). */
  readonly labels: Uint8Array;
  /** The split: indices into `images` that may be drawn (with replacement, as the reference does). */
  readonly indices: Int32Array | readonly number[];
}

/**
 * One batch, all row-major typed arrays.
 * frames [B, T, H, W, 1] float32 in [0, 1]; velocities and starts [B, numDigits, 2] as (x, y) pairs, i.e. (vx, vy)
 * and (x0, y0); labels and digitIndices [B, numDigits].
 */
export interface FlowingMnistBatch {
  readonly frames: Float32Array;
  readonly shape: readonly [number, number, number, number, 1];
  readonly numDigits: number;
  readonly velocities: Int32Array;
  readonly starts: Int32Array;
  readonly labels: Uint8Array;
  readonly digitIndices: Int32Array;
}

/** Guards the typed-array size so a silly batch size fails with a message, not a RangeError deep inside. */
const MAX_FRAME_ELEMENTS = 2 ** 28;

/**
 * What the seeded MNIST generators share (Flowing MNIST, Rotating MNIST): the seed, the digit sprites, the frame
 * shape, and batches as runs of the seeded stream, so that `batch(i, B)` is sequences i*B .. i*B+B-1 whatever order
 * batches are requested in, on any machine.
 */
export abstract class SeededMnistStream<C extends { readonly seqLen: number; readonly imageSize: number; readonly numDigits: number }, B> {
  readonly seed: number;
  protected readonly digits: DigitSprites;

  protected constructor(
    readonly config: C,
    source: DigitSource,
    seed: number,
  ) {
    this.seed = checkSeed(seed);
    this.digits = new DigitSprites(source, config.imageSize);
  }

  /** Frame shape [T, H, W, 1] of one sequence. */
  get sequenceShape(): readonly [number, number, number, 1] {
    const { seqLen, imageSize } = this.config;
    return [seqLen, imageSize, imageSize, 1];
  }

  /**
   * Batch number `index`: sequences index*batchSize .. index*batchSize + batchSize - 1 of the seeded stream.
   * @returns frames [batchSize, T, H, W, 1] and per-digit metadata
   */
  batch(index: number, batchSize: number): B {
    if (!Number.isSafeInteger(index) || index < 0) throw new InputError('index', `must be an integer >= 0, got ${index}`);
    if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new InputError('batchSize', `must be an integer >= 1, got ${batchSize}`);
    return this.sequences(index * batchSize, batchSize);
  }

  /**
   * Sequences start .. start+count-1 of the seeded stream.
   * @returns frames [count, T, H, W, 1] and per-digit metadata
   */
  abstract sequences(start: number, count: number): B;

  /**
   * Renders sequences start .. start+count-1: draws each (`draw`, seeded by its index), renders each of its digits'
   * sprite and lets `place` add it to the sequence's frames (and record its motion), then clamps overlaps to 1.
   * @returns frames [count, T, H, W, 1] with each digit's label and source index [count, numDigits]
   */
  protected render<D extends { digits: number[] }>(
    start: number,
    count: number,
    draw: (k: number) => D,
    place: (out: Float32Array, sprite: Float32Array, d: D, n: number, m: number) => void,
  ): { frames: Float32Array; shape: [number, number, number, number, 1]; labels: Uint8Array; digitIndices: Int32Array } {
    const perSequence = this.checkRange(start, count);
    const { imageSize: s, seqLen: t } = this.config;
    const numDigits = this.config.numDigits;
    const frames = new Float32Array(count * perSequence);
    const labels = new Uint8Array(count * numDigits);
    const digitIndices = new Int32Array(count * numDigits);
    const sprite = new Float32Array(this.digits.rows * this.digits.cols);
    for (let b = 0; b < count; b++) {
      const d = draw(start + b);
      const out = frames.subarray(b * perSequence, (b + 1) * perSequence);
      for (let n = 0; n < numDigits; n++) {
        const m = b * numDigits + n;
        const k = d.digits[n];
        digitIndices[m] = k;
        labels[m] = this.digits.labels[k];
        this.digits.render(k, sprite);
        place(out, sprite, d, n, m);
      }
      // Pixel values are >= 0, so clamping to [0, 1] only needs the upper bound (overlaps of summed digits).
      for (let i = 0; i < out.length; i++) if (out[i] > 1) out[i] = 1;
    }
    return { frames, shape: [count, t, s, s, 1], labels, digitIndices };
  }

  /** Checks a `sequences` range (InputErrors naming the argument) and returns the floats of one sequence. */
  protected checkRange(start: number, count: number): number {
    if (!Number.isSafeInteger(start) || start < 0) throw new InputError('start', `must be an integer >= 0, got ${start}`);
    if (!Number.isSafeInteger(count) || count < 1) throw new InputError('count', `must be an integer >= 1, got ${count}`);
    const { imageSize: s, seqLen: t } = this.config;
    const perSequence = t * s * s;
    if (count * perSequence > MAX_FRAME_ELEMENTS) {
      throw new InputError('batchSize', `${count} sequences of ${t}x${s}x${s} exceed ${MAX_FRAME_ELEMENTS} floats; use smaller batches`);
    }
    return perSequence;
  }
}

/** A seeded, pure Flowing-MNIST generator: sequence k of the stream depends only on (seed, k, config, source). */
export class FlowingMnist extends SeededMnistStream<FlowingMnistConfig, FlowingMnistBatch> {
  constructor(config: FlowingMnistConfigInput, source: DigitSource, seed: number) {
    super(parseFlowingMnistConfig(config), source, seed);
  }

  sequences(start: number, count: number): FlowingMnistBatch {
    const { numDigits } = this.config;
    const velocities = new Int32Array(count * numDigits * 2);
    const starts = new Int32Array(count * numDigits * 2);
    const r = this.render(
      start,
      count,
      (k) => this.drawSequence(k),
      (out, sprite, d, n, m) => {
        velocities[2 * m] = d.velocities[n].vx;
        velocities[2 * m + 1] = d.velocities[n].vy;
        starts[2 * m] = d.starts[n].x;
        starts[2 * m + 1] = d.starts[n].y;
        this.addMovingSprite(out, sprite, d.starts[n], d.velocities[n]);
      },
    );
    return { ...r, numDigits, velocities, starts };
  }

  /**
   * The random choices of sequence k. Digits and start positions come from one stream and velocities from another,
   * so changing only the velocity spec (e.g. walking a fixed-velocity grid) keeps the same digits at the same starts.
   */
  private drawSequence(k: number): { digits: number[]; starts: { x: number; y: number }[]; velocities: Velocity2[] } {
    const { numDigits, imageSize: s, velocity } = this.config;
    const main = createRng(streamSeed(this.seed, k, 0));
    const vel = createRng(streamSeed(this.seed, k, 1));
    const digits: number[] = [];
    for (let n = 0; n < numDigits; n++) digits.push(this.digits.indices[main.int(0, this.digits.indices.length - 1)]);
    const starts: { x: number; y: number }[] = [];
    // Reference: x0, y0 each uniform in 0..image_size-1, i.e. uniform over the torus.
    for (let n = 0; n < numDigits; n++) starts.push({ x: main.int(0, s - 1), y: main.int(0, s - 1) });
    const velocities: Velocity2[] = [];
    for (let n = 0; n < numDigits; n++) velocities.push(drawVelocity(velocity, vel));
    return { digits, starts, velocities };
  }

  /**
   * Adds roll(canvas, (y0 + vy*t, x0 + vx*t)) to every frame, where the canvas is the sprite centred on an H x W zero
   * image (extra padding right/bottom when odd, as the reference pads). Only the sprite's pixels are visited.
   * @param out [T, H, W] of one sequence
   */
  private addMovingSprite(out: Float32Array, sprite: Float32Array, p0: { x: number; y: number }, v: Velocity2): void {
    const { imageSize: s, seqLen } = this.config;
    const top = Math.floor((s - this.digits.rows) / 2);
    const left = Math.floor((s - this.digits.cols) / 2);
    for (let t = 0; t < seqLen; t++) {
      const dy = p0.y + v.vy * t;
      const dx = p0.x + v.vx * t;
      const frame = t * s * s;
      for (let a = 0; a < this.digits.rows; a++) {
        const row = frame + mod(top + a + dy, s) * s;
        for (let c = 0; c < this.digits.cols; c++) {
          const value = sprite[a * this.digits.cols + c];
          if (value !== 0) out[row + mod(left + c + dx, s)] += value;
        }
      }
    }
  }
}

/**
 * The digit class of every sequence of a single-digit batch (the classification variant).
 * @returns [B] int32
 */
export function digitClasses(batch: FlowingMnistBatch): Int32Array {
  if (batch.numDigits !== 1) throw new InputError('numDigits', `digit classes need single-digit sequences, got ${batch.numDigits} digits`);
  return Int32Array.from(batch.labels);
}

/**
 * Seeded disjoint train/validation split of `count` items, like the reference's
 * `random_split(train, [count - floor(0.1*count), floor(0.1*count)])`: a seeded permutation, train first.
 * @returns train (count - valSize indices) and val (valSize indices), together a permutation of 0..count-1
 */
export function splitTrainVal(count: number, seed: number, valFraction = 0.1): { train: Int32Array; val: Int32Array } {
  if (!Number.isSafeInteger(count) || count < 2) throw new InputError('count', `must be an integer >= 2, got ${count}`);
  if (!(valFraction > 0 && valFraction < 1)) throw new InputError('valFraction', `must be in (0, 1), got ${valFraction}`);
  const rng = createRng(checkSeed(seed));
  const perm = new Int32Array(count);
  for (let i = 0; i < count; i++) perm[i] = i;
  for (let i = count - 1; i > 0; i--) {
    const j = rng.int(0, i);
    const tmp = perm[i];
    perm[i] = perm[j];
    perm[j] = tmp;
  }
  const valSize = Math.floor(valFraction * count);
  return { train: perm.slice(0, count - valSize), val: perm.slice(count - valSize) };
}

/** 0..count-1: the whole set as a split (the test split is all of t10k). */
export function allIndices(count: number): Int32Array {
  if (!Number.isSafeInteger(count) || count < 1) throw new InputError('count', `must be an integer >= 1, got ${count}`);
  const out = new Int32Array(count);
  for (let i = 0; i < count; i++) out[i] = i;
  return out;
}

function drawVelocity(spec: VelocitySpec, rng: Rng): Velocity2 {
  switch (spec.kind) {
    case 'range':
      // Reference order: vx first, then vy, each uniform over the inclusive range.
      return { vx: rng.int(-spec.range, spec.range), vy: rng.int(-spec.range, spec.range) };
    case 'list': {
      const v = spec.velocities[rng.int(0, spec.velocities.length - 1)];
      return { vx: v.vx, vy: v.vy };
    }
    case 'fixed':
      return { vx: spec.velocity.vx, vy: spec.velocity.vy };
  }
}

/**
 * The digits of a split, validated (InputErrors name the field), and their sprites: each digit area-averaged by the
 * smallest integer factor that fits the frame (28 -> 14 for 16x16 frames, as the calibration runs of the notes; 1 for
 * frames at least as large, which are padded instead, as the reference does), scaled to [0, 1] as torchvision's
 * ToTensor. Shared by the Flowing- and Rotating-MNIST generators.
 */
export class DigitSprites {
  readonly images: IdxImages;
  readonly labels: Uint8Array;
  readonly indices: Int32Array;
  readonly factor: number;
  /** Sprite size. */
  readonly rows: number;
  readonly cols: number;

  constructor(source: DigitSource, imageSize: number) {
    const { images, labels, indices } = source;
    checkImages(images);
    if (labels.length !== images.count) throw new InputError('labels', `has ${labels.length} entries for ${images.count} images`);
    if (indices.length === 0) throw new InputError('indices', 'the split is empty');
    for (let i = 0; i < indices.length; i++) {
      const k = indices[i];
      if (!Number.isInteger(k) || k < 0 || k >= images.count) throw new InputError('indices', `entry ${i} is ${k}, outside 0..${images.count - 1}`);
    }
    this.images = images;
    this.labels = labels;
    this.indices = Int32Array.from(indices);
    this.factor = Math.ceil(Math.max(images.rows, images.cols) / imageSize);
    this.rows = Math.ceil(images.rows / this.factor);
    this.cols = Math.ceil(images.cols / this.factor);
  }

  /** Writes digit k's sprite into `sprite` [rows * cols]; blocks past the digit's edge count as background (zero). */
  render(k: number, sprite: Float32Array): void {
    const { rows, cols, pixels } = this.images;
    const f = this.factor;
    const base = k * rows * cols;
    const scale = 1 / (255 * f * f);
    for (let a = 0; a < this.rows; a++) {
      for (let c = 0; c < this.cols; c++) {
        let sum = 0;
        for (let i = a * f; i < Math.min((a + 1) * f, rows); i++) {
          for (let j = c * f; j < Math.min((c + 1) * f, cols); j++) sum += pixels[base + i * cols + j];
        }
        sprite[a * this.cols + c] = sum * scale;
      }
    }
  }
}

export function checkSeed(seed: number): number {
  if (!Number.isSafeInteger(seed)) throw new InputError('seed', `must be an integer, got ${seed}`);
  return seed;
}

function checkImages(images: IdxImages): void {
  const { count, rows, cols, pixels } = images;
  for (const [name, n] of [
    ['count', count],
    ['rows', rows],
    ['cols', cols],
  ] as const) {
    if (!Number.isSafeInteger(n) || n < 1) throw new InputError(`images.${name}`, `must be an integer >= 1, got ${n}`);
  }
  if (pixels.length !== count * rows * cols) {
    throw new InputError('images.pixels', `has ${pixels.length} bytes, expected count*rows*cols = ${count * rows * cols}`);
  }
}
