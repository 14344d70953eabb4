import path from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { PRESETS, SCALES, presetPlan, type PresetPlan } from '../../core/protocol/presets';
import { accuracySummary, claimVerdict, claimVerdictOverSeeds, type ClaimRun, type SeedsClaimVerdict } from '../../core/metrics/paperClaims';
import type { RunRecord, TrainConfig } from '../../core/protocol/run';
import type { EvaluationResults } from '../../core/protocol/service';
import { followRun, openLab, runSummary } from '../lab';
import { info, parseFlags, table } from '../io';
import { evaluationText } from '../report';
import { addTrainFlags, configFromFlags, trainFlagsSchema } from './train';
import { backendLine } from '../../node/backend';
import { InputError } from '../../core/util/errors';
import { groupKey } from '../../core/sweeps/spec';
import { RunStore } from '../../node/store/runStore';
import { intFlag } from '../options';
import { addSlurmFlags, executorFlags, executorFromFlags, launchSweep, printStatus } from './sweep';
import { sweepSettled, type SweepStatus } from '../../node/sweeps/sweepStatus';

const pct = (x: number | null): string => (x === null ? '-' : `${(100 * x).toFixed(1)}%`);

/** The evaluations a preset's claim is judged on (beyond the test figure every run has). */
const evalKinds = (plan: PresetPlan) => [...(plan.evals.velocityRange ? (['velocity'] as const) : []), ...(plan.evals.seqLens ? (['length'] as const) : [])];

/**
 * The paper's claim over a settled sweep of the preset (`--seeds N`): each completed member evaluated as a single
 * reproduction's runs are, its runs grouped by seed, and the verdict on the means over the seeds.
 */
async function seedsVerdict(storeRoot: string, plan: PresetPlan, st: SweepStatus, c: TrainConfig): Promise<SeedsClaimVerdict> {
  const lab = await openLab(storeRoot);
  try {
    const bySeed = new Map<number, ClaimRun[]>();
    const kinds = evalKinds(plan);
    for (const m of st.members) {
      const r = await lab.store.get(m.run_id).catch(() => null);
      if (!r) continue;
      const e =
        r.status === 'completed' && kinds.length
          ? await lab.evaluateRun({
              id: r.id,
              kinds: [...kinds],
              sequences: plan.evals.sequences,
              velocityRange: plan.evals.velocityRange,
              seqLens: plan.evals.seqLens,
            })
          : null;
      const run: ClaimRun = {
        ...runSummary(r, lab.store.root),
        velocity: e?.velocity ?? null,
        length: e?.length ?? null,
        velocity_accuracy: e?.velocityAccuracy ?? null,
        angular: e?.angular ?? null,
      };
      bySeed.set(r.config.seed, [...(bySeed.get(r.config.seed) ?? []), run]);
    }
    const seeds = [...bySeed.entries()].sort((a, b) => a[0] - b[0]).map(([seed, runs]) => ({ seed, runs }));
    return claimVerdictOverSeeds(plan.preset, seeds, { scale: plan.scale, trainedRange: c.dataVRange, predFrames: c.predFrames });
  } finally {
    await lab.dispose();
  }
}

