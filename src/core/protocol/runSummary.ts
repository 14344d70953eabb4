import type { RunRecord, TrainConfig } from './run';

/**
 * What the run list needs of a run (issue 16: a store of 5,000 runs is 5.3 MB of full records; the list needs a
 * fraction): who it is, its state, its headline figures and the few config fields lists filter, sort and label by.
 * Field names and shapes are those of `RunRecord`, so code written for a record's fields reads a summary unchanged;
 * `getRun` gives the full record (seeds, versions, sources, owner, timings, the rest of the config).
 */
export const SUMMARY_CONFIG_FIELDS = [
  'task',
  'dataset',
  'model',
  'vRange',
  'group',
  'omegaStep',
  'hidden',
  'steps',
  'dataVRange',
  'testDataVRange',
  'dataVelocities',
  'backend',
] as const satisfies readonly (keyof TrainConfig)[];
export type SummaryConfigField = (typeof SUMMARY_CONFIG_FIELDS)[number];

export const SUMMARY_RECORD_FIELDS = [
  'id',
  'name',
  'sweep',
  'createdAt',
  'updatedAt',
  'status',
  'endReason',
  'endMessage',
  'progress',
  'results',
  'backend',
  'params',
] as const satisfies readonly (keyof RunRecord)[];
export type SummaryRecordField = (typeof SUMMARY_RECORD_FIELDS)[number];

export type RunSummary = Pick<RunRecord, SummaryRecordField> & { config: Pick<TrainConfig, SummaryConfigField> };

/** The run's summary: the listed fields of the record and of its config, the optional ones only when set. */
export function toRunSummary(r: RunRecord): RunSummary {
  const out: Record<string, unknown> = {};
  for (const k of SUMMARY_RECORD_FIELDS) if (r[k] !== undefined) out[k] = r[k];
  const config: Record<string, unknown> = {};
  for (const k of SUMMARY_CONFIG_FIELDS) if (r.config[k] !== undefined) config[k] = r.config[k];
  out.config = config;
  return out as RunSummary;
}

/**
 * The first screens of the run list, for a page to draw before it has read the rest (issue 16): the runs, in the
 * list's order (newest first), up to the one that makes `items` rows of the Runs view in its opening state (sorted by
 * date, each sweep one closed row at its newest run), plus every other run of the sweeps among them, so that each
 * sweep's row (its count, its best run) is what the whole list gives. The first `items` rows of the view are then the
 * same for the head as for the whole list.
 */
export function listHead<T extends Pick<RunSummary, 'id' | 'sweep'>>(runs: readonly T[], items: number): T[] {
  const sweeps = new Set<string>();
  let rows = 0;
  let end = 0;
  for (; end < runs.length && rows < items; end++) {
    const sweep = runs[end].sweep?.id;
    if (sweep === undefined) rows++;
    else if (!sweeps.has(sweep)) {
      sweeps.add(sweep);
      rows++;
    }
  }
  return runs.filter((r, i) => i < end || (r.sweep !== undefined && sweeps.has(r.sweep.id)));
}
