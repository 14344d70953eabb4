import type { ILabService } from './service';

/** A request/response method of the service (progress events are a subscription, not a call). */
export type CallMethod = Exclude<keyof ILabService, 'onDidProgress'>;

/**
 * Every callable method of ILabService, for the transports' clients (preload, browser client). Dependency-free so
 * that the sandboxed preload and the renderer may import it; `satisfies` plus the check below keep it equal to the
 * interface.
 */
export const LAB_METHODS = [
  'info',
  'listRuns',
  'getRun',
  'startRun',
  'stopRun',
  'resumeRun',
  'deleteRun',
  'evaluateRun',
  'estimateRun',
  'probeEquivariance',
  'previewFlow',
  'predictions',
  'listFlows',
  'saveFlow',
  'deleteFlow',
  'listSweeps',
  'getSweep',
  'createSweep',
  'cancelSweep',
  'resumeSweep',
  'sweepExecutors',
] as const satisfies readonly CallMethod[];
type Missing = Exclude<CallMethod, (typeof LAB_METHODS)[number]>;
const allMethodsListed: Missing extends never ? true : Missing = true;
void allMethodsListed;
