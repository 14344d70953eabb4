import path from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { openLab } from '../lab';
import { info, parseFlags } from '../io';
import { intFlag } from '../options';
import { evaluationText } from '../report';
import { runClassNames } from '../../core/data/datasetKinds';
import { requireStoreFolder, resolveRun } from '../runRef';
import { InputError } from '../../core/util/errors';

const KINDS = ['test', 'length', 'velocity', 'equivariance'] as const;

export function registerEval(program: Command): void {
  program
    .command('eval')
    .description("Evaluate a run's best weights: test MSE, length and velocity generalisation, equivariance")
    .argument('<run>', 'run id, name or unique id prefix')
    .option('--kinds <list>', `comma list of ${KINDS.join(', ')} (default all)`)
    .option('--sequences <N>', 'test sequences per set / per grid cell (default 256)')
    .option('--velocity-range <R>', 'velocity grid -R..R per axis (default 2)')
    .option('--seq-lens <list>', 'sequence lengths for length generalisation (default 40,70)')
    .option(
      '--flows <list>',
      'flows for the equivariance check, separated by ; (default: one velocity step of the run motion, translate:1,0 or rotate:OMEGA_STEP)',
    )
    .option(
      '--data <file>',
      "test MSE and MSE per future step on the sequences of this .npy instead (recorded as a data-test evaluation; the run's headline test figure stays)",
    )
    .option('--store <dir>', 'run store folder')
    .option('--json', 'print JSON')
    .action(async (ref: string, raw: Record<string, unknown>) => {
      const f = parseFlags(
        z.object({
          kinds: z.string().optional(),
          sequences: intFlag(1, 10000).optional(),
          velocityRange: intFlag(1, 6).optional(),
          seqLens: z.string().optional(),
          flows: z.string().optional(),
          data: z.string().min(1, 'needs a path').optional(),
          store: z.string().optional(),
          json: z.boolean().default(false),
        }),
        raw,
      );
      // On a user's file only the test MSE applies (the other kinds generate their own data).
      const kinds = (f.kinds ?? (f.data !== undefined ? 'test' : KINDS.join(','))).split(',').map((k) => k.trim());
      for (const k of kinds) if (!(KINDS as readonly string[]).includes(k)) throw new InputError('--kinds', `unknown kind "${k}"; use ${KINDS.join(', ')}`);
      const seqLens = f.seqLens?.split(',').map((x) => Number(x));
      if (seqLens?.some((x) => !Number.isInteger(x))) throw new InputError('--seq-lens', 'must be a comma list of integers, e.g. 40,70');
      requireStoreFolder(f.store);
      const lab = await openLab(f.store);
      try {
        const id = await resolveRun(lab.store, ref);
        if (!f.json) info(`evaluating ${id} (${kinds.join(', ')})…`);
        const r = await lab
          .evaluateRun({
            id,
            kinds: kinds as (typeof KINDS)[number][],
            sequences: f.sequences,
            velocityRange: f.velocityRange,
            seqLens,
            flows: f.flows?.split(';'),
            ...(f.data !== undefined ? { data: path.resolve(f.data) } : {}),
          })
          .catch((e: unknown) => {
            // The service names its fields; the user typed flags.
            if (e instanceof InputError && (e.field === 'data' || e.field === 'kinds'))
              throw new InputError(`--${e.field}`, e.message.slice(e.field.length + 2));
            throw e;
          });
        process.stdout.write(f.json ? `${JSON.stringify(r)}\n` : `${evaluationText(r, runClassNames(await lab.store.get(id)))}\n`);
      } finally {
        await lab.dispose();
      }
    });
}
