import type { RunRecord, TrainConfig } from '../../core/protocol/run';
import { inspectInitCheckpoint } from '../checkpoint/init';
import { inspectRunData } from './data';
import { modelConfigOf } from './trainJob';

/**
 * What a run records of where it comes from (`sources` in run.json): the user files its data are read from (checked,
 * streaming, by its dataset kind's `inspect`) and the checkpoint it starts from (shapes checked against its model).
 * Called before a run exists by every path that creates one (the service's startRun, a sweep's members), so bad
 * files leave nothing in the store and every run says which files it used.
 * @throws InputError('config.dataDir' | 'config.dataVal' | 'config.dataTest' | 'config.init', ...) naming the file.
 */
export async function runSources(config: TrainConfig): Promise<RunRecord['sources']> {
  const data = await inspectRunData(config);
  const init = config.init === undefined ? undefined : await inspectInitCheckpoint(config.init, modelConfigOf(config), 'config.init');
  return data || init ? { ...(data ? { data } : {}), ...(init ? { init } : {}) } : undefined;
}
