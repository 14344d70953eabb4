import type { RunRecord, TrainConfig } from '../../core/protocol/run';
import { inspectInitCheckpoint } from '../checkpoint/init';
import type { DataWalk, DecodedFolders, InspectKeep } from '../data/datasets/loader';
import { walkRunData } from './data';
import { modelConfigOf } from './trainJob';

/**
 * What a run records of where it comes from (`sources` in run.json): the user files its data are read from (checked,
 * streaming, by its dataset kind's `inspect`) and the checkpoint it starts from (shapes checked against its model).
 * Called before a run exists by every path that creates one (the service's startRun, a sweep's members), so bad
 * files leave nothing in the store and every run says which files it used.
 * @throws InputError('config.dataDir' | 'config.dataVal' | 'config.dataTest' | 'config.init', ...) naming the file.
 */
export async function runSources(config: TrainConfig): Promise<RunRecord['sources']> {
  return (await checkRunSources(config, await walkRunData(config))).sources;
}

/**
 * runSources on data already walked (walkRunData: startRun walks first, for the classes the memory check needs), and,
 * with `keep.decoded`, what the data's inspect decoded, for the run's loader in this process (framesPrediction, classFoldersClassification).
 */
export async function checkRunSources(
  config: TrainConfig,
  walk: DataWalk | undefined,
  keep?: InspectKeep,
): Promise<{ sources: RunRecord['sources']; decoded?: DecodedFolders }> {
  const inspected = await walk?.inspect(keep);
  const data = inspected?.sources;
  const init = config.init === undefined ? undefined : await inspectInitCheckpoint(config.init, modelConfigOf(config), 'config.init');
  const sources = data || init ? { ...(data ? { data } : {}), ...(init ? { init } : {}) } : undefined;
  return inspected?.decoded ? { sources, decoded: inspected.decoded } : { sources };
}
