import { markRaw, reactive } from 'vue';
import type { ProgressEvent, RunRecord } from '../core/protocol/run';
import type { FlowPreset, LabInfo, RunSummary } from '../core/protocol/service';
import { takePrefetchedRuns } from './firstList';
import { errorMessage, lab } from './lab';

/** What several views share: lab info, the run list with live status, saved flows. */
export const state = reactive({
  info: null as LabInfo | null,
  infoError: '',
  /**
   * Summaries: the full record of a run comes from getRun. A plain (raw) array of plain objects, not deeply reactive
   * (issue 16: thousands of runs): views follow the array being replaced, which every refresh and progress event does.
   */
  runs: markRaw([] as RunSummary[]),
  problems: [] as { dir: string; reason: string }[],
  runsError: '',
  runsLoaded: false,
  /** While only the head of the first list is shown (refreshRuns): how many runs there are in all; else null. */
  runsTotal: null as number | null,
  flows: [] as FlowPreset[],
  flowsError: '',
  /** Latest progress event per run id (speed, ETA). */
  live: {} as Record<string, ProgressEvent>,
});

const ACTIVE = new Set(['queued', 'running']);
export const isActive = (r: Pick<RunRecord, 'status'>): boolean => ACTIVE.has(r.status);

export async function refreshInfo(): Promise<void> {
  try {
    state.info = await lab().info();
    state.infoError = '';
  } catch (e) {
    state.infoError = errorMessage(e);
  }
}

/**
 * Resolves once the next two frames have started: the frame with the head's rows has been laid out and painted, and
 * reading the rest of the list (~100-160 ms of the main thread for 5,000 runs) does not hold the one after it.
 */
const afterNextPaint = () => new Promise<void>((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(resolve, 0))));

let refreshes = 0;
export async function refreshRuns(): Promise<void> {
  const mine = ++refreshes;
  try {
    // The first refresh takes the list main.ts asked for before the app loaded. When it came in two parts, the head
    // (the view's opening rows, exact) is shown and painted before the rest is read (issue 16).
    const first = takePrefetchedRuns();
    if (first) {
      const head = await first;
      if (head.runs.length < head.total && mine === refreshes) {
        state.runs = markRaw(head.runs);
        state.runsTotal = head.total;
        state.problems = head.problems;
        state.runsError = '';
        state.runsLoaded = true;
        await afterNextPaint();
      }
      const list = head.rest();
      // A later refresh (a progress event meanwhile) has the newer list.
      if (mine !== refreshes) return;
      state.runs = markRaw(list.runs);
      state.problems = list.problems;
    } else {
      const list = await lab().listRuns();
      if (mine !== refreshes) return;
      state.runs = markRaw(list.runs);
      state.problems = list.problems;
    }
    state.runsError = '';
  } catch (e) {
    state.runsError = errorMessage(e);
  } finally {
    if (mine === refreshes) {
      state.runsTotal = null;
      state.runsLoaded = true;
    }
  }
}

export async function refreshFlows(): Promise<void> {
  try {
    state.flows = await lab().listFlows();
    state.flowsError = '';
  } catch (e) {
    state.flowsError = errorMessage(e);
  }
}

const progressListeners = new Set<(e: ProgressEvent) => void>();

/** Progress events for views (already applied to `state.runs`); returns the unsubscribe function. */
export function onProgress(fn: (e: ProgressEvent) => void): () => void {
  progressListeners.add(fn);
  return () => progressListeners.delete(fn);
}

function apply(e: ProgressEvent): void {
  state.live[e.runId] = e;
  const r = state.runs.find((x) => x.id === e.runId);
  if (!r) {
    void refreshRuns();
  } else {
    r.status = e.status;
    r.progress.step = e.step;
    r.progress.epoch = e.epoch;
    if (e.loss !== null) r.progress.lastTrainLoss = e.loss;
    if (e.bestValMse !== null) r.progress.bestValMse = e.bestValMse;
    if (e.bestValAccuracy !== undefined && e.bestValAccuracy !== null) r.progress.bestValAccuracy = e.bestValAccuracy;
    // The list is not deeply reactive: a new array tells the views that read it.
    state.runs = markRaw([...state.runs]);
    if (!isActive(r)) void refreshRuns();
  }
  for (const l of progressListeners) l(e);
}

let started = false;
/** Subscribes once to the service's progress and polls while a run is active (covers missed events). */
export function startLiveUpdates(): void {
  if (started) return;
  started = true;
  lab().onDidProgress(apply);
  setInterval(() => {
    if (state.runs.some(isActive)) void refreshRuns();
  }, 5000);
}
