import * as tf from '@tensorflow/tfjs-core';
import type { CellConfig } from './config';
import type { ParamMap } from './params';
import { cellKindFacts } from './modelKinds';
import { cellStep, velocityShifts, zeroHidden } from './cell';
import { circularConvInputGrad, filterGrads } from './conv';
import { circularPad, rollPadToSlices, rollSlices, wrapShifts, type Shift2 } from './circular';
import { checkpoint, customOp } from './gradient';
import { gpuActGrad, gpuCircConv, gpuCircConvFilterGrad, gpuCircConvInputGrad, gpuKernelsActive, type ConvOperand } from './gpuKernels';

/**
 * The recurrent state while a sequence is run. For the FERNN it is kept in co-moving coordinates,
 * g_t[v] = roll(h_t[v], -v*t): then
 *   g_{t+1}[v] = act( conv_u(roll(u_t, -v*(t+1))) + conv_h(g_t[v]) )
 * (circular convs and pointwise activations commute with roll), so the hidden state is never rolled inside the
 * recurrence: only the input frame (1 channel, no gradient needed) is, and h is recovered by one roll where it is
 * read (the decoder). Exactly the reference recurrence; fewer and cheaper ops on every backend.
 */
export interface RunState {
  /** [B, V, H, W, C]: co-moving state (FERNN) or the hidden state itself (G-RNN+, and G-RNN where they agree). */
  readonly g: tf.Tensor5D;
  /** Frames consumed. */
  readonly t: number;
  /** g is h_0 = 0 as made by initRun: the first step skips the recurrent convolution (conv_h(0) = 0). */
  readonly zero?: boolean;
}

/** Whether the cell runs in co-moving coordinates (modelKinds.ts; rotation cells rotate their state inside cellStep). */
export function coMoving(c: CellConfig): boolean {
  return cellKindFacts(c.kind).coMoving;
}

const isZero = (shifts: readonly Shift2[]): boolean => shifts.every((s) => s.dy === 0 && s.dx === 0);

/** h_0 = 0. The caller disposes state.g. */
export function initRun(c: CellConfig, batch: number, height: number, width: number): RunState {
  return { g: zeroHidden(c, batch, height, width), t: 0, zero: true };
}

function scaledShifts(c: CellConfig, factor: number, h: number, w: number): Shift2[] {
  return wrapShifts(
    velocityShifts(c).map((s) => ({ dy: s.dy * factor, dx: s.dx * factor })),
    h,
    w,
  );
}

/**
 * Consumes one frame. The frame is treated as data: no gradient flows into it (the seq2seq model feeds inputs,
 * teacher-forced targets or detached predictions, as the reference does).
 * @param u [B, H, W, Cin]
 * @returns the next state (a new tensor; the caller disposes both the old and the new g).
 */
export function advance(c: CellConfig, p: ParamMap, s: RunState, u: tf.Tensor4D): RunState {
  if (!coMoving(c)) return { g: cellStep(c, p, u, s.g), t: s.t + 1 };
  const t1 = s.t + 1;
  const [, , h, w] = s.g.shape;
  const g = coMovingStep(
    c,
    s.g,
    u,
    p['cell.conv_u.weight'] as tf.Tensor4D,
    p['cell.conv_h.weight'] as tf.Tensor4D,
    scaledShifts(c, -t1, h, w),
    s.zero === true,
  );
  return { g, t: t1 };
}

/**
 * One co-moving step, g' = act( conv_u(roll_v(u)) + conv_h(g) ) for every slice v, as one op with its own gradient.
 * It keeps only the input state, the frame and the new state for the backward pass (the activation's derivative is
 * read off the new state, which the next step keeps anyway), so a training step holds about one hidden state per
 * frame and recomputes nothing. The gradient is the chain rule of the composed ops, with the same kernels in the
 * same order as their own gradients (tfjs's relu/tanh gradients, conv.ts's convolution gradients).
 * @param g [B, V, H, W, C] co-moving state
 * @param u [B, H, W, Cin] frame (data: its gradient is zero)
 * @param wu [k, k, Cin, C]; wh [k, k, C, C]
 * @param uShifts the frame's roll for each velocity slice
 * @param zero g is all zeros (h_0): conv_h(g) = 0, and its gradients are zeros, all exactly
 * @returns [B, V, H, W, C]; caller disposes.
 */
