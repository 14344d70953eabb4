import { z } from 'zod';
import { createRng, type Rng, streamSeed } from '../util/rng';
import { cosSinDegrees, sampleBilinear } from '../flows/rotationGrid';
import { REFERENCE_OMEGAS } from '../flows/angularVelocity';
import { parseGeneratorConfig, SeededMnistStream, sequenceConfigFields, type DigitSource } from './flowingMnist';

/**
 * Rotating MNIST, the data of the reference's rotation experiment (`rotating_mnist_fp/rotating_mnist_dataset.py`):
 * each sequence overlays `numDigits` digits, all centred in the frame; digit i starts at a uniform random angle
 * theta_i in [0, 360) and turns with its own angular velocity omega_i (degrees per frame), so frame t shows it rotated
 * by theta_i + omega_i * t about the frame centre (bilinear, zero outside the digit — the reference pads, rotates with
 * `grid_sample` and crops, which is the same). Digits are summed and clamped to [0, 1]. The rotation convention is
 * that of flows/rotationGrid.ts and RotationFlow: positive angles turn counterclockwise as displayed.
 *
 * Same shape of API as FlowingMnist: seeded and pure (sequence k depends only on seed, k, config and source), train /
 * val / test from the same DigitSource splits (splitTrainVal, allIndices), `batch(i, B)`, a fixed-velocity variant
 * for velocity generalisation, and small frames with the digit area-downsampled by an integer factor (28 -> 14 for
 * 16x16 frames). Plain typed arrays; see tensor.ts (framesToTensor accepts these batches) for tensors.
 */

/** Angular speeds beyond a full turn per frame are pointless and usually a typo. */
export const MAX_ANGULAR_SPEED = 360;

const omegaSchema = z.number().min(-MAX_ANGULAR_SPEED).max(MAX_ANGULAR_SPEED);

/**
 * How each digit's angular velocity (degrees per frame) is chosen:
 * - `list`: uniform over a list (the reference's `angular_velocities`; its train.py default -40..40 step 10);
 * - `fixed`: every digit turns with the same omega (one point of a velocity-generalisation sweep, -50..50).
 */
export const angularVelocitySpecSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('list'), omegas: z.array(omegaSchema).min(1).max(4096) }),
  z.strictObject({ kind: z.literal('fixed'), omega: omegaSchema }),
]);
export type AngularVelocitySpec = z.infer<typeof angularVelocitySpecSchema>;

export const rotatingMnistConfigSchema = z.strictObject({
  ...sequenceConfigFields,
  angularVelocity: angularVelocitySpecSchema.default({ kind: 'list', omegas: [...REFERENCE_OMEGAS] }),
});
/** What callers may pass (every field optional). */
export type RotatingMnistConfigInput = z.input<typeof rotatingMnistConfigSchema>;
/** The validated config with defaults filled in. */
export type RotatingMnistConfig = z.output<typeof rotatingMnistConfigSchema>;

/** Validates a config; errors are InputErrors whose field is the offending path (e.g. `angularVelocity.omegas`). */
export function parseRotatingMnistConfig(input: unknown): RotatingMnistConfig {
  return parseGeneratorConfig(rotatingMnistConfigSchema, input, 'kind plus omegas | omega (by kind)');
}

/**
 * One batch, all row-major typed arrays.
 * frames [B, T, H, W, 1] float32 in [0, 1]; omegas (degrees per frame) and angles (initial, degrees)
 * [B, numDigits]; labels and digitIndices [B, numDigits].
 */
export interface RotatingMnistBatch {
  readonly frames: Float32Array;
  readonly shape: readonly [number, number, number, number, 1];
  readonly numDigits: number;
  readonly omegas: Float64Array;
  readonly angles: Float64Array;
  readonly labels: Uint8Array;
  readonly digitIndices: Int32Array;
}

/** A seeded, pure Rotating-MNIST generator (the stream and batches as in Flowing MNIST: SeededMnistStream). */
export class RotatingMnist extends SeededMnistStream<RotatingMnistConfig, RotatingMnistBatch> {
  constructor(config: RotatingMnistConfigInput, source: DigitSource, seed: number) {
    super(parseRotatingMnistConfig(config), source, seed);
  }

  sequences(start: number, count: number): RotatingMnistBatch {
    const { numDigits } = this.config;
    const omegas = new Float64Array(count * numDigits);
    const angles = new Float64Array(count * numDigits);
    const r = this.render(
      start,
      count,
      (k) => this.drawSequence(k),
      (out, sprite, d, n, m) => {
        omegas[m] = d.omegas[n];
        angles[m] = d.angles[n];
        this.addRotatingSprite(out, sprite, d.angles[n], d.omegas[n]);
      },
    );
    return { ...r, numDigits, omegas, angles };
  }

  /**
   * The random choices of sequence k. Digits and initial angles come from one stream and angular velocities from
   * another, so changing only the velocity spec (a fixed-velocity sweep) keeps the same digits at the same angles.
   */
  private drawSequence(k: number): { digits: number[]; angles: number[]; omegas: number[] } {
    const { numDigits, angularVelocity } = this.config;
    const main = createRng(streamSeed(this.seed, k, 0));
    const vel = createRng(streamSeed(this.seed, k, 1));
    const digits: number[] = [];
    for (let n = 0; n < numDigits; n++) digits.push(this.digits.indices[main.int(0, this.digits.indices.length - 1)]);
    // Reference: initial angle uniform in [0, 360).
    const angles: number[] = [];
    for (let n = 0; n < numDigits; n++) angles.push(main.next() * 360);
    const omegas: number[] = [];
    for (let n = 0; n < numDigits; n++) omegas.push(drawOmega(angularVelocity, vel));
    return { digits, angles, omegas };
  }

  /**
   * Adds, to every frame t, the canvas (the sprite centred on an H x W zero image, extra padding right/bottom when
   * odd, as FlowingMnist) rotated by theta0 + omega*t about the frame centre, sampled bilinearly.
   * @param out [T, H, W] of one sequence
   */
  private addRotatingSprite(out: Float32Array, sprite: Float32Array, theta0: number, omega: number): void {
    const { imageSize: s, seqLen } = this.config;
    const top = Math.floor((s - this.digits.rows) / 2);
    const left = Math.floor((s - this.digits.cols) / 2);
    const c = (s - 1) / 2;
    for (let t = 0; t < seqLen; t++) {
      const { cos, sin } = cosSinDegrees(theta0 + omega * t);
      const frame = t * s * s;
      for (let i = 0; i < s; i++) {
        for (let j = 0; j < s; j++) {
          // Source point in canvas coordinates (rotationGrid.ts convention), then in sprite coordinates.
          const y = c + (j - c) * sin + (i - c) * cos - top;
          const x = c + (j - c) * cos - (i - c) * sin - left;
          const v = sampleBilinear(sprite, this.digits.rows, this.digits.cols, y, x);
          if (v !== 0) out[frame + i * s + j] += v;
        }
      }
    }
  }
}

function drawOmega(spec: AngularVelocitySpec, rng: Rng): number {
  switch (spec.kind) {
    case 'list':
      return spec.omegas[rng.int(0, spec.omegas.length - 1)];
    case 'fixed':
      return spec.omega;
  }
}
