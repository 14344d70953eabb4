// A sweep on a user's own data: every member records the files it reads (run.json `sources.data`, as a run started
// alone does), and a sweep whose data do not read is refused before anything is created.
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeNpySequences } from '../helpers/npySequences';
import { trainConfigSchema } from '../../src/core/protocol/run';
import { RunStore } from '../../src/node/store/runStore';
import type { SweepStatus } from '../../src/node/sweeps/sweepStatus';
import { createSweep, memberRunId } from '../../src/node/sweeps/sweepStore';
import { expectBadInput } from '../helpers/cli';
import { gateFolder } from '../helpers/gates';
import { TINY_FLAGS, TINY_MEMBER, cli, writeSpec } from '../helpers/sweeps';

let work = '';
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'fernn-sweepdata-'));
});

/** A float32 .npy of `shape` in the test's folder. */
const npy = (name: string, shape: number[]) => writeNpySequences(join(work, name), shape);

describe('sweep run on a .npy of the user', () => {
  it('every member records the file and its sha256 in run.json', async () => {
    const data = await npy('seqs.npy', [10, 5, 8, 8]);
    const store = join(work, 'ok', 'runs');
    const spec = await writeSpec(work, 'npy-seeds', { base: { ...TINY_FLAGS, steps: 2, model: 'grnn', data }, grid: { seed: [0, 1] } });
    const r = await cli(['sweep', 'run', spec, '--store', store, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const runs = (await new RunStore(store).list()).runs;
    expect(runs).toHaveLength(2);
    for (const run of runs) {
      expect(run.status).toBe('completed');
      expect(run.sweep).toBeDefined();
      const rec = JSON.parse(readFileSync(join(store, run.id, 'run.json'), 'utf8')) as { sources?: { data?: { path: string; sha256: string }[] } };
      expect(rec.sources?.data).toEqual([
        expect.objectContaining({ split: 'all', path: data, sha256: expect.stringMatching(/^[0-9a-f]{64}$/), shape: [10, 5, 8, 8] }),
      ]);
    }
  });

  it('data that do not fit the members is exit code 2 naming the field, the member and the file; nothing is created', async () => {
    const data = await npy('six-frames.npy', [10, 6, 8, 8]);
    const store = join(work, 'bad', 'runs');
    const spec = await writeSpec(work, 'npy-bad', { base: { ...TINY_FLAGS, steps: 2, model: 'grnn', data }, grid: { seed: [0, 1] } });
    expectBadInput(await cli(['sweep', 'run', spec, '--store', store]), /dataDir: member 0 \(seed=0\): \S*six-frames\.npy: sequences have 6 frames/);
    expect(existsSync(join(store, '..', 'sweeps'))).toBe(false);
    expect((await new RunStore(store).list()).runs).toEqual([]);
  });
});

describe('a member whose .npy stops reading after the sweep was made', () => {
  /** The first 200 bytes of `file` in its place: a header whose data are cut off. */
  const truncate = async (file: string) => writeFile(file, (await readFile(file)).subarray(0, 200));
  const brokenMessage = /config\.dataDir: \S*later\.npy: shape \(10, 5, 8, 8\) needs 12800 data bytes, the file has 72/;

  it('sweep run: that member ends failed naming the file; the pool runs the others to completion', { timeout: 240_000 }, async () => {
    const good = await npy('good.npy', [10, 5, 8, 8]);
    const later = await npy('later.npy', [10, 5, 8, 8]);
    const store = join(work, 'mid', 'runs');
    const gates = await gateFolder(join(work, 'gates'));
    // Member 0 parks mid-training; the file member 1 reads is cut off then, after the sweep checked and made it.
    const gate = await gates.hold('npy-mid/0', 2);
    const variants = [
      { data: good, seed: 0 },
      { data: later, seed: 0 },
      { data: good, seed: 1 },
    ];
    const spec = await writeSpec(work, 'npy-mid', { base: { ...TINY_FLAGS, steps: 4, model: 'grnn' }, variants });
    const run = cli(['sweep', 'run', spec, '--store', store, '--parallel', '1'], { FERNN_TEST_GATES: gates.dir });
    await gate.parked();
    await truncate(later);
    await gate.release();
    const r = await run;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`member 1: failed \\(error\\): ${brokenMessage.source}`));
    expect(r.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
    const id = /sweep (\S+): 3 members/.exec(r.stderr)?.[1] ?? '';
    const s = JSON.parse((await cli(['sweep', 'show', id, '--store', store, '--json'])).stdout) as SweepStatus;
    expect(s.members.map((m) => m.status)).toEqual(['completed', 'failed', 'completed']);
    expect(s.members[1].test_mse).toBeNull();
    // The aggregate is over what completed: both seeds on the good file, nothing on the broken one.
    expect(s.groups.map((g) => [g.key.replace(/data=\S*\//, 'data='), g.n, g.completed, g.test_mse === null])).toEqual([
      ['data=good.npy', 2, 2, false],
      ['data=later.npy', 1, 0, true],
    ]);
    const failed = await new RunStore(store).get(s.members[1].run_id);
    expect(failed).toMatchObject({ status: 'failed', endReason: 'error', owner: null });
    expect(failed.endMessage).toMatch(brokenMessage);
    // The runs list shows it, as failed.
    const ls = await cli(['runs', 'ls', '--store', store, '--json']);
    const listed = (JSON.parse(ls.stdout) as { runs: { id: string; status: string; endMessage?: string }[] }).runs.find((x) => x.id === failed.id);
    expect(listed).toMatchObject({ status: 'failed', endMessage: expect.stringMatching(brokenMessage) });
  });

  it('sweep task (a Slurm array task): exit 1 with the reason, no stack; the member is failed in the store', { timeout: 120_000 }, async () => {
    const later = await npy('task-later.npy', [10, 5, 8, 8]);
    const store = join(work, 'task', 'runs');
    const config = trainConfigSchema.parse({ ...TINY_MEMBER, steps: 2, dataset: 'npy', dataDir: later });
    const { dir, sweep } = await createSweep(store, {
      name: 'npy-task',
      spec: { name: 'npy-task', base: {}, grid: { seed: [0] } },
      executor: { kind: 'local', parallel: 1 },
      members: [{ index: 0, overrides: { seed: 0 }, group: '(all)', config }],
    });
    await truncate(later);
    const r = await cli(['sweep', 'task', dir, '0']);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`member 0: run ${memberRunId(sweep.id, 0)} failed \\(error\\): config\\.dataDir: \\S*task-later\\.npy: shape`));
    expect(r.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
    expect(await new RunStore(store).get(memberRunId(sweep.id, 0))).toMatchObject({ status: 'failed', endReason: 'error', owner: null });
  });
});
