import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { ANY_CELL_KINDS, CELL_KIND_FACTS, MODEL_KINDS, MODEL_NAMES, UnknownModelKindError, cellKindFacts } from '../../src/core/nn/modelKinds';
import { CELL_REGISTRY, cellParamSpec, cellStep, zeroHidden } from '../../src/core/nn/cell';
import { cellConfigFromSpec } from '../../src/core/nn/cellSpec';
import { describeCell, makeCellConfig, type CellConfig } from '../../src/core/nn/config';
import { makeRotationCellConfig } from '../../src/core/nn/rotationCell';
import { AngularVelocitySet } from '../../src/core/flows/angularVelocity';
import { MODEL_KINDS as RUN_MODEL_KINDS } from '../../src/core/protocol/run';
import { MODEL_LABELS } from '../../src/renderer/format';

describe('the cell kinds', () => {
  it('every kind has facts, an implementation, a label and a builder', () => {
    for (const kind of ANY_CELL_KINDS) {
      expect(CELL_REGISTRY[kind], kind).toBeDefined();
      const cell = cellConfigFromSpec({ kind, vRange: 1, hidden: 2, group: 4, omegaStep: 90 });
      expect(cell.kind).toBe(kind);
      expect(describeCell(cell)).toContain(CELL_KIND_FACTS[kind].name);
      expect(Object.keys(cellParamSpec(cell)).length).toBeGreaterThan(0);
    }
    expect(RUN_MODEL_KINDS).toBe(MODEL_KINDS);
    expect(MODEL_LABELS).toEqual(MODEL_NAMES);
    expect(Object.keys(MODEL_NAMES).sort()).toEqual([...MODEL_KINDS].sort());
  });

  it('builds the cells the training job, the probe and the CLI built before (one builder)', () => {
    const spec = { vRange: 2, hidden: 3, group: 8, omegaStep: 10 };
    expect(cellConfigFromSpec({ ...spec, kind: 'fernn' })).toEqual(makeCellConfig({ kind: 'fernn', vRange: 2, hidden: 3 }));
    expect(cellConfigFromSpec({ ...spec, kind: 'grnn-plus' })).toEqual(makeCellConfig({ kind: 'grnn-plus', vRange: 2, hidden: 3 }));
    expect(cellConfigFromSpec({ ...spec, kind: 'grnn' })).toEqual(makeCellConfig({ kind: 'grnn', vRange: 0, hidden: 3 }));
    expect(cellConfigFromSpec({ ...spec, kind: 'fernn-rot' })).toEqual(
      makeRotationCellConfig({ kind: 'fernn-rot', group: 8, hidden: 3, omegas: AngularVelocitySet.symmetric(2, 10).list }),
    );
    expect(cellConfigFromSpec({ ...spec, kind: 'grnn-rot' })).toEqual(makeRotationCellConfig({ kind: 'grnn-rot', group: 8, hidden: 3, omegas: [0] }));
  });

  it('names an unknown kind instead of running it as another', async () => {
    await tf.setBackend('cpu');
    const bogus = { ...makeCellConfig({ kind: 'fernn', vRange: 1, hidden: 2 }), kind: 'spiral' } as unknown as CellConfig;
    expect(() => cellKindFacts('spiral')).toThrow(UnknownModelKindError);
    expect(() => cellParamSpec(bogus)).toThrow(/unknown model kind "spiral"/);
    expect(() => zeroHidden(bogus, 1, 4, 4)).toThrow(UnknownModelKindError);
    expect(() => describeCell(bogus)).toThrow(UnknownModelKindError);
    const u = tf.zeros([1, 4, 4, 1]) as tf.Tensor4D;
    const h = tf.zeros([1, 9, 4, 4, 2]) as tf.Tensor5D;
    expect(() => cellStep(bogus, {}, u, h)).toThrow(UnknownModelKindError);
    expect(() => cellKindFacts('toString')).toThrow(UnknownModelKindError);
    [u, h].forEach((t) => t.dispose());
  });
});
