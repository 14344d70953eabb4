import type { TrainConfig } from '../../core/protocol/run';
import { memberLabel, type SweepMemberPlan } from '../../core/sweeps/spec';
import { InputError } from '../../core/util/errors';
import type { LabService } from '../lab/labService';
import { refuseOverMemory } from '../lab/memoryCheck';
import { runSources } from '../lab/runSources';

/**
 * The checks of a sweep's members before the sweep is created, so that a sweep that cannot run writes nothing: every
 * member fits its backend's memory (the lab's one check, lab/memoryCheck.ts), and its data files and start checkpoint
 * read as a run started alone would need them (lab/runSources.ts; once per distinct config, seeds aside: a seeds-only
 * sweep decodes a folder of videos once, not once a seed).
 * @param lab the lab that resolves 'auto' as its workers will (local sweeps); null where 'auto' resolves elsewhere (a
 *   Slurm node): then only a backend named in the config is checked for memory.
 * @param memoryField what a memory refusal names (`grid.batch`, `base.batch`, reproduce's `--batch`).
 * @throws InputError naming the field and the member ("member 1 (model=grnn, seed=0): …").
 */
export async function checkSweepMembers(
  members: readonly (Pick<SweepMemberPlan, 'index' | 'overrides'> & { config: TrainConfig })[],
  lab: Pick<LabService, 'checkMemory'> | null,
  memoryField: string,
): Promise<void> {
  const seen = new Set<string>();
  for (const m of members) {
    const label = memberLabel(m);
    if (lab) await lab.checkMemory(m.config, memoryField, label);
    else refuseOverMemory(m.config, null, memoryField, label);
    const key = JSON.stringify({ ...m.config, seed: 0 });
    if (seen.has(key)) continue;
    seen.add(key);
    try {
      await runSources(m.config);
    } catch (e) {
      if (e instanceof InputError) throw new InputError(e.field, `${label}: ${e.message.slice(e.field.length + 2)}`);
      throw e;
    }
  }
}