export function registerReproduce(program: Command): void {
  addSlurmFlags(
    addTrainFlags(
      program
        .command('reproduce')
        .description(`Reproduce a paper result: ${PRESETS.join(', ')}; --scale tiny (minutes on a 2-core CPU) | small | paper (the reference protocol)`)
        .argument('<preset>', PRESETS.join(' | ')),
    )
      .option('--scale <scale>', 'tiny | small | paper (default tiny)')
      .option('--parallel <N>', 'runs trained at once (default 2; 1 at paper scale)')
      .option('--seeds <N>', 'run the preset as a sweep: every model with N seeds (--seed, --seed + 1, ...), mean, std and 95% CI per model')
      .option('--executor <kind>', 'with --seeds: local (default) | slurm (see fernn-lab sweep run)')
      .option('--wait', 'with --executor slurm: wait until every member has ended')
      .option('--store <dir>', 'run store folder')
      .option('--json', 'print one JSON object on stdout'),
  ).action(async (preset: string, raw: Record<string, unknown>) => {
    if (!(PRESETS as readonly string[]).includes(preset)) throw new InputError('preset', `unknown preset "${preset}"; use ${PRESETS.join(', ')}`);
    const f = parseFlags(
      trainFlagsSchema.extend({
        scale: z.enum(SCALES, { message: `must be one of ${SCALES.join(', ')}` }).default('tiny'),
        ...executorFlags,
        parallel: z.coerce.number().int().min(1).max(8).optional(),
        seeds: intFlag(1, 1000).optional(),
        store: z.string().optional(),
        wait: z.boolean().default(false),
        json: z.boolean().default(false),
      }),
      raw,
    );
    if (f.model) throw new InputError('--model', 'is set by the preset; use fernn-lab train for a single model');
    const plan = presetPlan(preset as (typeof PRESETS)[number], f.scale, f.seed ?? 0);
    if (plan.needsData && !f.data) throw new InputError('--data', `the ${preset} preset reads the dataset from disk: give --data DIR (see docs/kth.md)`);
    if (!plan.needsData && f.data)
      throw new InputError(
        '--data',
        `the ${preset} preset uses built-in data (its claim is about them); --data is for the kth preset. On your own data, compare models with fernn-lab train --data (or a sweep over models)`,
      );
    // Overrides apply to every run of the preset (model and velocity range stay the preset's).
    const configs = plan.runs.map((r) => configFromFlags({ ...f, model: undefined, vRange: undefined }, r));
    const parallel = f.parallel ?? plan.parallel;
    if (f.seeds !== undefined || raw.executor !== undefined) {
      // The preset as a sweep: its models x seeds, aggregated per model (evaluations beyond test MSE/accuracy: run eval per member).
      const seeds = Array.from({ length: f.seeds ?? 1 }, (_, k) => (f.seed ?? 0) + k);
      const variants = configs.map((c) => ({ model: c.model, 'v-range': c.vRange }));
      const members = configs.flatMap((c, i) => seeds.map((seed) => ({ ...variants[i], seed, config: { ...c, seed } })));
      const executor = await executorFromFlags({ ...f, parallel: f.executor === 'local' ? parallel : f.parallel });
      const name = `${plan.preset}-${f.scale}`;
      const storeRoot = path.resolve(f.store ?? RunStore.defaultRoot());
      const st = await launchSweep(
        storeRoot,
        {
          name,
          spec: { name, base: {}, variants, grid: { seed: seeds } },
          executor,
          members: members.map(({ config, ...overrides }, index) => ({ index, overrides, group: groupKey(overrides), config })),
        },
        { wait: f.wait, json: f.json, memoryField: '--batch', print: false },
      );
      // The paper's claim over the seeds, once every member has ended (a Slurm sweep without --wait has not).
      const verdict = sweepSettled(st) ? await seedsVerdict(storeRoot, plan, st, configs[0]) : null;
      const claim = verdict
        ? {
            text: verdict.claim,
            verdict: verdict.verdict,
            summary: verdict.summary,
            evidence: verdict.evidence,
            n: verdict.n,
            on_mean: verdict.onMean,
            every_seed: verdict.everySeed,
            per_seed: verdict.perSeed,
            figures: verdict.figures,
          }
        : null;
      if (f.json) process.stdout.write(`${JSON.stringify({ ...st, claim })}\n`);
      else {
        await printStatus(st, false);
        process.stdout.write(
          verdict
            ? `\nThe paper's claim: ${verdict.claim}\n${verdict.summary.split('; ')[0]}.\n${verdict.evidence.map((e) => `  - ${e}\n`).join('')}`
            : `\nThe paper's claim: ${plan.claim}\nNo verdict yet: members are still running (fernn-lab sweep show ${st.sweep_id}).\n`,
        );
      }
      return;
    }
    const lab = await openLab(f.store, { concurrentRuns: Math.min(parallel, configs.length) });
    const t0 = Date.now();
    try {
      // Every run of the preset fits this machine's backend, or none starts (the lab's one memory check).
      for (const c of configs) await lab.checkMemory(c, '--batch', `${c.model} v_range ${c.vRange}`);
      info(`${plan.description}\nscale ${f.scale}: ${configs.length} runs, ${parallel} at a time, store ${lab.store.root}`);
      const done: RunRecord[] = new Array(configs.length);
      let next = 0;
      const worker = async () => {
        while (next < configs.length) {
          const i = next++;
          const rec = await lab.startRun({ config: configs[i], name: `${plan.preset} ${f.scale}` });
          info(`started ${rec.id} (${configs[i].model} v_range ${configs[i].vRange})`);
          done[i] = await followRun(lab, rec.id, { quiet: f.json || parallel > 1, label: rec.id });
          const res = done[i].results;
          const on = done[i].backend ? backendLine(done[i].backend!) : 'no backend';
          info(
            `finished ${rec.id} on ${on}: ${done[i].status}, ${done[i].config.task === 'classification' ? `test accuracy ${res?.testAccuracy?.toFixed(4) ?? '-'}` : `test MSE ${res?.testMse?.toFixed(5) ?? '-'}`}`,
          );
        }
      };
      await Promise.all(Array.from({ length: Math.min(parallel, configs.length) }, worker));
      const evals: (EvaluationResults | null)[] = [];
      const kinds = evalKinds(plan);
      for (const r of done) {
        if (r.status !== 'completed' || kinds.length === 0) {
          evals.push(null);
          continue;
        }
        info(`evaluating ${r.id} (${kinds.join(', ')})…`);
        evals.push(
          await lab.evaluateRun({
            id: r.id,
            kinds: [...kinds],
            sequences: plan.evals.sequences,
            velocityRange: plan.evals.velocityRange,
            seqLens: plan.evals.seqLens,
          }),
        );
      }
      const runs = done.map((r, i) => ({
        ...runSummary(r, lab.store.root),
        velocity: evals[i]?.velocity ?? null,
        length: evals[i]?.length ?? null,
        velocity_accuracy: evals[i]?.velocityAccuracy ?? null,
        angular: evals[i]?.angular ?? null,
      }));
      const classification = configs[0].task === 'classification';
      const grnn = runs.find((r) => r.model === 'grnn' || r.model === 'grnn-rot');
      // The paper's claim this preset tests, and whether these runs show it (core/metrics/paperClaims.ts).
      const verdict = claimVerdict(plan.preset, runs, { scale: f.scale, trainedRange: configs[0].dataVRange, predFrames: configs[0].predFrames });
      const out = {
        preset: plan.preset,
        scale: f.scale,
        description: plan.description,
        claim: { text: verdict.claim, verdict: verdict.verdict, summary: verdict.summary, evidence: verdict.evidence },
        wall_seconds: (Date.now() - t0) / 1000,
        runs,
        ...(classification
          ? {
              velocity_accuracy_summary: Object.fromEntries(
                runs.map((r) => [`${r.model}-v${r.v_range}`, r.velocity_accuracy ? accuracySummary(r.velocity_accuracy, configs[0].dataVRange) : null]),
              ),
            }
          : {
              test_mse_ratio_vs_grnn: Object.fromEntries(
                runs.filter((r) => r !== grnn && grnn?.test_mse && r.test_mse !== null).map((r) => [`${r.model}-v${r.v_range}`, r.test_mse! / grnn!.test_mse!]),
              ),
            }),
      };
      if (f.json) {
        process.stdout.write(`${JSON.stringify(out)}\n`);
      } else {
        process.stdout.write(
          `${plan.description} — scale ${f.scale}, ${out.wall_seconds.toFixed(0)} s\n\n` +
            (classification
              ? table(
                  ['run', 'model', 'V', 'params', 'status', 'steps', 'ms/step', 'test acc.', 'acc. trained v', 'acc. unseen v'],
                  runs.map((r) => {
                    const s = r.velocity_accuracy ? accuracySummary(r.velocity_accuracy, configs[0].dataVRange) : null;
                    return [
                      r.run_id,
                      r.model,
                      r.v_range,
                      r.params,
                      r.status,
                      r.steps,
                      r.ms_per_step_median?.toFixed(0) ?? '-',
                      pct(r.test_accuracy),
                      pct(s?.trained ?? null),
                      pct(s?.unseen ?? null),
                    ];
                  }),
                )
              : table(
                  ['run', 'model', 'V', 'status', 'steps', 'ms/step', 'test MSE', 'vs G-RNN'],
                  runs.map((r) => [
                    r.run_id,
                    r.model,
                    r.v_range,
                    r.status,
                    r.steps,
                    r.ms_per_step_median?.toFixed(0) ?? '-',
                    r.test_mse?.toFixed(5) ?? '-',
                    grnn?.test_mse && r.test_mse ? `${((r.test_mse / grnn.test_mse) * 100).toFixed(0)}%` : '-',
                  ]),
                )) +
            '\n' +
            done.map((r, i) => (evals[i] ? `\n${r.config.model} v_range ${r.config.vRange} (${r.id})\n${evaluationText(evals[i]!)}\n` : '')).join('') +
            `\nThe paper's claim: ${verdict.claim}\n${verdict.summary.split('; ')[0]}.\n${verdict.evidence.map((e) => `  - ${e}\n`).join('')}`,
        );
      }
      if (done.some((r) => r.status === 'failed')) process.exitCode = 1;
    } finally {
      await lab.dispose();
    }
  });
}