function coMovingStep(c: CellConfig, g: tf.Tensor5D, u: tf.Tensor4D, wu: tf.Tensor4D, wh: tf.Tensor4D, uShifts: Shift2[], zero: boolean): tf.Tensor5D {
  if (gpuKernelsActive()) return gpuCoMovingStep(c, g, u, wu, wh, uShifts, zero);
  const [b, nv, h, w, ch] = g.shape;
  const pu = (wu.shape[0] - 1) / 2;
  const ph = (wh.shape[0] - 1) / 2;
  const flat = (x: tf.Tensor): tf.Tensor4D => tf.reshape(x, [b * nv, h, w, ch]);
  // One gather rolls the frame for every velocity and pads it circularly.
  const frames = (ui: tf.Tensor): tf.Tensor4D => rollPadToSlices(ui as tf.Tensor4D, uShifts, pu);
  // The frame is data and h_0 = 0 is a constant: they are read from the closure, not op inputs, so tfjs asks no
  // gradient for them (it would be a zero tensor per step). On the first step only conv_u's filter is an input.
  if (zero) {
    return customOp<tf.Tensor5D>(([wui]) => {
      const value = tf.reshape(activate(c, tf.conv2d(frames(u), wui as tf.Tensor4D, 1, 'valid')), g.shape) as tf.Tensor5D;
      // u is saved (kept past the forward pass's tidy), not only captured.
      return { value, save: [u, value], grad: (dy, [us, out]) => [filterGrads([frames(us)], activationGrad(c, flat(dy), flat(out)))[0]] };
    })(wu);
  }
  return customOp<tf.Tensor5D>(([gi, wui, whi]) => {
    const z = tf.add(tf.conv2d(frames(u), wui as tf.Tensor4D, 1, 'valid'), tf.conv2d(circularPad(flat(gi), ph), whi as tf.Tensor4D, 1, 'valid'));
    const value = tf.reshape(activate(c, z), g.shape) as tf.Tensor5D;
    return {
      value,
      save: [gi, u, value, whi],
      grad: (dy, [gs, us, out, whs]) => {
        const dz = activationGrad(c, flat(dy), flat(out));
        const [dwu, dwh] = filterGrads([frames(us), circularPad(flat(gs), ph)], dz);
        return [tf.reshape(circularConvInputGrad(dz, whs as tf.Tensor4D), g.shape), dwu, dwh];
      },
    };
  })(g, wu, wh);
}

const activate = (c: CellConfig, z: tf.Tensor): tf.Tensor => (c.activation === 'tanh' ? tf.tanh(z) : tf.relu(z));

/** dy * act'(z) read off out = act(z): relu'(z) = step(relu(z)), tanh'(z) = 1 - tanh(z)^2, as tfjs's Relu and Tanh gradients. */
function activationGrad(c: CellConfig, dy: tf.Tensor4D, out: tf.Tensor4D): tf.Tensor4D {
  return c.activation === 'tanh' ? tf.mul(tf.sub(tf.scalar(1), tf.square(out)), dy) : tf.mul(dy, tf.cast(tf.step(out), 'float32'));
}

/**
 * `coMovingStep` on webgpu with the fused kernels (nn/gpuKernels): one dispatch forward (both convolutions, the
 * frame's roll per velocity and the circular padding are indexing inside it, then the activation), four backward
 * (activation gradient, the state's input gradient, the two filter gradients). Same values and gradients.
 */
