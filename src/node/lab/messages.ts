import type { ProgressEvent } from '../../core/protocol/run';

/** What the service asks a worker to do. Jobs other than 'train' answer once with a result. */
export type JobKind = 'evaluate' | 'probe' | 'preview' | 'predictions' | 'estimate' | 'backends';

export type ToWorker =
  | { type: 'train'; storeRoot: string; runId: string; resume: boolean }
  | { type: 'job'; storeRoot: string; kind: JobKind; args: unknown }
  | { type: 'stop'; interrupted: boolean };

export type FromWorker =
  | { type: 'progress'; event: ProgressEvent }
  | { type: 'result'; value: unknown }
  | { type: 'error'; message: string; field?: string };
