import { z } from 'zod';
import { backendChoiceSchema } from '../node/backend';
import { CELL_KINDS } from '../core/nn/config';

/** Integer flag given as text by commander. */
export const intFlag = (min: number, max: number) =>
  z.coerce.number({ message: 'must be a number' }).int('must be an integer').min(min, `must be >= ${min}`).max(max, `must be <= ${max}`);

export const modelFlag = z.enum(CELL_KINDS, { message: `must be one of ${CELL_KINDS.join(', ')}` });
export const backendFlag = backendChoiceSchema.default('auto');
