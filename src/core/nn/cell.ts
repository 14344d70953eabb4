import * as tf from '@tensorflow/tfjs-core';
import { type AnyCellKind, type CellConfig, shiftKernelSize } from './config';
import type { ParamMap, ParamSpec } from './params';
import { circularConv2d, depthwiseValid } from './conv';
import { circularPad, rollSlices, type Shift2 } from './circular';
import { UnknownModelKindError } from './modelKinds';
import { rotationCellParamSpec, rotationCellStep, zeroRotationHidden } from './rotationCell';

/**
 * What every cell kind implements on the tensor side. The registry below is mapped over the kinds (nn/modelKinds.ts),
 * so a kind without an implementation is a compile error; the dispatchers never fall through to another kind.
 */
export interface CellKindImpl {
  /** Parameter shapes (names as the reference's under `prefix`). */
  paramSpec(c: CellConfig, prefix: string): ParamSpec;
  /** h_0 = 0, [B, V, H, W, C']; caller disposes. */
  zeroHidden(c: CellConfig, batch: number, height: number, width: number): tf.Tensor5D;
  /** One recurrent step, u [B, H, W, Cin], h [B, V, H, W, C'] -> [B, V, H, W, C']; caller disposes. */
  step(c: CellConfig, p: ParamMap, u: tf.Tensor4D, h: tf.Tensor5D): tf.Tensor5D;
}

const TRANSLATION_CELL: CellKindImpl = {
  paramSpec: (c, prefix) => translationParamSpec(c, prefix),
  zeroHidden: (c, batch, height, width) => tf.zeros([batch, c.velocities.length, height, width, c.hidden]),
  step: (c, p, u, h) => translationStep(c, p, u, h),
};
const ROTATION_CELL: CellKindImpl = { paramSpec: rotationCellParamSpec, zeroHidden: zeroRotationHidden, step: rotationCellStep };

/** The cell kinds' implementations (fast paths: runner.ts runs the `coMoving` kinds of modelKinds.ts its own way). */
export const CELL_REGISTRY: { readonly [K in AnyCellKind]: CellKindImpl } = {
  fernn: TRANSLATION_CELL,
  grnn: TRANSLATION_CELL,
  'grnn-plus': TRANSLATION_CELL,
  'fernn-rot': ROTATION_CELL,
  'grnn-rot': ROTATION_CELL,
};

/** The implementation of a config's kind; a kind that has none (a config that bypassed the schema) is named. */
export function cellImpl(c: CellConfig): CellKindImpl {
  const impl = Object.hasOwn(CELL_REGISTRY, c.kind) ? CELL_REGISTRY[c.kind] : undefined;
  if (!impl) throw new UnknownModelKindError(String(c.kind));
  return impl;
}

/** Parameter shapes of a recurrent cell (names as the reference's FERNN_Cell under `cell.`). */
export function cellParamSpec(c: CellConfig, prefix = 'cell.'): ParamSpec {
  return cellImpl(c).paramSpec(c, prefix);
}

function translationParamSpec(c: CellConfig, prefix: string): ParamSpec {
  const spec: ParamSpec = {
    [`${prefix}conv_u.weight`]: { shape: [c.kernelU, c.kernelU, c.inChannels, c.hidden], fanIn: c.inChannels * c.kernelU ** 2 },
    [`${prefix}conv_h.weight`]: { shape: [c.kernelH, c.kernelH, c.hidden, c.hidden], fanIn: c.hidden * c.kernelH ** 2 },
  };
  if (c.kind === 'grnn-plus') {
    const k = shiftKernelSize(c);
    // Depthwise layout: channel v*C + c is velocity slice v, hidden channel c.
    spec[`${prefix}shift.weight`] = { shape: [k, k, c.velocities.length * c.hidden, 1], fanIn: k * k };
  }
  return spec;
}

/** The roll each velocity slice gets before the recurrent conv: v = (vx, vy) -> shifts (dy, dx) = (vy, vx). */
export function velocityShifts(c: CellConfig): Shift2[] {
  return c.velocities.map((v) => ({ dy: v.vy, dx: v.vx }));
}

/**
 * h0 = 0.
 * @returns [B, V, H, W, C] (rotation cells: see zeroRotationHidden); caller disposes.
 */
export function zeroHidden(c: CellConfig, batch: number, height: number, width: number): tf.Tensor5D {
  return cellImpl(c).zeroHidden(c, batch, height, width);
}

/**
 * One recurrent step, for every velocity slice v at once:
 *   h'[v] = act( conv_u(u) + conv_h( move_v(h[v]) ) )
 * where move_v is roll by v (fernn, grnn) or a learned per-velocity depthwise kernel (grnn-plus); all convs are
 * circular, without bias, and shared across v.
 * @param u [B, H, W, Cin] input frame
 * @param h [B, V, H, W, C] previous hidden state
 * @returns [B, V, H, W, C]; caller disposes.
 */
export function cellStep(c: CellConfig, p: ParamMap, u: tf.Tensor4D, h: tf.Tensor5D): tf.Tensor5D {
  return cellImpl(c).step(c, p, u, h);
}

function translationStep(c: CellConfig, p: ParamMap, u: tf.Tensor4D, h: tf.Tensor5D): tf.Tensor5D {
  return tf.tidy(() => {
    const [b, nv, height, width, ch] = h.shape;
    const pre = 'cell.';
    const uc = circularConv2d(u, p[`${pre}conv_u.weight`] as tf.Tensor4D); // [B, H, W, C]
    let moved: tf.Tensor5D; // [B, V, H, W, C]
    if (c.kind === 'grnn-plus') {
      const k = shiftKernelSize(c);
      const r = (k - 1) / 2;
      // [B, V, H, W, C] -> [B, H, W, V*C]: one depthwise conv applies every slice's own kernel.
      const stacked = tf.reshape(tf.transpose(h, [0, 2, 3, 1, 4]), [b, height, width, nv * ch]) as tf.Tensor4D;
      const shifted = depthwiseValid(circularPad(stacked, r), p[`${pre}shift.weight`] as tf.Tensor4D);
      moved = tf.transpose(tf.reshape(shifted, [b, height, width, nv, ch]), [0, 3, 1, 2, 4]) as tf.Tensor5D;
    } else {
      const shifts = velocityShifts(c);
      moved = shifts.every((s) => s.dy === 0 && s.dx === 0) ? h : rollSlices(h, shifts);
    }
    const hc = tf.reshape(circularConv2d(tf.reshape(moved, [b * nv, height, width, ch]) as tf.Tensor4D, p[`${pre}conv_h.weight`] as tf.Tensor4D), [
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
