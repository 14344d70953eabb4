import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { InputError } from '../../core/util/errors';
import { writeFileAtomic } from '../../node/store/atomicFile';
import { EXPORT_FORMATS } from '../../node/store/runStore';
import { describeRun, openLab } from '../lab';
import { info, parseFlags, table } from '../io';
import { confusionText, evaluationsTable, headlineText } from '../report';
import { runClassNames } from '../../core/data/datasetKinds';
import { requireStoreFolder, resolveRun } from '../runRef';

const storeFlags = z.object({ store: z.string().optional(), json: z.boolean().default(false) });
const fmt = (x: number | null | undefined, d = 4): string => (x === null || x === undefined ? '-' : x.toFixed(d));

export function registerRuns(program: Command): void {
  const runs = program.command('runs').description('List, show, export and delete runs in the store');

  runs
    .command('ls')
    .description('List runs (newest first); unreadable folders are reported and skipped')
    .option('--store <dir>', 'run store folder')
    .option('--json', 'print JSON')
    .action(async (raw: Record<string, unknown>) => {
      const f = parseFlags(storeFlags, raw);
      requireStoreFolder(f.store);
      const lab = await openLab(f.store);
      try {
        // Full records (runs ls --json prints them whole); the service's listRuns gives summaries.
        const { runs: list, problems } = await lab.store.list();
        if (f.json) {
          process.stdout.write(`${JSON.stringify({ store: lab.store.root, runs: list, problems })}\n`);
          return;
        }
        if (list.length === 0) info(`no runs in ${lab.store.root}`);
        else
          process.stdout.write(
            `${table(
              ['run', 'name', 'status', 'model', 'V', 'C', 'steps', 'val MSE', 'test (checkpoint, sequences)', 'backend', 'created'],
              list.map((r) => [
                r.id,
                r.name ?? '-',
                r.status,
                r.config.model,
                r.config.vRange,
                r.config.hidden,
                `${r.progress.step}/${r.config.steps}`,
                fmt(r.progress.bestValMse),
                headlineText(r, 4),
                r.backend?.name ?? '-',
                r.createdAt.slice(0, 19),
              ]),
            )}\n`,
          );
        for (const p of problems) info(`skipped ${p.dir}: ${p.reason}`);
      } finally {
        await lab.dispose();
      }
    });

  runs
    .command('show')
    .description('Show one run: config, progress, results, evaluations')
    .argument('<run>', 'run id, name or unique id prefix')
    .option('--store <dir>', 'run store folder')
    .option('--json', 'print JSON (run record, metrics, evaluations: every evaluation record)')
    .action(async (ref: string, raw: Record<string, unknown>) => {
      const f = parseFlags(storeFlags, raw);
      requireStoreFolder(f.store);
      const lab = await openLab(f.store);
      try {
        const id = await resolveRun(lab.store, ref);
        const d = await lab.getRun({ id });
        if (f.json) {
          process.stdout.write(`${JSON.stringify(d)}\n`);
          return;
        }
        const r = d.run;
        const vals = d.metrics.filter((m) => m.kind === 'val');
        const acc = testAccuracyOf(d.evals['test-accuracy']);
        process.stdout.write(
          `${describeRun(r)}\n  config ${JSON.stringify(r.config)}\n  seeds init ${r.seeds.init} data ${r.seeds.data}; created ${r.createdAt}\n` +
            (vals.length
              ? `\n${table(
                  ['step', 'val MSE', 'best'],
                  vals.map((v) => [v.step, fmt(v.mse, 5), v.best ? '*' : '']),
                )}\n`
              : '') +
            (acc
              ? `\nconfusion of the latest test accuracy (${(100 * acc.accuracy).toFixed(1)}%; rows true, columns predicted)\n${confusionText(acc.confusion, runClassNames(r))}\n`
              : '') +
            (d.evaluations.length
              ? `\nevaluations (oldest first; fernn-lab eval ${r.id} adds more)\n${evaluationsTable(d.evaluations, r.results?.testSource?.evaluationId)}\n`
              : ''),
        );
      } finally {
        await lab.dispose();
      }
    });

  runs
    .command('export')
    .description(
      'Export runs and their metrics: csv (one row per metric record), json, or long format for papers: curves (run, name, step, metric, value) or grids (run, name, metric, vx, vy, value)',
    )
    .argument('<run-ids...>', 'run ids, names or unique id prefixes')
    .option('--format <fmt>', 'csv | json | curves | grids (default csv)')
    .option('--out <file>', 'write to a file instead of stdout')
    .option('--store <dir>', 'run store folder')
    .action(async (ids: string[], raw: Record<string, unknown>) => {
      const f = parseFlags(
        z.object({
          store: z.string().optional(),
          format: z.enum(EXPORT_FORMATS, { message: `must be ${EXPORT_FORMATS.join(', ')}` }).default('csv'),
          out: z.string().optional(),
        }),
        raw,
      );
      if (f.out) {
        const dir = path.dirname(path.resolve(f.out));
        if (!(await fs.stat(dir).catch(() => null))?.isDirectory()) throw new InputError('--out', `folder ${dir} does not exist`);
      }
      requireStoreFolder(f.store);
      const lab = await openLab(f.store);
      try {
        const resolved: string[] = [];
        for (const ref of ids) resolved.push(await resolveRun(lab.store, ref, '<run-ids>'));
        const text = await lab.store.exportRuns(resolved, f.format);
        if (f.out) {
          await writeFileAtomic(path.resolve(f.out), text);
          info(`wrote ${f.out}`);
        } else process.stdout.write(text);
      } finally {
        await lab.dispose();
      }
    });

  runs
    .command('rm')
    .description('Delete runs (a running run must be stopped first)')
    .argument('<run-ids...>')
    .option('--store <dir>', 'run store folder')
    .action(async (ids: string[], raw: Record<string, unknown>) => {
      const f = parseFlags(z.object({ store: z.string().optional() }), raw);
      requireStoreFolder(f.store);
      const lab = await openLab(f.store);
      try {
        // Deleting takes full ids only; a name or prefix is answered with the id it would have meant.
        for (const id of ids) {
          const meant = await resolveRun(lab.store, id, '<run-ids>');
          if (meant !== id) throw new InputError('<run-ids>', `no run with id "${id}"; did you mean ${meant}? runs rm takes full ids`);
        }
        for (const id of ids) {
          await lab.deleteRun({ id });
          info(`deleted ${id}`);
        }
      } finally {
        await lab.dispose();
      }
    });
}

/** A stored test-accuracy result (evals/test-accuracy.json), or undefined when it is not one. */
function testAccuracyOf(v: unknown): { accuracy: number; confusion: number[][] } | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as { accuracy?: unknown; confusion?: unknown };
  const rows = Array.isArray(o.confusion) && o.confusion.every((row) => Array.isArray(row) && row.every((x) => typeof x === 'number'));
  return typeof o.accuracy === 'number' && rows ? { accuracy: o.accuracy, confusion: o.confusion as number[][] } : undefined;
}
