import { reactive } from 'vue';

/** The views; the address is `#/<view>[/<param>][?query]` so a view can be linked and reloaded. */
export const VIEWS = [
  { id: 'flows', label: 'Flow designer' },
  { id: 'new', label: 'New run' },
  { id: 'runs', label: 'Runs' },
  { id: 'sweeps', label: 'Sweeps' },
  { id: 'compare', label: 'Compare' },
  { id: 'inspect', label: 'Equivariance' },
  { id: 'predictions', label: 'Predictions' },
] as const;
export type ViewId = (typeof VIEWS)[number]['id'];

export interface Route {
  view: ViewId;
  param: string;
  query: Record<string, string>;
}

function parse(hash: string): Route {
  const [path, qs = ''] = hash.replace(/^#\/?/, '').split('?');
  const [view, ...rest] = path.split('/');
  const known = VIEWS.some((v) => v.id === view);
  const query: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(qs)) query[k] = v;
  return { view: known ? (view as ViewId) : 'runs', param: known ? decodeURIComponent(rest.join('/')) : '', query };
}

export const route = reactive<Route>(parse(location.hash));

window.addEventListener('hashchange', () => Object.assign(route, parse(location.hash)));

export function href(view: ViewId, param = '', query: Record<string, string> = {}): string {
  const qs = new URLSearchParams(query).toString();
  return `#/${view}${param ? `/${encodeURIComponent(param)}` : ''}${qs ? `?${qs}` : ''}`;
}

export function navigate(view: ViewId, param = '', query: Record<string, string> = {}): void {
  location.hash = href(view, param, query);
}
