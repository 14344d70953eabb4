import type { FramesDto } from '../core/protocol/service';

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
 * Draws a frame into a canvas of the frame's size (CSS scales it up with pixelated rendering).
 * @param range value mapped to black..white; default [0, 1]
 */
export function drawFrame(canvas: HTMLCanvasElement, f: Frame, range: [number, number] = [0, 1]): void {
  if (canvas.width !== f.w) canvas.width = f.w;
  if (canvas.height !== f.h) canvas.height = f.h;
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const img = ctx.createImageData(f.w, f.h);
  const [lo, hi] = range;
  const scale = hi > lo ? 255 / (hi - lo) : 0;
  for (let i = 0; i < f.h * f.w; i++) {
    const v = Math.max(0, Math.min(255, Math.round((f.data[f.offset + i] - lo) * scale)));
    img.data[4 * i] = v;
    img.data[4 * i + 1] = v;
    img.data[4 * i + 2] = v;
    img.data[4 * i + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
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
