/** One line of a LineChart: (x, y) points; null y leaves a gap. */
export interface Series {
  label: string;
  points: { x: number; y: number | null }[];
  colour?: string;
  dashed?: boolean;
  /** Draw points only (e.g. validation marks). */
  pointsOnly?: boolean;
  /** Drawn above the other lines (e.g. the validation curve over the noisier training loss). */
  front?: boolean;
}

/** A shaded x range of a LineChart (e.g. the angular velocities a run trained on), optionally labelled at the top. */
export interface XBand {
  from: number;
  to: number;
  label?: string;
  colour?: string;
}

/** Exponential moving average of a curve (null points stay gaps), for noisy per-batch values. */
export function ema(points: { x: number; y: number | null }[], alpha = 0.9): { x: number; y: number | null }[] {
  let m: number | null = null;
  return points.map((p) => {
    if (p.y === null) return p;
    m = m === null ? p.y : alpha * m + (1 - alpha) * p.y;
    return { x: p.x, y: m };
  });
}
