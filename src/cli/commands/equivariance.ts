import * as tf from '@tensorflow/tfjs-core';
import type { Command } from 'commander';
import { z } from 'zod';
import { parseFlow } from '../../core/flows/flowKinds';
import { describeCell, makeSeq2SeqConfig } from '../../core/nn/config';
import { createSeq2Seq, disposeModel, seq2seqParamCount, type Seq2SeqModel } from '../../core/nn/seq2seq';
import { probeEquivariance } from '../../core/metrics/equivariance';
import { explainEquivariance, hiddenErrorText } from '../../core/metrics/equivarianceNotes';
import { velocitySetOf } from '../../core/nn/config';
import { createRng, uniformArray } from '../../core/util/rng';
import { InputError } from '../../core/util/errors';
import { DISTINCT_OMEGAS } from '../../core/protocol/run';
import { backendLine, selectBackend } from '../../node/backend';
import { loadCheckpoint } from '../../node/checkpoint/load';
import { fmtErr, info, parseFlags, table } from '../io';
import { backendFlag, cellFlag, intFlag } from '../options';
import { cellConfigFromSpec } from '../../core/nn/cellSpec';
import { MODEL_LIMITS } from '../../core/nn/modelKinds';
import { checkFlowFits } from '../../node/lab/jobs';

const MAX_V_RANGE = 8;

const flagsSchema = z.object({
  model: cellFlag.default('fernn'),
  vRange: intFlag(0, MAX_V_RANGE).optional(),
  group: intFlag(1, 72).default(8),
  omegaStep: z.coerce.number({ message: 'must be a number' }).positive('must be > 0').max(180, 'must be <= 180').default(10),
  hidden: intFlag(MODEL_LIMITS.hidden.min, MODEL_LIMITS.hidden.max).default(16),
  decoderLayers: intFlag(0, 8).default(1),
  height: intFlag(3, 256).default(28),
  width: intFlag(3, 256).default(28),
  flow: z.string().default('translate:1,0'),
  steps: intFlag(1, 200).default(10),
  batch: intFlag(1, 64).default(2),
  seed: intFlag(0, 2 ** 31 - 1).default(0),
  checkpoint: z.string().optional(),
  backend: backendFlag,
  json: z.boolean().default(false),
});

