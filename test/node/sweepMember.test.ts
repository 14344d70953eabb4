import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trainConfigSchema } from '../../src/core/protocol/run';
import { createLabService, type LabService } from '../../src/node/lab/labService';
import { runMember } from '../../src/node/sweeps/member';
import { claimMember } from '../../src/node/sweeps/memberClaim';
import { createSweep, memberRunId, readSweep, sweepsRootFor } from '../../src/node/sweeps/sweepStore';

const config = trainConfigSchema.parse({
  model: 'grnn',
  vRange: 0,
  hidden: 2,
  imageSize: 8,
  batch: 2,
  steps: 3,
  valEvery: 3,
  valSequences: 4,
  testSequences: 4,
  inputFrames: 3,
  predFrames: 2,
  backend: 'cpu',
});

let root = '';
let lab: LabService;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'fernn-member-'));
  lab = await createLabService({ storeRoot: join(root, 'runs'), shell: { kind: 'web' } });
});
afterAll(() => lab.dispose());

describe('sweep member task', () => {
  it('creates the run with its fixed id once, is a no-op when completed, and skips a member owned elsewhere', async () => {
    const { dir, sweep } = await createSweep(lab.store.root, {
      name: 'm',
      spec: { name: 'm', base: {}, grid: { seed: [0, 1] } },
      executor: { kind: 'local', parallel: 1 },
      members: [0, 1].map((seed) => ({ index: seed, overrides: { seed }, group: '(all)', config: { ...config, seed } })),
    });
    expect(dir.startsWith(sweepsRootFor(lab.store.root))).toBe(true);
    expect(await readSweep(dir)).toEqual(sweep);
    // A creator killed between mkdir and run.json left an empty folder: the claim holder redoes it.
    await mkdir(lab.store.runDir(memberRunId(sweep.id, 0)));
    const first = await runMember(lab, dir, sweep, 0, { job: null });
    expect(first.kind === 'ran' && first.run.status).toBe('completed');
    expect(first.kind === 'ran' && first.run.sweep).toEqual({ id: sweep.id, index: 0 });
    expect(first.kind === 'ran' && first.run.id).toBe(memberRunId(sweep.id, 0));
    const again = await runMember(lab, dir, sweep, 0, { job: null });
    expect(again.kind).toBe('already-completed');
    const held = await claimMember(dir, 1, 'other', process.ppid);
    expect(held.ok).toBe(true);
    expect((await runMember(lab, dir, sweep, 1, { job: null })).kind).toBe('owned-elsewhere');
    await expect(runMember(lab, dir, sweep, 7, { job: null })).rejects.toThrow(/index: sweep .* has members 0..1; got 7/);
  });
});
