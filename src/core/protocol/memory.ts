import type { TrainConfig } from '../protocol/run';

/**
 * Peak memory of one training step, known before anything is allocated, and the backends whose memory has a hard
 * limit (the wasm heap holds at most 4 GiB: a larger peak aborts inside XNNPACK, docs/benchmarks.md run 3).
 *
 * The model: a step keeps, for its backward pass, a few tensors of the lifted hidden state's size per timestep
 * ([B, V, H, W, C] float32, T = input + predicted frames; classification: input frames), plus the parameters with
 * their gradients and Adam's two moments. The factor per state is calibrated on one measurement: a FERNN-V1, C = 32,
 * batch 16, 28x28, 10 + 10 frames peaks at 1.4 GB on wasm (README, Backends). It is a model, not a measurement: test
 * it against more figures before trusting it to better than a factor of about 1.5.
 */
export const BACKEND_MEMORY_LIMIT_BYTES: Readonly<Record<string, number>> = { wasm: 4 * 2 ** 30 };

/** Hidden-state-sized tensors a step keeps per timestep (calibration: (1.4 GB - BASE_BYTES) / 289 MB of states). */
const STATES_PER_STEP = 4.3;
/** The process before the step: the worker, the backend, MNIST and the data generators. */
const BASE_BYTES = 150 * 2 ** 20;

export interface MemoryEstimate {
  peakBytes: number;
  /** The backend's hard limit, or null where none is known (cpu, tensorflow, webgpu: host or GPU memory). */
  limitBytes: number | null;
  fits: boolean;
  /** When it does not fit: the limit, and what fits (a smaller batch, a GPU backend). */
  message?: string;
  basis: string;
}

/** Velocity slices of the lifted hidden state and channels per slice. */
function stateShape(c: TrainConfig): { slices: number; channels: number } {
  const side = 2 * c.vRange + 1;
  switch (c.model) {
    case 'fernn':
    case 'grnn-plus':
      return { slices: side * side, channels: c.hidden };
    case 'fernn-rot':
      return { slices: side, channels: c.hidden * (c.group ?? 36) };
    case 'grnn-rot':
      return { slices: 1, channels: c.hidden * (c.group ?? 36) };
    default:
      return { slices: 1, channels: c.hidden };
  }
}

function peakFor(c: TrainConfig, batch: number): number {
  const { slices, channels } = stateShape(c);
  const frames = c.task === 'classification' ? c.inputFrames : c.inputFrames + c.predFrames;
  const state = batch * slices * c.imageSize * c.imageSize * channels * 4;
  return BASE_BYTES + STATES_PER_STEP * state * frames;
}

const gb = (b: number): string => `${(b / 1e9).toFixed(b < 1e9 ? 2 : 1)} GB`;
const limitText = (b: number): string => (b % 2 ** 30 === 0 ? `${b / 2 ** 30} GiB` : gb(b));

/**
 * The estimated peak memory of the config's training step on `backend` (the backend actually chosen, not 'auto'),
 * and whether it fits that backend's limit.
 * @param params the model's parameter count (weights, gradients and Adam's moments: 4 float32 copies)
 */
export function estimateTrainingMemory(c: TrainConfig, backend: string, params = 0): MemoryEstimate {
  const fixed = params * 4 * 4;
  const peakBytes = peakFor(c, c.batch) + fixed;
  const limitBytes = BACKEND_MEMORY_LIMIT_BYTES[backend] ?? null;
  const basis = 'hidden states kept per timestep for the backward pass, calibrated on a FERNN-V1 C=32 28x28 step (1.4 GB on wasm)';
  if (limitBytes === null || peakBytes <= limitBytes) return { peakBytes, limitBytes, fits: true, basis };
  let batch = c.batch - 1;
  while (batch >= 1 && peakFor(c, batch) + fixed > limitBytes) batch--;
  const smaller = batch >= 1 ? `batch ${batch} fits (about ${gb(peakFor(c, batch) + fixed)})` : 'no batch size fits at this model and frame size';
  const message =
    `this config needs about ${gb(peakBytes)} at its peak on ${backend}, beyond its ${limitText(limitBytes)} limit: ` +
    `${smaller}, or train on a GPU backend (webgpu, tensorflow)`;
  return { peakBytes, limitBytes, fits: false, message, basis };
}