export function registerEquivariance(program: Command): void {
  program
    .command('equivariance')
    .description('Measure flow equivariance per timestep: hidden state and readout of a model under a flow')
    .option('--model <kind>', 'fernn | grnn | grnn-plus | fernn-rot | grnn-rot (fresh model; ignored with --checkpoint)')
    .option('--v-range <R>', 'velocity set V = {-R..R}^2 (fernn, grnn-plus: default 1; grnn: 0); fernn-rot: omegas {-R..R} * omega step')
    .option('--group <N>', 'rotation cells: order N of C_N (default 8)')
    .option('--omega-step <deg>', 'rotation cells: degrees per frame of one velocity step (default 10)')
    .option('--hidden <C>', 'hidden channels (default 16)')
    .option('--decoder-layers <K>', 'decoder conv layers (default 1)')
    .option('--height <H>', 'frame height (default 28)')
    .option('--width <W>', 'frame width (default 28)')
    .option('--flow <spec>', 'translate:VX,VY or rotate:OMEGA in degrees per frame (default translate:1,0)')
    .option('--steps <T>', 'input frames to feed (default 10)')
    .option('--batch <B>', 'random input sequences (default 2)')
    .option('--seed <S>', 'seed of the fresh weights and the random input (default 0)')
    .option('--checkpoint <file>', 'a .safetensors of ours or a reference .pth (then --v-range is required)')
    .option('--backend <name>', 'auto | tensorflow | webgpu | wasm | cpu (default auto)')
    .option('--json', 'print one JSON object on stdout')
    .action(async (raw: Record<string, unknown>) => {
      const f = parseFlags(flagsSchema, raw);
      const flow = (() => {
        try {
          return parseFlow(f.flow);
        } catch (e) {
          throw new InputError('--flow', (e as Error).message);
        }
      })();
      const backend = await selectBackend(f.backend);
      if (!f.json) info(`backend: ${backendLine(backend)}${backend.warning ? `\nnote: ${backend.warning}` : ''}`);
      let model: Seq2SeqModel;
      if (f.checkpoint) {
        model = await loadCheckpoint(f.checkpoint, { vRange: f.vRange });
      } else {
        if ((f.model === 'grnn' || f.model === 'grnn-rot') && f.vRange !== undefined && f.vRange !== 0)
          throw new InputError('--v-range', `a G-RNN has V = {0}; got ${f.vRange}`);
        const r = f.vRange ?? 1;
        if (f.model === 'fernn-rot' && r * f.omegaStep >= 180) throw new InputError('--omega-step', DISTINCT_OMEGAS(r, f.omegaStep));
        const cell = cellConfigFromSpec({ kind: f.model, vRange: r, hidden: f.hidden, group: f.group, omegaStep: f.omegaStep });
        model = createSeq2Seq(makeSeq2SeqConfig(cell, { decoderLayers: f.decoderLayers }), f.seed);
      }
      const cell = model.config.cell;
      try {
        checkFlowFits(flow, cell, '--flow', describeCell(cell));
      } catch (e) {
        disposeModel(model);
        throw e;
      }
      const inC = cell.inChannels;
      const rng = createRng(f.seed + 1);
      const x = tf.tensor5d(
        uniformArray(rng, f.batch * f.steps * f.height * f.width * inC, 0.5).map((v) => v + 0.5),
        [f.batch, f.steps, f.height, f.width, inC],
      );
      try {
        const report = await probeEquivariance(model, x, flow, { maxR: MAX_V_RANGE });
        const summary = report.summary ?? explainEquivariance(report, { maxR: MAX_V_RANGE });
        // The same probe of a fresh model at the larger r the explanation offers (a truncated V): the output error shrinks.
        const largerR =
          summary.larger_r === null
            ? null
            : [
                'fernn-lab equivariance',
                `--model ${cell.kind}`,
                `--v-range ${summary.larger_r}`,
                ...(cell.omegas ? [`--group ${cell.group}`, `--omega-step ${cell.omegas[1] - cell.omegas[0]}`] : []),
                `--hidden ${cell.hidden}`,
                `--decoder-layers ${model.config.decoderLayers}`,
                `--height ${f.height} --width ${f.width}`,
                `--flow ${flow.label}`,
                `--steps ${f.steps} --batch ${f.batch} --seed ${f.seed}`,
              ].join(' ');
        const vr = velocitySetOf(cell).gridRadius();
        const out = {
          model: cell.kind,
          model_name: describeCell(cell),
          v_range: vr,
          velocities: cell.omegas?.length ?? cell.velocities.length,
          ...(cell.omegas ? { omegas: cell.omegas, group: cell.group } : {}),
          hidden: cell.hidden,
          params: seq2seqParamCount(model.config),
          flow: flow.label,
          height: f.height,
          width: f.width,
          steps: f.steps,
          batch: f.batch,
          seed: f.seed,
          checkpoint: f.checkpoint ?? null,
          backend: backend.name,
          backend_detail: backend.detail,
          backend_gpu: backend.gpu,
          per_step: report.per_step,
          lifted: summary.lifted,
          nu_in_v: summary.nu_in_v,
          max_hidden_rel_err: summary.max_hidden_rel_err,
          max_output_rel_err: summary.max_output_rel_err,
          constrained: summary.constrained_text,
          summary,
          ...(largerR ? { larger_r_command: largerR } : {}),
          ...(report.note ? { note: report.note } : {}),
        };
        if (f.json) {
          process.stdout.write(`${JSON.stringify(out)}\n`);
        } else {
          process.stdout.write(
            `${out.model_name} (${out.params} parameters), flow ${out.flow}, ${f.height}x${f.width}, batch ${f.batch}, seed ${f.seed}\n` +
              "relative errors per timestep t (frames consumed): hidden error ||h' - psi(h)|| / ||psi(h)|| over the constrained slices; " +
              'output error the same for the readout decoder(pool_V(h))\n\n' +
              table(
                ['t', 'hidden error', 'output error', 'constrained slices'],
                report.per_step.map((s) => [s.t, fmtErr(s.hidden_rel_err), fmtErr(s.output_rel_err), `${s.constrained_slices}/${s.total_slices}`]),
              ) +
              `\nmax hidden error ${hiddenErrorText(summary, fmtErr)}; max output error ${fmtErr(summary.max_output_rel_err)}; ${summary.constrained_text}` +
              (summary.nu_in_v === null ? ' (no velocity axis)' : summary.nu_in_v ? '; ν in V' : '; ν outside V') +
              '\n' +
              summary.notes.map((n) => `note: ${n}\n`).join('') +
              (largerR
                ? `hint: ${f.checkpoint ? "a checkpoint's r is fixed; a fresh model at the larger r: " : 'the same probe at the larger r: '}${largerR}\n`
                : ''),
          );
        }
      } finally {
        x.dispose();
        disposeModel(model);
      }
    });
}
