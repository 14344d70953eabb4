/** One line of a LineChart: (x, y) points; null y leaves a gap. */
export interface Series {
  label: string;
  points: { x: number; y: number | null }[];
  colour?: string;
  dashed?: boolean;
  /** Draw points only (e.g. validation marks). */
  pointsOnly?: boolean;
}
