// "Train longer" from the command line: `fernn-lab resume RUN --steps N` continues a completed run from its last
// checkpoint to N steps in all and records it; bad input (a bad or too small --steps, a run that is not completed)
// exits 2 naming the flag or argument, with no JavaScript stack.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trainConfigSchema, type RunRecord } from '../../src/core/protocol/run';
import { RunStore } from '../../src/node/store/runStore';
import { cli, expectBadInput, trainTinyRun } from '../helpers/cli';

let store: string;
let run: string;

beforeAll(async () => {
  store = await mkdtemp(path.join(os.tmpdir(), 'fernn-cli-longer-'));
  run = await trainTinyRun(store, 'short', { testSequences: 4 });
});
afterAll(() => rm(store, { recursive: true, force: true }));

describe('fernn-lab resume RUN --steps N', () => {
  it('refuses a bad --steps, a total not above the steps trained, and a plain resume of a completed run', async () => {
    expectBadInput(await cli(['resume', 'short', '--steps', 'abc', '--store', store]), /^error: --steps: must be a number/);
    expectBadInput(await cli(['resume', 'short', '--steps', '0', '--store', store]), /^error: --steps: must be >= 1/);
    expectBadInput(
      await cli(['resume', 'short', '--steps', '4', '--store', store]),
      new RegExp(`^error: --steps: must be above the 4 steps run ${run} has trained; got 4`),
    );
    expectBadInput(await cli(['resume', 'short', '--store', store]), /^error: <run>: run .* has completed \(4 steps\).*\(fernn-lab resume short --steps N\)/);
  });

  it('refuses a run that is not completed', async () => {
    const s = new RunStore(store);
    const config = trainConfigSchema.parse({ model: 'grnn', vRange: 0, hidden: 2, steps: 4, backend: 'wasm' });
    const queued = await s.create({ config, name: 'waiting', seeds: { init: 0, data: 1 }, params: 0, versions: {} });
    expectBadInput(
      await cli(['resume', 'waiting', '--steps', '8', '--store', store]),
      new RegExp(`^error: <run>: run ${queued.id} is queued: only a completed run can train longer`),
    );
  });

  it('continues the completed run to the new total and records the continuation', async () => {
    const r = await cli(['resume', 'short', '--steps', '7', '--store', store, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout) as { status: string; steps: number; continuations: { from_step: number; to_step: number; at: string }[] };
    expect(summary.status).toBe('completed');
    expect(summary.steps).toBe(7);
    expect(summary.continuations).toMatchObject([{ from_step: 4, to_step: 7, early_stop_reset: false }]);
    expect(r.stderr).toMatch(/training .* longer: from step 4 to 7/);

    const shown = JSON.parse((await cli(['runs', 'show', 'short', '--store', store, '--json'])).stdout) as { run: RunRecord };
    expect(shown.run.config.steps).toBe(7);
    expect(shown.run.continuations).toMatchObject([{ fromStep: 4, toStep: 7 }]);
    const human = await cli(['runs', 'show', 'short', '--store', store]);
    expect(human.stdout).toMatch(/steps 7\/7/);
    expect(human.stdout).toMatch(/trained longer: from step 4 to 7 \(/);
  });
});
