import type { FramesDto } from '../core/protocol/service';
import { rotationTaps } from '../core/flows/rotationGrid';

/**
 * Frames as the service sends them (row-major flat arrays with a shape) and their drawing on canvases. Pixel values
 * of images are in [0, 1]; hidden maps are any float and are scaled per map (min..max) when drawn.
 */
export interface Frame {
  h: number;
  w: number;
  data: ArrayLike<number>;
  offset: number;
}

/** The frame at the leading indices: frameAt(dto, t) for [T, H, W]; frameAt(dto, n, t) for [N, T, H, W]. */
export function frameAt(dto: FramesDto, ...index: number[]): Frame {
  const shape = dto.shape;
  const h = shape[shape.length - 2];
  const w = shape[shape.length - 1];
  if (index.length !== shape.length - 2) throw new Error(`frameAt: ${index.length} indices for shape [${shape.join(', ')}]`);
  let offset = 0;
  for (let i = 0; i < index.length; i++) offset = offset * shape[i] + index[i];
  return { h, w, data: dto.data, offset: offset * h * w };
}

export function frameRange(f: Frame): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < f.h * f.w; i++) {
    const v = f.data[f.offset + i];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

/** The value range shared by several frames (so a strip uses one grey scale). */
export function framesRange(frames: readonly Frame[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const f of frames) {
    const [a, b] = frameRange(f);
    lo = Math.min(lo, a);
    hi = Math.max(hi, b);
  }
  return [lo, hi];
}

/**
 * A hand-drawn digit moved by a translation flow, frame t = roll(img, (vy*t, vx*t)) on the pixel torus — the same
 * convention as the core's TranslationFlow — for the designer's preview of a drawing (the service previews MNIST
 * digits; it takes no images).
 */
export function translateSequence(img: Float32Array, size: number, vx: number, vy: number, frames: number): FramesDto {
  const data: number[] = new Array(frames * size * size);
  const mod = (a: number) => ((a % size) + size) % size;
  for (let t = 0; t < frames; t++) {
    for (let i = 0; i < size; i++) {
      for (let j = 0; j < size; j++) {
        data[t * size * size + i * size + j] = img[mod(i - vy * t) * size + mod(j - vx * t)];
      }
    }
  }
  return { shape: [frames, size, size], data };
}

/** roll(f, (dy, dx)) on the pixel torus, torch.roll convention: out[i, j] = f[i - dy, j - dx]. */
export function rollFrame(f: Frame, dy: number, dx: number): Frame {
  const mod = (a: number, n: number) => ((a % n) + n) % n;
  const out = new Float32Array(f.h * f.w);
  for (let i = 0; i < f.h; i++) for (let j = 0; j < f.w; j++) out[i * f.w + j] = f.data[f.offset + mod(i - dy, f.h) * f.w + mod(j - dx, f.w)];
  return { h: f.h, w: f.w, data: out, offset: 0 };
}

/**
 * A frame rotated by `deg` degrees counterclockwise as displayed about its centre, bilinear, zero outside: the core's
 * own rotation taps (core/flows/rotationGrid.ts, a pure module the renderer may import), so the designer's preview of
 * a drawing is the rotation flow's action itself. Multiples of 90 degrees are exact permutations on square frames.
 */
export function rotateFrame(f: Frame, deg: number): Frame {
  const { index, weight } = rotationTaps(f.h, f.w, deg);
  const out = new Float32Array(f.h * f.w);
  for (let p = 0; p < f.h * f.w; p++) {
    let v = 0;
    for (let k = 4 * p; k < 4 * p + 4; k++) if (index[k] >= 0) v += weight[k] * f.data[f.offset + index[k]];
    out[p] = v;
  }
  return { h: f.h, w: f.w, data: out, offset: 0 };
}

/** A hand-drawn digit turned by a rotation flow: frame t = rotateFrame(img, omega * t), for the designer's preview. */
export function rotateSequence(img: Float32Array, size: number, omega: number, frames: number): FramesDto {
  const data: number[] = new Array(frames * size * size);
  const still: Frame = { h: size, w: size, data: img, offset: 0 };
  for (let t = 0; t < frames; t++) {
    const f = rotateFrame(still, omega * t);
    for (let k = 0; k < size * size; k++) data[t * size * size + k] = f.data[k];
  }
  return { shape: [frames, size, size], data };
}
