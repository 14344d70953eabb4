import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trainConfigSchema, type TrainConfigInput } from '../../src/core/protocol/run';
import { probeSchema } from '../../src/core/protocol/service';
import { createLabService, type LabService } from '../../src/node/lab/labService';
import { expectRejectsInputError } from '../helpers/errors';

let dir: string;
let lab: LabService;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'fernn-lab-rot-'));
  lab = await createLabService({
    storeRoot: path.join(dir, 'runs'),
    shell: { kind: 'web' },
    workerPath: path.resolve('dist/labWorker.js'),
    flowsFile: path.join(dir, 'flows.json'),
  });
});
afterAll(async () => {
  await lab.dispose();
  await rm(dir, { recursive: true, force: true });
});

const tiny = (over: Partial<TrainConfigInput> = {}): TrainConfigInput => ({
  dataset: 'rotating-mnist',
  model: 'fernn-rot',
  vRange: 1,
  group: 4,
  omegaStep: 90,
  hidden: 1,
  batch: 2,
  steps: 2,
  imageSize: 8,
  inputFrames: 2,
  predFrames: 2,
  dataVRange: 1,
  valEvery: 2,
  valSequences: 2,
  testSequences: 2,
  backend: 'wasm',
  ...over,
});

describe('Rotating-MNIST runs (service, worker, store)', () => {
  it('trains a rotation FERNN, evaluates MSE per angular velocity and its equivariance under its own kind of flow', async () => {
    const rec = await lab.startRun({ config: tiny() });
    expect(rec.params).toBeGreaterThan(0);
    await lab.whenIdle(rec.id);
    const d = await lab.getRun({ id: rec.id });
    expect(d.run.status, d.run.endMessage).toBe('completed');
    expect(d.run.results?.testMse).toBeGreaterThan(0);

    const r = await lab.evaluateRun({ id: rec.id, kinds: ['velocity', 'equivariance'], velocityRange: 2, sequences: 2 });
    expect(r.angular?.omegas).toEqual([-180, -90, 0, 90, 180]);
    expect(r.angular?.mse.every((m) => m > 0)).toBe(true);
    expect(r.velocity).toBeUndefined();
    // No flows given: the run's own motion, one velocity step (rotate:90); C4 at quarter turns is exact.
    expect(r.equivariance?.map((e) => e.flow)).toEqual(['rotate:90']);
    for (const s of r.equivariance![0].per_step) expect(s.hidden_rel_err ?? 0).toBeLessThan(1e-5);
    expect(Object.keys((await lab.getRun({ id: rec.id })).evals)).toEqual(expect.arrayContaining(['test', 'angular-velocity', 'equivariance']));

    await expectRejectsInputError(lab.evaluateRun({ id: rec.id, kinds: ['length'] }), 'kinds');
    await expectRejectsInputError(lab.evaluateRun({ id: rec.id, kinds: ['equivariance'], flows: ['translate:1,0'] }), 'flows', /rotation velocities/);
    await expectRejectsInputError(lab.probeEquivariance({ models: [{ runId: rec.id }], flow: 'translate:1,0' }), 'flow', /rotate:OMEGA/);
  });

  it('probes fresh rotation models: FERNN (rot, C4) exact under rotate:90, the rotation G-RNN not; a lifted translation FERNN refuses a rotation flow', async () => {
    const p = await lab.probeEquivariance({
      models: [
        { kind: 'fernn-rot', vRange: 1, hidden: 2, group: 4, omegaStep: 90 },
        { kind: 'grnn-rot', vRange: 0, hidden: 2, group: 4 },
      ],
      flow: 'rotate:90',
      steps: 3,
      imageSize: 8,
      withHidden: true,
    });
    expect(p.models[0].omegas).toEqual([-90, 0, 90]);
    expect(p.models[0].hidden?.shape).toEqual([3, 3, 8, 8]);
    for (const s of p.models[0].report.per_step) expect(s.hidden_rel_err ?? 0).toBeLessThan(1e-5);
    expect(Math.max(...p.models[1].report.per_step.map((s) => s.hidden_rel_err ?? 0))).toBeGreaterThan(1e-2);
    await expectRejectsInputError(
      lab.probeEquivariance({ models: [{ kind: 'fernn', vRange: 1, hidden: 2 }], flow: 'rotate:90', imageSize: 8 }),
      'flow',
      /translate:VX,VY/,
    );
    // A translation G-RNN has no velocity axis: any flow is a fair (failing) test.
    const g = await lab.probeEquivariance({ models: [{ kind: 'grnn', vRange: 0, hidden: 2 }], flow: 'rotate:90', steps: 2, imageSize: 8, withHidden: false });
    expect(g.models).toHaveLength(1);
    const preview = await lab.previewFlow({ flow: 'rotate:90', frames: 2, imageSize: 8 });
    expect(preview.shape).toEqual([2, 8, 8]);
    await expectRejectsInputError(lab.previewFlow({ flow: 'rotate:400' }), 'flow', /360/);
  });

  it('validates rotation configs at the boundary, naming the field', () => {
    const cases: [Partial<TrainConfigInput>, string][] = [
      [{ dataset: 'flowing-mnist' }, 'dataset'],
      [{ model: 'fernn', vRange: 1, group: undefined }, 'model'],
      [{ group: undefined }, 'group'],
      [{ model: 'grnn-rot', vRange: 1 }, 'vRange'],
      [{ task: 'classification' }, 'task'],
      [{ dataVelocities: [{ vx: 1, vy: 0 }] }, 'dataVelocities'],
      [{ omegaStep: 0 }, 'omegaStep'],
      // -180 and 180 (vRange 1, step 180) or -180..180 in quarter turns are the same angle twice.
      [{ model: 'fernn-rot', vRange: 1, omegaStep: 180 }, 'omegaStep'],
      [{ model: 'fernn-rot', vRange: 2, omegaStep: 90 }, 'omegaStep'],
    ];
    for (const [over, field] of cases) {
      const r = trainConfigSchema.safeParse(tiny(over));
      expect(r.success, JSON.stringify(over)).toBe(false);
      expect(
        r.error?.issues.map((i) => i.path[0]),
        JSON.stringify(over),
      ).toContain(field);
    }
    expect(trainConfigSchema.safeParse(tiny({ model: 'fernn-rot', vRange: 1, omegaStep: 90 })).success).toBe(true);
    const probe = probeSchema.safeParse({ models: [{ kind: 'fernn-rot', vRange: 2, hidden: 2, omegaStep: 90 }], flow: 'rotate:90' });
    expect(probe.success).toBe(false);
    expect(JSON.stringify(probe.error?.issues[0].path)).toContain('omegaStep');
  });
});
