import { z } from 'zod';
import { backendChoiceSchema } from '../node/backend';
import { CELL_KINDS } from '../core/nn/config';

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
export const backendFlag = backendChoiceSchema.default('auto');
