import { RotatingMnist } from '../data/rotatingMnist';
import type { DigitSource } from '../data/flowingMnist';
import type { Seq2SeqModel } from '../nn/seq2seq';
import { InputError } from '../util/errors';
import { DEFAULT_INPUT_FRAMES, DEFAULT_PRED_FRAMES, evaluateMse, type EvalControl } from './evaluate';

/** The reference's `--gen_vel_list`: -50..50 degrees per frame in steps of 10. */
export const DEFAULT_GEN_OMEGAS: readonly number[] = Array.from({ length: 11 }, (_, i) => -50 + 10 * i);

export interface AngularVelocityGeneralisationOptions extends EvalControl {
  /** Sequences per angular velocity. */
  sequences: number;
  /** Sequences per forward pass (default 64). */
  batchSize?: number;
  /** Seed of the test stream: every omega gets the same digits at the same initial angles. */
  seed: number;
  /** Angular velocities to test, degrees per frame (default -50..50 step 10, the reference's). */
  omegas?: readonly number[];
  imageSize?: number;
  numDigits?: number;
  inputFrames?: number;
  predFrames?: number;
}

export interface AngularVelocityCurve {
  /** The tested angular velocities, sorted (the reference sorts its gen_vel_list). */
  omegas: number[];
  /** mse[i]: test MSE over all predicted frames when every digit turns with omegas[i]. */
  mse: number[];
  /** Sequences per omega. */
  sequences: number;
}

/**
 * Velocity generalisation on Rotating MNIST (the reference's `eval_velocity_generalization` in rotating_mnist_fp):
 * one fixed-omega test set per angular velocity, T_in input frames and K predicted frames, the MSE over all predicted
 * frames per omega.
 * @param model a seq2seq model with 1 input and 1 output channel; only read, never disposed here
 * @param digits the digit images and the split to draw from (the reference uses the t10k set)
 * @returns plain numbers; no tensor outlives the call
 */
export async function angularVelocityGeneralisation(
  model: Seq2SeqModel,
  digits: DigitSource,
  opts: AngularVelocityGeneralisationOptions,
): Promise<AngularVelocityCurve> {
  const omegas = [...(opts.omegas ?? DEFAULT_GEN_OMEGAS)].sort((a, b) => a - b);
  if (omegas.length === 0) throw new InputError('omegas', 'needs at least one angular velocity');
  const inputFrames = opts.inputFrames ?? DEFAULT_INPUT_FRAMES;
  const predFrames = opts.predFrames ?? DEFAULT_PRED_FRAMES;
  const source = (omega: number): RotatingMnist =>
    new RotatingMnist(
      { numDigits: opts.numDigits ?? 2, imageSize: opts.imageSize ?? 28, seqLen: inputFrames + predFrames, angularVelocity: { kind: 'fixed', omega } },
      digits,
      opts.seed,
    );
  // Build (and so validate) every generator before the first forward pass.
  const sources = omegas.map(source);
  const mse: number[] = [];
  for (let i = 0; i < omegas.length; i++) {
    const r = await evaluateMse(model, sources[i], {
      sequences: opts.sequences,
      batchSize: opts.batchSize,
      inputFrames,
      predFrames,
      shouldStop: opts.shouldStop,
      onProgress: opts.onProgress ? (done) => opts.onProgress!(i * opts.sequences + done, omegas.length * opts.sequences) : undefined,
    });
    mse.push(r.mse);
  }
  return { omegas, mse, sequences: opts.sequences };
}