function gpuCoMovingStep(c: CellConfig, g: tf.Tensor5D, u: tf.Tensor4D, wu: tf.Tensor4D, wh: tf.Tensor4D, uShifts: Shift2[], zero: boolean): tf.Tensor5D {
  const [b, nv, h, w, ch] = g.shape;
  const act = c.activation === 'tanh' ? 'tanh' : 'relu';
  const flat = (x: tf.Tensor): tf.Tensor4D => tf.reshape(x, [b * nv, h, w, ch]);
  // As in coMovingStep: the frame and h_0 are read from the closure, so tfjs asks no (zero) gradient for them.
  if (zero) {
    return customOp<tf.Tensor5D>(([wui]) => {
      const value = tf.reshape(gpuCircConv([{ x: u, w: wui as tf.Tensor4D, shifts: uShifts }], b * nv, act), g.shape) as tf.Tensor5D;
      return {
        value,
        save: [u, value],
        grad: (dy, [us, out]) => [
          gpuCircConvFilterGrad({ x: us as tf.Tensor4D, shifts: uShifts }, gpuActGrad(flat(dy), flat(out), act) as tf.Tensor4D, wu.shape[0]),
        ],
      };
    })(wu);
  }
  return customOp<tf.Tensor5D>(([gi, wui, whi]) => {
    const ops: ConvOperand[] = [
      { x: u, w: wui as tf.Tensor4D, shifts: uShifts },
      { x: flat(gi), w: whi as tf.Tensor4D },
    ];
    const value = tf.reshape(gpuCircConv(ops, b * nv, act), g.shape) as tf.Tensor5D;
    return {
      value,
      save: [gi, u, value, whi],
      grad: (dy, [gs, us, out, whs]) => {
        const dz = gpuActGrad(flat(dy), flat(out), act) as tf.Tensor4D;
        const dwu = gpuCircConvFilterGrad({ x: us as tf.Tensor4D, shifts: uShifts }, dz, wu.shape[0]);
        const dwh = gpuCircConvFilterGrad({ x: flat(gs) }, dz, wh.shape[0]);
        return [tf.reshape(gpuCircConvInputGrad(dz, whs as tf.Tensor4D), g.shape), dwu, dwh];
      },
    };
  })(g, wu, wh);
}

/**
 * `advance` for training, keeping little memory for the backward pass. The FERNN and G-RNN step (co-moving) is one
 * op that keeps only its input state, frame and output already; every other cell kind is wrapped in gradient
 * checkpointing (gradient.ts `checkpoint`): the step keeps its input state and frame, and recomputes its forward in
 * the backward pass. Keeping every intermediate of every step instead, FERNN-V1 at hidden 32, batch 16, 28x28 over 20
 * frames needed more than wasm's 4 GiB. Same values and gradients as `advance`.
 * @param u [B, H, W, Cin], data (no gradient flows into it)
 * @returns the next state; the caller disposes both the old and the new g.
 */
export function advanceCheckpointed(c: CellConfig, p: ParamMap, s: RunState, u: tf.Tensor4D): RunState {
  if (coMoving(c)) return advance(c, p, s, u);
  return advanceRecomputed(c, p, s, u);
}

/**
 * `advance` under gradient checkpointing, for any cell kind (the cell's parameters are the `cell.` entries of p).
 * @returns the next state; the caller disposes both the old and the new g.
 */
export function advanceRecomputed(c: CellConfig, p: ParamMap, s: RunState, u: tf.Tensor4D): RunState {
  const names = Object.keys(p)
    .filter((n) => n.startsWith('cell.'))
    .sort();
  const step = checkpoint<tf.Tensor5D>(([g, frame]) => advance(c, p, { g: g as tf.Tensor5D, t: s.t }, frame as tf.Tensor4D).g, [1]);
  return { g: step(s.g, u, ...names.map((n) => p[n])), t: s.t + 1 };
}

/**
 * The hidden state h_t in the reference's (fixed) coordinates.
 * @returns [B, V, H, W, C]; a new tensor the caller disposes.
 */
export function hiddenOf(c: CellConfig, s: RunState): tf.Tensor5D {
  if (!coMoving(c) || s.t === 0) return tf.clone(s.g);
  const [, , h, w] = s.g.shape;
  const shifts = scaledShifts(c, s.t, h, w);
  return isZero(shifts) ? tf.clone(s.g) : rollSlices(s.g, shifts);
}
