import type { ILabService, RunListHead } from '../core/protocol/service';
import type { WebLabClient } from './labClient';

/**
 * The first run list, asked for as soon as the service exists (main.ts), while the rest of the app's code loads and
 * starts: the two overlap instead of one waiting for the other (issue 16). When the app opens on the plain run list
 * and the service is the web client, the list comes in two parts: its head (the view's opening rows, exact) is drawn
 * before the rest is parsed. This module imports nothing at run time, so it sits in the page's first, small script.
 */
let first: Promise<RunListHead> | null = null;

/** The app opens on the run list with no run selected: its first rows are the head's (core/protocol/runSummary.ts). */
const opensOnPlainList = (hash: string): boolean => /^#?(\/(runs\/?)?)?$/.test(hash);

export function prefetchRuns(service: ILabService & Partial<Pick<WebLabClient, 'listRunsInParts'>>): void {
  first =
    service.listRunsInParts && opensOnPlainList(location.hash)
      ? service.listRunsInParts()
      : service.listRuns().then((list) => ({ ...list, total: list.runs.length, rest: () => list }));
  // Whoever takes it sees the error; until then it is not an unhandled rejection.
  first.catch(() => undefined);
}

/** The prefetched answer, once; later refreshes ask the service again. */
export function takePrefetchedRuns(): Promise<RunListHead> | null {
  const p = first;
  first = null;
  return p;
}
