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
  /**
   * An edge of a filled band, drawn without a line and left out of the legend: 'lo' the lower edge, 'hi' the upper
   * edge, filled down to the series just before it (its 'lo'), e.g. a mean ± std band.
   */
  band?: 'lo' | 'hi';
}

/** A line plus a band from `lo` to `hi` (null y: no band there), in one colour: the band's two edges follow the line. */
export function withBand(
  label: string,
  colour: string,
  line: { x: number; y: number | null }[],
  lo: { x: number; y: number | null }[],
  hi: { x: number; y: number | null }[],
  bandLabel: string,
): Series[] {
  return [
    { label, colour, points: line },
    { label: `${bandLabel} (low)`, colour, band: 'lo', points: lo },
    { label: bandLabel, colour, band: 'hi', points: hi },
  ];
}

/** A colour (#rgb, #rrggbb or rgb()) at `alpha` opacity, for band fills; other forms unchanged. */
export function translucent(colour: string, alpha: number): string {
  const hex = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(colour.trim());
  if (hex) {
    const h = hex[1].length === 3 ? [...hex[1]].map((c) => c + c).join('') : hex[1];
    const [r, g, b] = [0, 2, 4].map((i) => parseInt(h.slice(i, i + 2), 16));
    return `rgba(${r}, ${g}, ${b}, ${alpha})`;
  }
  const rgb = /^rgba?\(\s*([\d.]+)[,\s]+([\d.]+)[,\s]+([\d.]+)/i.exec(colour.trim());
  return rgb ? `rgba(${rgb[1]}, ${rgb[2]}, ${rgb[3]}, ${alpha})` : colour;
}

/** A LineChart's Chart.js datasets: lines, points, and band edges ('hi' fills to the 'lo' before it, '-1'). */
export function lineDatasets(series: Series[], yFloor: number | undefined, colourOf: (i: number) => string) {
  return series.map((s, i) => {
    const colour = s.colour ?? colourOf(i);
    const edge = s.band !== undefined;
    return {
      label: s.label,
      data: s.points.map((p) => ({ x: p.x, y: p.y === null || yFloor === undefined ? p.y : Math.max(p.y, yFloor) })),
      borderColor: edge ? 'transparent' : colour,
      backgroundColor: edge ? translucent(colour, 0.18) : colour,
      borderDash: s.dashed ? [6, 4] : [],
      fill: s.band === 'hi' ? ('-1' as const) : false,
      // Chart.js draws lower orders last (on top); the legend keeps the series' own order (labels.sort below).
      order: s.front ? 0 : edge ? 2 : 1,
      borderWidth: edge ? 0 : 2,
      showLine: !s.pointsOnly,
      pointRadius: edge ? 0 : s.pointsOnly ? 3 : s.points.length > 40 ? 0 : 2,
      pointHitRadius: edge ? 0 : 1,
      spanGaps: true,
      parsing: false as const,
      normalized: true,
    };
  });
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

/** A log y axis where one is asked for (logY) and the data spans at least a decade; within one, a linear axis reads better. */
export function logAxis(logY: boolean, series: Series[], yFloor?: number): boolean {
  if (!logY) return false;
  const ys = series.flatMap((s) => s.points.map((p) => p.y)).filter((y): y is number => y !== null && y > 0);
  if (yFloor !== undefined) ys.push(yFloor);
  return ys.length > 1 && Math.max(...ys) / Math.min(...ys) >= 10;
}
