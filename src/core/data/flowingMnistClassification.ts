import { digitClasses, FlowingMnist, type DigitSource, type FlowingMnistConfig, type VelocitySpec } from './flowingMnist';

/**
 * Single-digit Flowing MNIST as a classification set: each clip is one digit moving on the pixel torus, the label is
 * its digit class. Train and test sets differ only by the digits' split, the seed and the velocity spec, which the
 * caller picks independently (e.g. train on -1..1, test on a fixed-velocity grid for velocity generalisation).
 */

/**
 * One batch of labelled clips, plain typed arrays (they may cross a worker boundary).
 * clips [B, T, H, W, 1] float32 in [0, 1]; labels [B] int32 class ids.
 */
export interface ClassificationBatch {
  readonly clips: Float32Array;
  readonly labels: Int32Array;
  readonly shape: readonly [number, number, number, number, 1];
}

/** Anything that serves seeded labelled batches: `batch(i, B)` is clips i*B .. i*B+B-1 of a fixed stream. */
export interface ClassificationSource {
  batch(index: number, size: number): ClassificationBatch;
}

export interface ClassificationSetOptions {
  /** Square frame side H = W (default 28; smaller frames downsample the digit by an integer factor). */
  imageSize?: number;
  /** Frames per clip T (default 20). */
  seqLen?: number;
  /** How each clip's velocity is drawn (range / list / fixed); see VelocitySpec. */
  velocity: VelocitySpec;
}

/** A seeded single-digit Flowing-MNIST classification stream; the generator's config is exposed for reports. */
export interface FlowingMnistClassification extends ClassificationSource {
  readonly config: FlowingMnistConfig;
  readonly seed: number;
}

/**
 * @param digits the digit images, labels and split to draw from (the generator copies the split)
 * @param opts frame size, clip length and velocity spec; validated here (InputError naming the field)
 * @param seed the same seed gives the same digits at the same start positions, whatever the velocity spec
 * @returns a source whose `batch(i, B)` gives clips [B, T, H, W, 1] and labels [B]
 */
export function classificationSource(digits: DigitSource, opts: ClassificationSetOptions, seed: number): FlowingMnistClassification {
  const gen = new FlowingMnist({ numDigits: 1, imageSize: opts.imageSize, seqLen: opts.seqLen, velocity: opts.velocity }, digits, seed);
  return {
    config: gen.config,
    seed: gen.seed,
    batch(index: number, size: number): ClassificationBatch {
      const b = gen.batch(index, size);
      return { clips: b.frames, labels: digitClasses(b), shape: b.shape };
    },
  };
}
