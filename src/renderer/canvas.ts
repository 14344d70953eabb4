import type { Frame } from './frames';

/** grey: lo..hi as black..white; signed: 0 white, positive red, negative blue, full at ±max(|lo|, |hi|) (differences). */
export type Palette = 'grey' | 'signed';

/**
 * Draws a frame into a canvas of the frame's size (CSS scales it up with pixelated rendering).
 * @param range value mapped to black..white; default [0, 1]
 */
export function drawFrame(canvas: HTMLCanvasElement, f: Frame, range: [number, number] = [0, 1], palette: Palette = 'grey'): void {
  if (canvas.width !== f.w) canvas.width = f.w;
  if (canvas.height !== f.h) canvas.height = f.h;
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const img = ctx.createImageData(f.w, f.h);
  const [lo, hi] = range;
  if (palette === 'signed') {
    const top = Math.max(Math.abs(lo), Math.abs(hi));
    for (let i = 0; i < f.h * f.w; i++) {
      const a = top > 0 ? Math.min(1, Math.abs(f.data[f.offset + i]) / top) : 0;
      const fade = Math.round(255 * (1 - a));
      const positive = f.data[f.offset + i] > 0;
      img.data.set([positive ? 255 : fade, fade, positive ? fade : 255, 255], 4 * i);
    }
    ctx.putImageData(img, 0, 0);
    return;
  }
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
