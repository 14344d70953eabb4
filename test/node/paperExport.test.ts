import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { curveRows, exportableEvals, gridRows } from '../../src/core/protocol/paperExport';
import { trainConfigSchema } from '../../src/core/protocol/run';
import { RunStore } from '../../src/node/store/runStore';

/** Long-format exports for papers (issue 16): `runs export --format curves|grids` and the rows the app exports. */
let root: string;
let store: RunStore;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'fernn-paper-'));
  store = new RunStore(join(root, 'runs'));
});
afterEach(() => rm(root, { recursive: true, force: true }));

const base = { seeds: { init: 1, data: 2 }, params: 10, versions: {} };
const t = '2026-01-01T00:00:00.000Z';
const ck = { which: 'best' as const, step: 2 };

async function twoRuns() {
  const a = await store.create({ ...base, name: 'FERNN, "tiny"', config: trainConfigSchema.parse({ model: 'fernn', vRange: 1, hidden: 4, steps: 2 }) });
  const b = await store.create({ ...base, config: trainConfigSchema.parse({ model: 'grnn', vRange: 0, hidden: 4, steps: 2 }) });
  await store.appendMetric(a.id, { kind: 'train', step: 1, epoch: 0, loss: 0.5, gradNorm: 1, msPerStep: 3, t });
  await store.appendMetric(a.id, { kind: 'train', step: 2, epoch: 0, loss: null, gradNorm: null, msPerStep: 3, t });
  await store.appendMetric(a.id, { kind: 'val', step: 2, mse: 0.25, best: true, t });
  await store.appendMetric(a.id, { kind: 'event', step: 2, event: 'resumed', t });
  await store.addEvaluation(a.id, {
    kind: 'length',
    origin: 'evaluate',
    checkpoint: ck,
    settings: { seqLens: [3] },
    result: { 3: { mean: [0.1, 0.2, 0.3], std: [0, 0, 0], sequences: 4 } },
  });
  await store.addEvaluation(a.id, {
    kind: 'velocity',
    origin: 'evaluate',
    checkpoint: ck,
    settings: { velocityRange: 1 },
    result: {
      velocities: [-1, 0, 1],
      mse: [
        [1, 2, 3],
        [4, 5, 6],
        [7, 8, 9],
      ],
      sequences: 4,
    },
  });
  await store.appendMetric(b.id, { kind: 'train', step: 1, epoch: 0, loss: 0.75, gradNorm: 1, msPerStep: 3, t });
  return [a, b] as const;
}

describe('long-format export', () => {
  it('curves: run, name, step, metric, value; training curves then length curves; quoted names; a NaN loss is empty', async () => {
    const [a, b] = await twoRuns();
    expect(await store.exportRuns([a.id, b.id], 'curves')).toBe(
      [
        'run,name,step,metric,value',
        `${a.id},"FERNN, ""tiny""",1,train_loss,0.5`,
        `${a.id},"FERNN, ""tiny""",2,train_loss,`,
        `${a.id},"FERNN, ""tiny""",2,val_mse,0.25`,
        `${a.id},"FERNN, ""tiny""",1,length_mse_T3,0.1`,
        `${a.id},"FERNN, ""tiny""",2,length_mse_T3,0.2`,
        `${a.id},"FERNN, ""tiny""",3,length_mse_T3,0.3`,
        `${b.id},,1,train_loss,0.75`,
        '',
      ].join('\n'),
    );
  });

  it('grids: run, name, metric, vx, vy, value, one row per cell with the cell its velocity', async () => {
    const [a, b] = await twoRuns();
    const lines = (await store.exportRuns([a.id, b.id], 'grids')).trimEnd().split('\n');
    expect(lines[0]).toBe('run,name,metric,vx,vy,value');
    expect(lines).toHaveLength(10);
    // mse[iy][ix] is at (vx, vy) = (velocities[ix], velocities[iy]).
    expect(lines[1].split(',').slice(-4)).toEqual(['velocity_mse', '-1', '-1', '1']);
    expect(lines[2].split(',').slice(-4)).toEqual(['velocity_mse', '0', '-1', '2']);
    expect(lines[4].split(',').slice(-4)).toEqual(['velocity_mse', '-1', '0', '4']);
    expect(lines[9].split(',').slice(-4)).toEqual(['velocity_mse', '1', '1', '9']);
  });

  it('the rows the app exports: classification accuracy curves, accuracy grids, angular curves; unknown shapes left out', () => {
    const run = { id: 'r', name: 'n', config: {} } as never;
    const evals = exportableEvals({
      'angular-velocity': { omegas: [-10, 0, 10], mse: [0.3, 0.1, 0.3], sequences: 2 },
      'velocity-accuracy': { velocities: [0], accuracy: [[0.5]], sequences: 2 },
      velocity: { velocities: [0], mse: 'not a grid' },
      length: { 10: { mean: 'no' } },
    });
    expect(Object.keys(evals).sort()).toEqual(['angular', 'velocityAccuracy']);
    const metrics = [
      { kind: 'train' as const, step: 1, epoch: 0, loss: 2, gradNorm: 1, msPerStep: 1, accuracy: 0.25, t },
      { kind: 'val-accuracy' as const, step: 1, accuracy: 0.5, loss: 1, best: true, t },
    ];
    expect(curveRows([{ run, metrics, evals }])).toEqual([
      ['r', 'n', 1, 'train_loss', 2],
      ['r', 'n', 1, 'train_accuracy', 0.25],
      ['r', 'n', 1, 'val_accuracy', 0.5],
    ]);
    expect(gridRows([{ run, metrics, evals }])).toEqual([
      ['r', 'n', 'velocity_accuracy', 0, 0, 0.5],
      ['r', 'n', 'angular_velocity_mse', -10, null, 0.3],
      ['r', 'n', 'angular_velocity_mse', 0, null, 0.1],
      ['r', 'n', 'angular_velocity_mse', 10, null, 0.3],
    ]);
  });

  it('refuses another format naming the field', async () => {
    await expect(store.exportRuns([], 'xlsx' as 'csv')).rejects.toMatchObject({ field: 'format' });
  });
});
