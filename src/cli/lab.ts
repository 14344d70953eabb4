import { SingleBar } from 'cli-progress';
import type { ProgressEvent, RunRecord } from '../core/protocol/run';
import { createLabService, type LabService } from '../node/lab/labService';
import { RunStore } from '../node/store/runStore';
import { info } from './io';
import { backendLine } from '../node/backend';
import { headlineText } from './report';

/** The lab service over the store the user chose (--store) or the default one. */
export async function openLab(storeDir?: string, opts: { concurrentRuns?: number } = {}): Promise<LabService> {
  return createLabService({ storeRoot: storeDir ?? RunStore.defaultRoot(), shell: { kind: 'web', note: 'command line' }, ...opts });
}

const fmtEta = (s: number | null): string => {
  if (s === null || !Number.isFinite(s)) return '?';
  if (s < 90) return `${Math.round(s)}s`;
  if (s < 5400) return `${Math.round(s / 60)}m`;
  return `${(s / 3600).toFixed(1)}h`;
};

/**
 * Follows one run until its worker ends: a progress bar with loss and ETA on stderr (or nothing with quiet),
 * Ctrl-C stops the run with a checkpoint (a second Ctrl-C quits at once).
 */
export async function followRun(lab: LabService, id: string, opts: { quiet: boolean; label: string }): Promise<RunRecord> {
  const bar = opts.quiet
    ? null
    : new SingleBar({
        format: `${opts.label} [{bar}] {value}/{total} steps | loss {loss} | val {val} | {rate} steps/s | ETA {etaText}`,
        stream: process.stderr,
        hideCursor: true,
        barsize: 24,
        etaBuffer: 50,
      });
  let started = false;
  const off = lab.onDidProgress((e: ProgressEvent) => {
    if (e.runId !== id || !bar) return;
    const payload = { loss: e.loss?.toFixed(4) ?? '-', val: e.valMse?.toFixed(4) ?? '-', rate: e.stepsPerSec.toFixed(2), etaText: fmtEta(e.etaSec) };
    if (!started) {
      bar.start(e.totalSteps, e.step, payload);
      started = true;
    } else bar.update(e.step, payload);
  });
  let interrupts = 0;
  const onSigint = () => {
    interrupts += 1;
    if (interrupts > 1) process.exit(130);
    info('\nstopping: finishing the current step and writing a checkpoint (Ctrl-C again to quit now)');
    void lab.stopRun({ id }).catch(() => undefined);
  };
  process.on('SIGINT', onSigint);
  try {
    await lab.whenIdle(id);
  } finally {
    process.off('SIGINT', onSigint);
    off();
    bar?.stop();
  }
  return lab.store.get(id);
}

/** The machine-readable summary `train --json` and `resume --json` print. */
export function runSummary(r: RunRecord, storeRoot: string) {
  return {
    run_id: r.id,
    name: r.name ?? null,
    status: r.status,
    end_reason: r.endReason ?? null,
    end_message: r.endMessage ?? null,
    task: r.config.task,
    dataset: r.config.dataset,
    model: r.config.model,
    v_range: r.config.vRange,
    hidden: r.config.hidden,
    params: r.params,
    backend: r.backend?.name ?? null,
    backend_detail: r.backend?.detail ?? null,
    backend_gpu: r.backend?.gpu ?? null,
    steps: r.progress.step,
    ms_per_step_median: r.timings.msPerStepMedian,
    train_seconds: r.timings.trainMs / 1000,
    final_train_loss: r.progress.lastTrainLoss,
    val_mse: r.results?.valMse ?? r.progress.bestValMse,
    test_mse: r.results?.testMse ?? null,
    val_accuracy: r.results?.valAccuracy ?? r.progress.bestValAccuracy ?? null,
    test_accuracy: r.results?.testAccuracy ?? null,
    /** Which evaluation test_mse / test_accuracy come from (end of training, best checkpoint, the run's test sequences). */
    test_source: r.results?.testSource ?? null,
    /** "Train longer": each continuation from a completed run's last checkpoint to a new total of steps. */
    continuations: (r.continuations ?? []).map((c) => ({ from_step: c.fromStep, to_step: c.toStep, at: c.at, early_stop_reset: c.earlyStopReset ?? false })),
    store: storeRoot,
  };
}

const pct = (x: number | null | undefined): string => (x === null || x === undefined ? '-' : `${(100 * x).toFixed(1)}%`);

/** Human one-screen summary of a finished run. */
export function describeRun(r: RunRecord): string {
  const lines = [
    `run ${r.id}: ${r.status}${r.endReason ? ` (${r.endReason}${r.endMessage ? `: ${r.endMessage}` : ''})` : ''}`,
    `  model ${r.config.model} v_range ${r.config.vRange} hidden ${r.config.hidden}, ${r.params} parameters`,
    `  backend ${r.backend ? backendLine(r.backend) : '-'}`,
    `  steps ${r.progress.step}/${r.config.steps}, median ${r.timings.msPerStepMedian?.toFixed(0) ?? '-'} ms/step, ${(r.timings.trainMs / 1000).toFixed(1)} s training`,
    r.config.task === 'classification'
      ? `  train loss ${r.progress.lastTrainLoss?.toFixed(5) ?? '-'}, best val accuracy ${pct(r.progress.bestValAccuracy)} (step ${r.progress.bestStep ?? '-'}), test accuracy ${headlineText(r)}`
      : `  train loss ${r.progress.lastTrainLoss?.toFixed(5) ?? '-'}, best val MSE ${r.progress.bestValMse?.toFixed(5) ?? '-'} (step ${r.progress.bestStep ?? '-'}), test MSE ${headlineText(r)}`,
  ];
  const recorded = r.sources?.data?.find((d) => d.classes)?.classes;
  if (recorded) lines.push(`  classes (from the data, label order): ${recorded.map((c) => c.name).join(', ')}`);
  for (const c of r.continuations ?? [])
    lines.push(`  trained longer: from step ${c.fromStep} to ${c.toStep} (${c.at})${c.earlyStopReset ? ', early-stop count reset' : ''}`);
  return lines.join('\n');
}
