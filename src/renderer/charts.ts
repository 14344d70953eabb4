import {
  CategoryScale,
  Chart,
  Filler,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  LogarithmicScale,
  PointElement,
  Title,
  Tooltip,
  type Plugin,
} from 'chart.js';
import { MatrixController, MatrixElement } from 'chartjs-chart-matrix';
import { cssVar } from './theme';

Chart.register(
  LineController,
  LineElement,
  PointElement,
  LinearScale,
  LogarithmicScale,
  CategoryScale,
  Legend,
  Title,
  Tooltip,
  Filler,
  MatrixController,
  MatrixElement,
);

/** Fills the canvas with the page background, so exported PNGs are readable outside the app in either theme. */
const background: Plugin = {
  id: 'fernnBackground',
  beforeDraw(chart) {
    const { ctx, width, height } = chart;
    ctx.save();
    ctx.globalCompositeOperation = 'destination-over';
    ctx.fillStyle = cssVar('--chart-bg') || '#fff';
    ctx.fillRect(0, 0, width, height);
    ctx.restore();
  },
};
Chart.register(background);

/** Theme colours for axes, grid and text, read from the CSS variables of the current theme. */
export function themeColours(): { fg: string; muted: string; grid: string } {
  return { fg: cssVar('--fg') || '#111', muted: cssVar('--muted') || '#555', grid: cssVar('--grid') || '#ddd' };
}

/** Viridis at a few stops: perceptually ordered, readable in both themes and in grey. */
const VIRIDIS = [
  [68, 1, 84],
  [59, 82, 139],
  [33, 145, 140],
  [94, 201, 98],
  [253, 231, 37],
];

/** Colour of t in [0, 1] on viridis. */
export function viridis(t: number): string {
  const x = Math.max(0, Math.min(1, Number.isFinite(t) ? t : 0)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x));
  const f = x - i;
  const c = VIRIDIS[i].map((a, k) => Math.round(a + (VIRIDIS[i + 1][k] - a) * f));
  return `rgb(${c[0]}, ${c[1]}, ${c[2]})`;
}

export { Chart };

/** Exported PNGs are drawn at this many device pixels per CSS pixel (print resolution), whatever the screen's. */
export const PRINT_SCALE = 3;

/**
 * Runs `read` on the chart's canvas redrawn at `scale` device pixels per CSS pixel (at least the screen's), then
 * draws it back at the screen's ratio: the exported image has the on-screen layout at `scale` times the pixels.
 */
export function atScale<T>(chart: Chart, scale: number, read: (canvas: HTMLCanvasElement) => T): T {
  const before = chart.options.devicePixelRatio;
  chart.options.devicePixelRatio = Math.max(scale, window.devicePixelRatio || 1);
  chart.resize();
  try {
    return read(chart.canvas);
  } finally {
    chart.options.devicePixelRatio = before;
    chart.resize();
  }
}
