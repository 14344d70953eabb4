/**
 * Rotation of a pixel grid about its centre — the one geometric convention shared by the Rotating-MNIST generator,
 * the rotation flow, the rotation of lifted hidden states and the rotated filter banks of the group convolutions.
 *
 * Rotating by theta degrees turns content counterclockwise as displayed (rows grow downwards), about the centre
 * (cy, cx) = ((H-1)/2, (W-1)/2) in pixel-index coordinates:
 *   out[i, j] = in( cy + (j - cx) sin(theta) + (i - cy) cos(theta),  cx + (j - cx) cos(theta) - (i - cy) sin(theta) )
 * sampled bilinearly, zero outside the grid. This is the reference's convention (`affine_grid` with the matrix
 * [[cos, -sin], [sin, cos]] and `grid_sample(padding_mode='zeros')`, and `torch.rot90(x, 1, dims=(H, W))` for 90
 * degrees). Multiples of 90 degrees use exact sines and cosines, so on a square grid they are exact permutations.
 * Pure numbers, no tensors.
 */

/** cos and sin of `degrees`, exact (0, +-1) at multiples of 90 degrees. */
export function cosSinDegrees(degrees: number): { cos: number; sin: number } {
  if (!Number.isFinite(degrees)) throw new Error(`rotation angle must be finite, got ${degrees}`);
  const quarter = degrees / 90;
  if (Number.isInteger(quarter)) {
    const q = ((quarter % 4) + 4) % 4;
    return [
      { cos: 1, sin: 0 },
      { cos: 0, sin: 1 },
      { cos: -1, sin: 0 },
      { cos: 0, sin: -1 },
    ][q];
  }
  const r = (degrees * Math.PI) / 180;
  return { cos: Math.cos(r), sin: Math.sin(r) };
}

/** Whether rotating by `degrees` maps pixel centres onto pixel centres (an exact permutation on a square grid). */
export function isQuarterTurn(degrees: number): boolean {
  return Number.isInteger(degrees / 90);
}

/**
 * The bilinear taps of rotating an h x w grid by `degrees`: output pixel p = i*w + j reads
 * sum_k weight[4p + k] * in[index[4p + k]]; index -1 marks a tap outside the grid (weight 0). A source that lands on a
 * pixel centre (always, for quarter turns of a square grid) gives one tap of weight exactly 1.
 */
export interface GridTaps {
  readonly index: Int32Array;
  readonly weight: Float64Array;
}

export function rotationTaps(h: number, w: number, degrees: number): GridTaps {
  const { cos, sin } = cosSinDegrees(degrees);
  const cy = (h - 1) / 2;
  const cx = (w - 1) / 2;
  const index = new Int32Array(4 * h * w).fill(-1);
  const weight = new Float64Array(4 * h * w);
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < w; j++) {
      const y = cy + (j - cx) * sin + (i - cy) * cos;
      const x = cx + (j - cx) * cos - (i - cy) * sin;
      writeBilinear(index, weight, 4 * (i * w + j), y, x, h, w);
    }
  }
  return { index, weight };
}

/**
 * Bilinear taps of sampling an h x w grid at (y, x), zero outside, written to slots base..base+3. Corners with weight
 * 0 are left out, so a point on a pixel centre gives one tap of weight 1.
 */
function writeBilinear(index: Int32Array, weight: Float64Array, base: number, y: number, x: number, h: number, w: number): void {
  const y0 = Math.floor(y);
  const x0 = Math.floor(x);
  const fy = y - y0;
  const fx = x - x0;
  let k = base;
  for (const [dy, wy] of [
    [0, 1 - fy],
    [1, fy],
  ] as const) {
    for (const [dx, wx] of [
      [0, 1 - fx],
      [1, fx],
    ] as const) {
      const yy = y0 + dy;
      const xx = x0 + dx;
      const wt = wy * wx;
      if (wt === 0 || yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
      index[k] = yy * w + xx;
      weight[k] = wt;
      k++;
    }
  }
}

/**
 * Bilinear sample of a row-major rows x cols image at (y, x) (pixel-index coordinates), zero outside — the reference
 * data generator's `grid_sample(mode='bilinear', padding_mode='zeros')` at one point.
 */
export function sampleBilinear(img: ArrayLike<number>, rows: number, cols: number, y: number, x: number): number {
  const y0 = Math.floor(y);
  const x0 = Math.floor(x);
  if (y0 < -1 || y0 >= rows || x0 < -1 || x0 >= cols) return 0;
  const fy = y - y0;
  const fx = x - x0;
  const at = (r: number, c: number): number => (r >= 0 && r < rows && c >= 0 && c < cols ? img[r * cols + c] : 0);
  return (1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x0 + 1)) + fy * ((1 - fx) * at(y0 + 1, x0) + fx * at(y0 + 1, x0 + 1));
}

/**
 * The dense k^2 x k^2 matrix of rotating a k x k filter by `degrees` (the same convention as frames):
 * rotated[p] = sum_q M[p, q] * filter[q]. A permutation matrix for quarter turns.
 */
export function filterRotationMatrix(k: number, degrees: number): Float32Array {
  const { index, weight } = rotationTaps(k, k, degrees);
  const n = k * k;
  const m = new Float32Array(n * n);
  for (let p = 0; p < n; p++) {
    for (let t = 0; t < 4; t++) {
      const q = index[4 * p + t];
      if (q >= 0) m[p * n + q] += weight[4 * p + t];
    }
  }
  return m;
}
