import * as tf from '@tensorflow/tfjs-core';
import { createRng } from '../../src/core/util/rng';
import { mod } from '../../src/core/util/math';

/**
 * Tiny seeded two-class clip sets for classifier tests, [B, T, S, S, 1] on the torus, labels alternating 0, 1, ...:
 * - 'orientation': a 1x3 (class 0) or 3x1 (class 1) bar at a random start, moving with a random velocity in -1..1
 *   per axis: the content decides, the motion is a nuisance (what a flow-invariant model should find easy);
 * - 'direction': a 3x1 bar at a random start moving right (class 0) or left (class 1): the motion decides.
 * @returns clips (caller disposes) and labels.
 */
export function barClips(o: { batch: number; frames: number; size: number; seed: number; label: 'orientation' | 'direction' }): {
  clips: tf.Tensor5D;
  labels: Int32Array;
} {
  const { batch, frames, size } = o;
  const rng = createRng(o.seed);
  const data = new Float32Array(batch * frames * size * size);
  const labels = new Int32Array(batch);
  for (let b = 0; b < batch; b++) {
    const label = b % 2;
    labels[b] = label;
    const y0 = rng.int(0, size - 1);
    const x0 = rng.int(0, size - 1);
    let vx: number;
    let vy: number;
    let cells: [number, number][];
    if (o.label === 'orientation') {
      vx = rng.int(-1, 1);
      vy = rng.int(-1, 1);
      cells =
        label === 0
          ? [
              [0, -1],
              [0, 0],
              [0, 1],
            ]
          : [
              [-1, 0],
              [0, 0],
              [1, 0],
            ];
    } else {
      vx = label === 0 ? 1 : -1;
      vy = 0;
      cells = [
        [-1, 0],
        [0, 0],
        [1, 0],
      ];
    }
    for (let t = 0; t < frames; t++) {
      for (const [dy, dx] of cells) {
        const i = mod(y0 + dy + vy * t, size);
        const j = mod(x0 + dx + vx * t, size);
        data[((b * frames + t) * size + i) * size + j] = 1;
      }
    }
  }
  return { clips: tf.tensor5d(data, [batch, frames, size, size, 1]), labels };
}
