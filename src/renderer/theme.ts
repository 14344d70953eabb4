import { ref, watch } from 'vue';

export type Theme = 'light' | 'dark';
const KEY = 'fernn-lab.theme';

function initial(): Theme {
  const saved = localStorage.getItem(KEY);
  if (saved === 'light' || saved === 'dark') return saved;
  return window.matchMedia?.('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

/** The colour theme; charts read their colours from the CSS variables it switches. */
export const theme = ref<Theme>(initial());

watch(
  theme,
  (t) => {
    document.documentElement.dataset.theme = t;
    localStorage.setItem(KEY, t);
  },
  { immediate: true },
);

export function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

/** Okabe–Ito: distinguishable with common colour-vision deficiencies; ordered for contrast on each background. */
const PALETTES: Record<Theme, string[]> = {
  light: ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#999999', '#000000'],
  dark: ['#56B4E9', '#E69F00', '#3FC89B', '#E08DC0', '#F0E442', '#FF8A4C', '#BBBBBB', '#FFFFFF'],
};

/** The i-th series colour of the current theme (reactive: computed values that use it follow the theme). */
export function seriesColour(i: number): string {
  const p = PALETTES[theme.value];
  return p[i % p.length];
}
