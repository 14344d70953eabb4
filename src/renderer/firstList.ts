import type { ILabService, RunList } from '../core/protocol/service';

/**
 * The first run list, asked for as soon as the service exists (main.ts), while the rest of the app's code loads and
 * starts: the two overlap instead of one waiting for the other (issue 16). This module imports nothing at run time,
 * so it sits in the page's first, small script.
 */
let first: Promise<RunList> | null = null;

export function prefetchRuns(service: ILabService): void {
  first = service.listRuns();
  // Whoever takes it sees the error; until then it is not an unhandled rejection.
  first.catch(() => undefined);
}

/** The prefetched answer, once; later refreshes ask the service again. */
export function takePrefetchedRuns(): Promise<RunList> | null {
  const p = first;
  first = null;
  return p;
}
