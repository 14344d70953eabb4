import { describe, expect, it } from 'vitest';
import { MAX_OMEGA } from '../../src/core/flows/flowGrammar';
import { rotationTaps } from '../../src/core/flows/rotationGrid';
import { flowSpecSchema } from '../../src/core/protocol/service';
import { OMEGA_MAX, checkOmega, describeFlow, parseFlowSpec, rotateSpec } from '../../src/renderer/flowSpec';
import { angularSpan, modelLabel } from '../../src/renderer/format';
import { rotateFrame, rotateSequence } from '../../src/renderer/frames';

/** The core's rotation of a flat h x w image (its taps), the reference for the renderer's copy. */
function coreRotate(img: Float32Array, h: number, w: number, deg: number): Float32Array {
  const { index, weight } = rotationTaps(h, w, deg);
  const out = new Float32Array(h * w);
  for (let p = 0; p < h * w; p++) for (let k = 0; k < 4; k++) if (index[4 * p + k] >= 0) out[p] += weight[4 * p + k] * img[index[4 * p + k]];
  return out;
}
const random = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.abs(Math.sin(seed * 97.1 + i * 12.9898) * 43758.5453) % 1);

describe('rotation on the renderer side', () => {
  it('rotates frames as the core does (counterclockwise as displayed, about the centre, bilinear, zero outside)', () => {
    for (const [h, w] of [
      [8, 8],
      [9, 7],
      [16, 16],
    ]) {
      const img = random(h * w, h + w);
      for (const deg of [0, 10, -22.5, 30, 90, 180, -90, 270, 405]) {
        const mine = rotateFrame({ h, w, data: img, offset: 0 }, deg).data as Float32Array;
        const core = coreRotate(img, h, w, deg);
        for (let i = 0; i < h * w; i++) expect(mine[i], `${h}x${w} ${deg}° at ${i}`).toBeCloseTo(core[i], 5);
      }
    }
  });

  it('turns a quarter turn exactly, counterclockwise as displayed', () => {
    // A dot at the top-left corner goes to the bottom-left corner.
    const img = new Float32Array(16);
    img[0] = 1;
    const out = rotateFrame({ h: 4, w: 4, data: img, offset: 0 }, 90).data;
    expect(Array.from(out)).toEqual(Array.from({ length: 16 }, (_, i) => (i === 12 ? 1 : 0)));
    const seq = rotateSequence(img, 4, 90, 5);
    expect(seq.shape).toEqual([5, 4, 4]);
    expect([0, 1, 2, 3, 4].map((t) => seq.data.slice(16 * t, 16 * t + 16).indexOf(1))).toEqual([0, 12, 15, 3, 0]);
  });

  it('reads and writes the flow texts the service accepts', () => {
    expect(OMEGA_MAX).toBe(MAX_OMEGA);
    expect(parseFlowSpec('rotate:30')).toEqual({ kind: 'rotation', omega: 30 });
    expect(parseFlowSpec('rotate:-22.5')).toEqual({ kind: 'rotation', omega: -22.5 });
    expect(parseFlowSpec('translate:2,-1')).toEqual({ kind: 'translation', vx: 2, vy: -1 });
    expect(parseFlowSpec('rotate:1e3')).toBeNull();
    for (const typed of ['30', '-22.5', '0', '360', '-360', '0.125', '007']) {
      expect(checkOmega(typed), typed).toBeNull();
      expect(flowSpecSchema.safeParse(rotateSpec(typed)).success, rotateSpec(typed)).toBe(true);
      expect(parseFlowSpec(rotateSpec(typed))).toEqual({ kind: 'rotation', omega: Number(typed) });
    }
    for (const typed of ['', 'x', '361', '-400', '1.2345', '1e2', '+30', '30°']) expect(checkOmega(typed), typed).not.toBeNull();
    expect(describeFlow('rotate:30')).toBe('rotation 30°/frame ↺');
    expect(describeFlow('rotate:-22.5')).toBe('rotation −22.5°/frame ↻');
    expect(describeFlow('translate:2,1')).toBe('translation (2, 1) px/frame');
  });

  it('names rotation models as the core does', () => {
    expect(modelLabel({ model: 'fernn-rot', vRange: 2, group: 8, omegaStep: 10 })).toBe('FERNN-V2 (rot, C8)');
    expect(modelLabel({ model: 'fernn-rot', vRange: 1, group: 4, omegaStep: 90 })).toBe('FERNN-V1 (rot, C4, step 90)');
    expect(modelLabel({ model: 'grnn-rot', vRange: 0, group: 36, omegaStep: 10 })).toBe('G-RNN (rot, C36)');
    expect(modelLabel({ model: 'fernn', vRange: 1 })).toBe('FERNN-V1');
    expect(angularSpan(4, 10)).toBe('−40..40 deg/frame');
    expect(angularSpan(0, 10)).toBe('0 deg/frame');
  });
});
