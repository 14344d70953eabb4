// A sweep on a user's own data: every member records the files it reads (run.json `sources.data`, as a run started
// alone does), and a sweep whose data do not read is refused before anything is created.
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeNpy } from '../../src/node/npy';
import { RunStore } from '../../src/node/store/runStore';
import { expectBadInput } from '../helpers/cli';
import { TINY_FLAGS, cli, writeSpec } from '../helpers/sweeps';

let work = '';
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'fernn-sweepdata-'));
});

/** A float32 .npy of `shape` [N, T, H, W] with values i/size (deterministic). */
async function npy(name: string, shape: number[]): Promise<string> {
  const n = shape.reduce((a, b) => a * b, 1);
  const file = join(work, name);
  await writeFile(
    file,
    encodeNpy(
      Float32Array.from({ length: n }, (_, i) => (i % 97) / 97),
      shape,
    ),
  );
  return file;
}

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
