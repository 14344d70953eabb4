// "Train longer" from the command line: `fernn-lab resume RUN --steps N` continues a completed run from its last
// checkpoint to N steps in all and records it; bad input (a bad or too small --steps, a run that is not completed)
// exits 2 naming the flag or argument, with no JavaScript stack.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trainConfigSchema, type RunRecord } from '../../src/core/protocol/run';
import { RunStore } from '../../src/node/store/runStore';

const BIN = path.resolve('bin/fernn-lab.js');
let store: string;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[]): Promise<Result> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Bad input: exit 2, the field named, no stack trace, nothing on stdout. */
function expectBadInput(r: Result, pattern: RegExp): void {
  expect(r.code, r.stderr).toBe(2);
  expect(r.stderr).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
  expect(r.stdout).toBe('');
}

const TRAIN = ['train', '--model', 'grnn', '--hidden', '2', '--image-size', '8', '--batch', '2', '--steps', '4', '--input-frames', '3', '--pred-frames', '2'];
const TRAIN_TAIL = ['--val-every', '2', '--val-sequences', '4', '--test-sequences', '4', '--backend', 'wasm', '--json'];
let run: string;

beforeAll(async () => {
  store = await mkdtemp(path.join(os.tmpdir(), 'fernn-cli-longer-'));
  const a = await cli([...TRAIN, ...TRAIN_TAIL, '--store', store, '--name', 'short']);
  expect(a.code, a.stderr).toBe(0);
  run = (JSON.parse(a.stdout) as { run_id: string }).run_id;
});
afterAll(async () => {
  await rm(store, { recursive: true, force: true });
});

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
