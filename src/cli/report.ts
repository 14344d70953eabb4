import type { EvaluationRecord, TestSource } from '../core/protocol/evaluation';
import type { RunRecord } from '../core/protocol/run';
import type { EvaluationResults } from '../core/protocol/service';
import { fmtErr, table } from './io';

/** A velocity-generalisation grid as text: rows vy, columns vx. */
export function velocityGridText(v: NonNullable<EvaluationResults['velocity']>): string {
  return table(
    ['vy \\ vx', ...v.velocities.map(String)],
    v.mse.map((row, iy) => [String(v.velocities[iy]), ...row.map((x) => x.toFixed(4))]),
  );
}

/** A confusion matrix as text (rows true, columns predicted), headed by the run's class names (runClassNames) when
 *  they match its size, else by the label numbers. */
export function confusionText(confusion: readonly (readonly number[])[], classNames: readonly string[] = []): string {
  const names = classNames.length === confusion.length ? classNames : confusion.map((_, i) => String(i));
  return table(
    ['true \\ pred', ...names],
    confusion.map((row, i) => [names[i], ...row.map(String)]),
  );
}

/** Human report of an evaluation; `classNames`: the run's (runClassNames), for a confusion matrix. */
export function evaluationText(r: EvaluationResults, classNames: readonly string[] = []): string {
  const parts: string[] = [];
  if (r.data)
    parts.push(`on ${r.data.path} (${r.data.kind}, sha256 ${r.data.sha256.slice(0, 12)}, shape [${r.data.shape.join(', ')}]); not the run's test split`);
  if (r.test)
    parts.push(`test MSE ${r.test.mse.toFixed(5)} over ${r.test.sequences} sequences; per future step: ${r.test.perStep.map((x) => x.toFixed(4)).join(' ')}`);
  if (r.length) {
    for (const [len, c] of Object.entries(r.length)) {
      const k = c.mean.length;
      const pick = [0, 9, 19, 29, 39, 59, k - 1].filter((i, j, a) => i < k && a.indexOf(i) === j);
      parts.push(
        `length generalisation, ${len}-frame sequences (${c.sequences} sequences): MSE per future step\n${table(
          ['step', 'mean', 'std'],
          pick.map((i) => [i + 1, c.mean[i].toFixed(4), c.std[i].toFixed(4)]),
        )}`,
      );
    }
  }
  if (r.testAccuracy) {
    const t = r.testAccuracy;
    parts.push(
      `test accuracy ${(100 * t.accuracy).toFixed(1)}% over ${t.sequences} clips; confusion (rows true, columns predicted)\n${confusionText(t.confusion, classNames)}`,
    );
  }
  if (r.velocityAccuracy) {
    const v = r.velocityAccuracy;
    parts.push(
      `velocity generalisation: test accuracy per fixed velocity (${v.sequences} clips per cell)\n${table(
        ['vy \\ vx', ...v.velocities.map(String)],
        v.accuracy.map((row, iy) => [String(v.velocities[iy]), ...row.map((x) => `${(100 * x).toFixed(1)}%`)]),
      )}`,
    );
  }
  if (r.angular) {
    const a = r.angular;
    parts.push(
      `angular-velocity generalisation: test MSE per fixed omega (${a.sequences} sequences each)\n${table(
        ['omega (deg/frame)', 'MSE'],
        a.omegas.map((o, i) => [String(o), a.mse[i].toFixed(4)]),
      )}`,
    );
  }
  if (r.velocity)
    parts.push(`velocity generalisation: test MSE per fixed velocity (${r.velocity.sequences} sequences per cell)\n${velocityGridText(r.velocity)}`);
  if (r.equivariance) {
    for (const e of r.equivariance) {
      parts.push(
        `equivariance under ${e.flow} (trained weights)\n${table(
          ['t', 'hidden rel err', 'readout rel err', 'constrained'],
          e.per_step.map((s) => [s.t, fmtErr(s.hidden_rel_err), fmtErr(s.output_rel_err), `${s.constrained_slices}/${s.total_slices}`]),
        )}`,
      );
    }
  }
  const recs = r.records ?? [];
  const ck = recs[0]?.checkpoint;
  const weights = ck ? `${ck.which} checkpoint${ck.step === null ? '' : ` (step ${ck.step})`}` : 'saved weights';
  if (recs.length) parts.push(`evaluated the ${weights}; added ${recs.length} evaluation record(s): ${recs.map((e) => e.id).join(', ')}`);
  return parts.join('\n\n');
}

/** Where the headline test figure comes from: "best @ step 280, 32 seqs". */
export function testSourceText(s: TestSource | null | undefined): string {
  if (!s) return '';
  return `${s.checkpoint}${s.step === null ? '' : ` @ step ${s.step}`}, ${s.sequences} seqs`;
}

/** The run's headline test figure with its source: "0.04145 (best @ step 280, 32 seqs)", or "-". */
export function headlineText(r: RunRecord, digits = 5): string {
  const res = r.results;
  const source = testSourceText(res?.testSource);
  const accuracy = res?.testAccuracy == null ? null : `${(100 * res.testAccuracy).toFixed(1)}%`;
  const value = r.config.task === 'classification' ? accuracy : (res?.testMse?.toFixed(digits) ?? null);
  return value === null ? '-' : source ? `${value} (${source})` : value;
}

const settingsText = (e: EvaluationRecord): string => {
  const s = e.settings;
  return [
    s.sequences !== undefined ? `${s.sequences} seqs` : '',
    s.velocityRange !== undefined ? `grid ±${s.velocityRange}` : '',
    s.seqLens ? `lengths ${s.seqLens.join(',')}` : '',
    s.flows ? `flows ${s.flows.join(';')}` : '',
    s.data ? `data ${s.data.path} (sha256 ${s.data.sha256.slice(0, 12)})` : '',
  ]
    .filter(Boolean)
    .join(', ');
};

/** The value an evaluation record leads with (test MSE, accuracy), or '' for grids and curves. */
function recordValue(e: EvaluationRecord): string {
  const r = e.result;
  if (typeof r !== 'object' || r === null) return '';
  const o = r as Record<string, unknown>;
  if ((e.kind === 'test' || e.kind === 'data-test') && typeof o.mse === 'number') return `MSE ${o.mse.toFixed(5)}`;
  if (e.kind === 'test-accuracy' && typeof o.accuracy === 'number') return `accuracy ${(100 * o.accuracy).toFixed(1)}%`;
  return '';
}

/** Every evaluation of a run, one line each: when, kind, weights, settings, and the figure it leads with. */
export function evaluationsTable(records: EvaluationRecord[], headlineId?: string): string {
  return table(
    ['created', 'kind', 'origin', 'checkpoint', 'settings', 'result'],
    records.map((e) => [
      e.created_at.slice(0, 19),
      e.kind,
      e.origin + (e.id === headlineId ? ' (headline)' : ''),
      e.checkpoint ? `${e.checkpoint.which}${e.checkpoint.step === null ? '' : ` @ step ${e.checkpoint.step}`}` : '?',
      settingsText(e) || '-',
      recordValue(e) || '-',
    ]),
  );
}
