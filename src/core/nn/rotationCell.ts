import * as tf from '@tensorflow/tfjs-core';
import { cellConfigSchema, commonCellFields, isRotationCell, type CellConfig, type CommonCellOptions, type RotationCellKind } from './config';
import type { ParamMap, ParamSpec } from './params';
import { groupConv, liftingConv } from './groupConv';
import { rotateSlices } from './rotate';
import { AngularVelocitySet, REFERENCE_OMEGAS } from '../flows/angularVelocity';

/**
 * The rotation FERNN cell of the reference (`rotating_mnist_fp/rotating_mnist_models.py`, RotationFlowRNNCell):
 * hidden fields are regular C_N fields (N orientation channels per field, channel n*F + f), lifted over a list of
 * angular velocities omega (degrees per frame). Every step each velocity slice is rotated by its own omega — grid
 * rotated about the frame centre, orientation axis shifted by omega*N/360 — before the shared group convolution:
 *   h_{t+1}[w] = act( lift(u_t) + gconv( rho(omega_w) h_t[w] ) )
 * lift (trivial -> C_N) and gconv (C_N -> C_N) are the group convolutions of groupConv.ts, zero padded, no bias, the
 * same weights for every omega. The rotation G-RNN is the same cell with omegas = [0].
 *
 * Equivariance: for inputs u'_s = rho(nu*s) u_s with nu in the set, h'_t[w] = rho(nu*(t-1)) h_t[w - nu] for every w
 * with omega_w - nu in the set: exactly (float32 round-off) when nu and every omega are multiples of 90 degrees and of
 * 360/N on square frames; approximately otherwise (bilinear rotation of filters and of hidden states). Omegas that
 * are not multiples of 360/N shift the orientation axis by a fraction (linear interpolation between orientations).
 *
 * Parameters (tfjs layout): `cell.conv_u.weight` [k_u, k_u, Cin, F] (lifting base filter) and `cell.conv_h.weight`
 * [k_h, k_h, N*F, F] (group-conv base filter, input channel m*F + g). They are plain base filters, not escnn's
 * steerable-basis coefficients, so reference rotation checkpoints do not map onto them.
 */

export interface RotationCellOptions extends CommonCellOptions {
  kind: RotationCellKind;
  /** N of C_N (reference: 36, i.e. 10-degree orientations). */
  group: number;
  /** Angular velocities in degrees per frame (default for fernn-rot: the reference's -40..40 step 10; grnn-rot: [0]). */
  omegas?: readonly number[];
  /** Fields F (reference: 32); the hidden state has F * N channels per slice. */
  hidden: number;
}

/** Builds and validates a rotation cell config (3x3 kernels, relu, 1 input channel unless given). */
export function makeRotationCellConfig(o: RotationCellOptions): CellConfig {
  let omegas: number[];
  if (o.kind === 'grnn-rot') {
    if (o.omegas !== undefined && (o.omegas.length !== 1 || o.omegas[0] !== 0))
      throw new Error(`omegas: a rotation G-RNN has omegas = [0]; got [${o.omegas.join(', ')}]`);
    omegas = [0];
  } else {
    omegas = [...AngularVelocitySet.fromList(o.omegas ?? REFERENCE_OMEGAS).list];
  }
  return cellConfigSchema.parse({ kind: o.kind, velocities: [{ vx: 0, vy: 0 }], group: o.group, omegas, ...commonCellFields(o) });
}

function rotationParts(c: CellConfig): { n: number; omegas: number[] } {
  if (!isRotationCell(c)) throw new Error(`not a rotation cell: ${c.kind}`);
  return { n: c.group, omegas: c.omegas };
}

/** Parameter shapes (names as the translation cell's: `cell.conv_u.weight`, `cell.conv_h.weight`). */
export function rotationCellParamSpec(c: CellConfig, prefix = 'cell.'): ParamSpec {
  const { n } = rotationParts(c);
  return {
    [`${prefix}conv_u.weight`]: { shape: [c.kernelU, c.kernelU, c.inChannels, c.hidden], fanIn: c.inChannels * c.kernelU ** 2 },
    [`${prefix}conv_h.weight`]: { shape: [c.kernelH, c.kernelH, n * c.hidden, c.hidden], fanIn: n * c.hidden * c.kernelH ** 2 },
  };
}

/**
 * h0 = 0.
 * @returns [B, |omegas|, H, W, N*F]; caller disposes.
 */
export function zeroRotationHidden(c: CellConfig, batch: number, height: number, width: number): tf.Tensor5D {
  const { n, omegas } = rotationParts(c);
  return tf.zeros([batch, omegas.length, height, width, n * c.hidden]);
}

/**
 * One recurrent step for every velocity slice at once.
 * @param u [B, H, W, Cin] input frame
 * @param h [B, |omegas|, H, W, N*F] previous hidden state
 * @returns [B, |omegas|, H, W, N*F]; caller disposes. Differentiable in the parameters and in h.
 */
export function rotationCellStep(c: CellConfig, p: ParamMap, u: tf.Tensor4D, h: tf.Tensor5D): tf.Tensor5D {
  const { n, omegas } = rotationParts(c);
  return tf.tidy(() => {
    const [b, nv, height, width, ch] = h.shape;
    const uc = liftingConv(u, p['cell.conv_u.weight'] as tf.Tensor4D, n); // [B, H, W, N*F]
    const moved = rotateSlices(h, omegas, { kind: 'regular', orientations: n });
    const hc = tf.reshape(groupConv(tf.reshape(moved, [b * nv, height, width, ch]) as tf.Tensor4D, p['cell.conv_h.weight'] as tf.Tensor4D, n), [
      b,
      nv,
      height,
      width,
      ch,
    ]);
    const z = tf.add(hc, tf.expandDims(uc, 1));
    return (c.activation === 'tanh' ? tf.tanh(z) : tf.relu(z)) as tf.Tensor5D;
  });
}
