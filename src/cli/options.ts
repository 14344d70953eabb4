import { z } from 'zod';
import { backendChoiceSchema } from '../node/backend';
import { ANY_CELL_KINDS, CELL_KINDS } from '../core/nn/config';
import { DATASETS, MODEL_KINDS, TASKS } from '../core/protocol/run';

/** Integer flag given as text by commander: blank text is not 0, and a missing required flag says so. */
export const intFlag = (min: number, max: number) =>
  z.preprocess(
    (v) => (typeof v === 'string' ? (v.trim() === '' ? Number.NaN : Number(v)) : v),
    z
      .number({ error: (iss) => (iss.input === undefined ? 'is required' : 'must be a number') })
      .int('must be an integer')
      .min(min, `must be >= ${min}`)
      .max(max, `must be <= ${max}`),
  );

export const modelFlag = z.enum(CELL_KINDS, { message: `must be one of ${CELL_KINDS.join(', ')}` });
/** Any recurrent cell, translation or rotation (fresh models of the equivariance command). */
export const cellFlag = z.enum(ANY_CELL_KINDS, { message: `must be one of ${ANY_CELL_KINDS.join(', ')}` });
/** Models a run can train: the cells, plus the 3D-CNN classification baseline. */
export const trainModelFlag = z.enum(MODEL_KINDS, { message: `must be one of ${MODEL_KINDS.join(', ')}` });
export const taskFlag = z.enum(TASKS, { message: `must be one of ${TASKS.join(', ')}` });
export const datasetFlag = z.enum(DATASETS, { message: `must be one of ${DATASETS.join(', ')}` });
export const backendFlag = backendChoiceSchema.default('auto');
