import type { MetricRecord, RunRecord } from '../core/protocol/run';
import type { Series, XBand } from './series';

/**
 * What the run page's charts show, as pure functions of the run's records (test/renderer/runCharts.test.ts): the loss
 * chart's series (the validation curve above the training loss), its marks (where the run was resumed, the spans it
 * was trained longer), and the velocity heat-map's vy axis, oriented as the Flow designer and the data.
 */

type Points = { x: number; y: number | null }[];

/** The loss chart asks for a log y axis (LineChart draws one where the losses span a decade: series.ts logAxis). */
export const LOSS_CHART_LOG_Y = true;

/** The loss chart's series: a classification run's cross-entropy; a prediction run's training loss and validation MSE, the validation drawn on top. */
export function lossSeries(classification: boolean, train: Points, val: Points): Series[] {
  return classification
    ? [{ label: 'training loss (cross-entropy)', points: train }]
    : [
        { label: 'training loss (MSE)', points: train },
        { label: 'validation MSE', points: val, pointsOnly: false, dashed: true, front: true },
      ];
}

/** Steps where training was resumed from a checkpoint (the `resumed` events of metrics.jsonl). */
export function resumedSteps(metrics: MetricRecord[]): number[] {
  return metrics.flatMap((m) => (m.kind === 'event' && m.event === 'resumed' ? [m.step] : []));
}

/** The loss chart's marks: a thin mark at each resume point, and each continuation ("train longer") shaded. */
export function lossMarks(resumedAt: number[], continuations: RunRecord['continuations']): XBand[] {
  return [
    ...resumedAt.map((step) => ({ from: step, to: step, label: `resumed @ ${step}` })),
    ...(continuations ?? []).map((c) => ({ from: c.fromStep, to: c.toStep, label: `trained longer from step ${c.fromStep}` })),
  ];
}

/**
 * The velocity heat-map's vy axis. +vy moves a digit down the frame, in the Flow designer and in the data (rows grow
 * downwards: frames.ts translateSequence): the axis runs downwards (reversed) so that down on the map is down in the
 * frame, and its title says so.
 */
export const HEATMAP_VY_AXIS = { reverse: true, title: 'vy (px/frame, + is down)' } as const;
