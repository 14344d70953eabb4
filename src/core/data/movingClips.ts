import { mod } from '../util/math';
import { z } from 'zod';
import { createRng, type Rng, streamSeed } from '../util/rng';
import { InputError } from '../util/errors';
import type { Velocity2 } from '../flows/velocity';
import { KTH_ACTIONS } from './datasetKinds';

/**
 * Clips of grayscale videos with random translation flows added on the fly: the "moving KTH" data of the
 * reference's sequence-classification experiment (`kth/train_kth_classification.py`, `KTHVideoClips`).
 * Pure typed-array code (no tensors, no Node) so a batch can cross a worker boundary; file reading lives in
 * src/node/data/kth.ts.
 */

/** The six KTH actions in the reference's label order (`_ACTIONS`): label = index in this list (kept with the KTH
 *  dataset's facts in datasetKinds.ts, which the renderer shares). */
export { KTH_ACTIONS };
export type KthAction = (typeof KTH_ACTIONS)[number];

/** A grayscale video: frames [T, H, W] row-major float32 in [0, 1]. */
export interface GrayVideo {
  readonly frames: Float32Array;
  readonly shape: readonly [number, number, number];
}

/** A clip cut from a video: frames [T, H, W]; `start` is the first source frame, `step` the frame stride. */
export interface GrayClip extends GrayVideo {
  readonly start: number;
  readonly step: number;
}

/** An inclusive frame range [first, last] of a video (a line of KTH's 00sequences.txt). */
export type FrameSegment = readonly [number, number];

export interface SampleClipOptions {
  /** Source frames between clip frames (reference training script: 2; its dataset default: 1). */
  step?: number;
  /** Sample only inside this inclusive range; the whole video when absent. */
  segment?: FrameSegment;
}

/**
 * Cuts `clipLen` frames at stride `step` from a random start, as the reference's `__getitem__` does: the start is
 * uniform in [s, e - clipLen*step + 1] for the segment [s, e] (e clipped to the last frame).
 * @param video frames [T, H, W]
 * @returns a new clip, frames [clipLen, H, W]
 */
export function sampleClip(video: GrayVideo, clipLen: number, rng: Rng, options: SampleClipOptions = {}): GrayClip {
  const [t, h, w] = checkVideo(video, 'video');
  const step = options.step ?? 1;
  if (!Number.isSafeInteger(clipLen) || clipLen < 1) throw new InputError('clipLen', `must be an integer >= 1, got ${clipLen}`);
  if (!Number.isSafeInteger(step) || step < 1) throw new InputError('step', `must be an integer >= 1, got ${step}`);
  const [s, e] = clipSegment(options.segment ?? [0, t - 1], t);
  const maxStart = e - clipLen * step + 1;
  if (maxStart < s) {
    throw new InputError('clipLen', `${clipLen} frames at step ${step} need ${clipLen * step} source frames; frames ${s}..${e} give ${e - s + 1}`);
  }
  const start = rng.int(s, maxStart);
  const hw = h * w;
  const frames = new Float32Array(clipLen * hw);
  for (let i = 0; i < clipLen; i++) {
    const src = (start + i * step) * hw;
    frames.set(video.frames.subarray(src, src + hw), i * hw);
  }
  return { frames, shape: [clipLen, h, w], start, step };
}

/** Largest velocity component per axis, for x and y separately (the reference's vx_data_range, vy_data_range). */
export type VelocityRange = number | { readonly vx: number; readonly vy: number };

/**
 * Moves every frame t of a clip by velocity*t pixels on the torus, with the torch.roll convention of
 * TranslationFlow and FlowingMnist: out_t[i, j] = in_t[(i - vy*t) mod H, (j - vx*t) mod W], so content moves
 * +vx columns and +vy rows per frame and wraps around.
 *
 * The reference implements the shift as a one-hot cross-correlation over a circularly padded frame, which works
 * out to out_t[i, j] = in_t[(i + vy*t) mod H, (j + vx*t) mod W]: its velocity v is our -v. Velocities are drawn
 * symmetrically in -R..R, so the data distribution is the same; only the sign of the reported velocity differs.
 * @param clip frames [T, H, W]
 * @param t0 time of the clip's first frame (0 in the reference)
 * @returns a new array [T, H, W]
 */
export function translateClip(clip: GrayVideo, velocity: Velocity2, t0 = 0): Float32Array {
  const [t, h, w] = checkVideo(clip, 'clip');
  if (!Number.isInteger(velocity.vx) || !Number.isInteger(velocity.vy)) {
    throw new InputError('velocity', `must be integer, got (${velocity.vx},${velocity.vy})`);
  }
  const out = new Float32Array(clip.frames.length);
  const hw = h * w;
  for (let f = 0; f < t; f++) {
    const dy = mod(velocity.vy * (f + t0), h);
    const dx = mod(velocity.vx * (f + t0), w);
    const base = f * hw;
    for (let i = 0; i < h; i++) {
      const srcRow = base + mod(i - dy, h) * w;
      const dstRow = base + i * w;
      // Two contiguous runs per row instead of a modulo per pixel.
      out.set(clip.frames.subarray(srcRow + w - dx, srcRow + w), dstRow);
      out.set(clip.frames.subarray(srcRow, srcRow + w - dx), dstRow + dx);
    }
  }
  return out;
}

/**
 * The moving-KTH flow of one clip: draws vx in -Rx..Rx then vy in -Ry..Ry (the reference's order) and applies
 * translateClip.
 * @param clip frames [T, H, W]
 * @returns the moved frames [T, H, W] and the velocity drawn
 */
export function applyRandomTranslation(
  clip: GrayVideo,
  velocityRange: VelocityRange,
  rng: Rng,
): { frames: Float32Array; shape: readonly [number, number, number]; velocity: Velocity2 } {
  const velocity = drawVelocity(velocityRange, rng);
  return { frames: translateClip(clip, velocity), shape: clip.shape, velocity };
}

/** vx then vy, each uniform over the integers of its range. */
export function drawVelocity(range: VelocityRange, rng: Rng): Velocity2 {
  const { vx: rx, vy: ry } = typeof range === 'number' ? { vx: range, vy: range } : range;
  for (const [name, r] of [
    ['vx', rx],
    ['vy', ry],
  ] as const) {
    if (!Number.isSafeInteger(r) || r < 0) throw new InputError(`velocityRange.${name}`, `must be an integer >= 0, got ${r}`);
  }
  const vx = rng.int(-rx, rx);
  const vy = rng.int(-ry, ry);
  return { vx, vy };
}

/**
 * Mirrors every frame left-right (the reference's train-time augmentation, p = 0.5, applied after the flow).
 * @param clip frames [T, H, W]
 * @returns a new array [T, H, W]
 */
export function flipClipHorizontally(clip: GrayVideo): Float32Array {
  const [t, h, w] = checkVideo(clip, 'clip');
  const out = new Float32Array(clip.frames.length);
  for (let r = 0; r < t * h; r++) {
    const o = r * w;
    for (let j = 0; j < w; j++) out[o + j] = clip.frames[o + w - 1 - j];
  }
  return out;
}

/** One labelled video of a clip source. */
export interface LabelledVideo {
  readonly video: GrayVideo;
  /** Class index (KTH: index in KTH_ACTIONS). */
  readonly label: number;
  /** Annotated frame ranges (KTH's 00sequences.txt); the whole video is one segment when absent. */
  readonly segments?: readonly FrameSegment[];
}

const rangeSchema = z.union([z.number().int().min(0).max(64), z.strictObject({ vx: z.number().int().min(0).max(64), vy: z.number().int().min(0).max(64) })]);

export const kthClipConfigSchema = z.strictObject({
  /** Frames per clip (reference: 16). */
  clipLen: z.number().int().min(1).max(1000).default(16),
  /** Source-frame stride inside a clip (reference training script: 2). */
  step: z.number().int().min(1).max(100).default(2),
  /** Moving-KTH velocity range per axis; 0 gives plain KTH clips. */
  velocityRange: rangeSchema.default(0),
  /**
   * `segment`: one velocity per segment for the whole run, as the reference (seeded once, 42, per sequence);
   * `clip`: a fresh velocity for every clip drawn.
   */
  velocityPer: z.enum(['segment', 'clip']).default('segment'),
  /** Random left-right flip with p = 0.5 (the reference does it on the train split only). */
  hflip: z.boolean().default(false),
  /** Visit segments in a fresh seeded order each epoch (the reference's shuffled train loader); else in order. */
  shuffle: z.boolean().default(true),
});
export type KthClipConfigInput = z.input<typeof kthClipConfigSchema>;
export type KthClipConfig = z.output<typeof kthClipConfigSchema>;

/**
 * One batch, row-major typed arrays: frames [B, T, H, W, 1] float32 in [0, 1]; labels [B]; velocities [B, 2] as
 * (vx, vy); starts [B] (first source frame); segments [B] (index into KthClipSource.segments).
 */
export interface ClipBatch {
  readonly frames: Float32Array;
  readonly shape: readonly [number, number, number, number, 1];
  readonly labels: Uint8Array;
  readonly velocities: Int32Array;
  readonly starts: Int32Array;
  readonly segments: Int32Array;
}

/** One drawn clip of a KthClipSource. */
export interface DrawnClip {
  readonly frames: Float32Array;
  readonly label: number;
  readonly velocity: Velocity2;
  readonly start: number;
  readonly segment: number;
  readonly flipped: boolean;
}

/**
 * A seeded moving-clip stream over labelled videos. As in the reference, the items are the annotated segments
 * long enough for one clip (shorter ones are dropped); clip k is segment perm_e[k mod S] of epoch e = floor(k / S),
 * a random start inside it, the segment's (or clip's) velocity and an optional flip. Clip k depends only on
 * (seed, k, config, videos), so `batch(i, B)` is clips i*B .. i*B+B-1 in any request order.
 */
export class KthClipSource {
  readonly config: KthClipConfig;
  readonly seed: number;
  /** The usable segments: video index and inclusive frame range. */
  readonly segments: readonly { readonly video: number; readonly range: FrameSegment }[];
  readonly height: number;
  readonly width: number;
  private readonly videos: readonly LabelledVideo[];
  private permEpoch = -1;
  private perm: Int32Array = new Int32Array(0);

  constructor(videos: readonly LabelledVideo[], config: KthClipConfigInput, seed: number) {
    this.config = parseKthClipConfig(config);
    if (!Number.isSafeInteger(seed)) throw new InputError('seed', `must be an integer, got ${seed}`);
    this.seed = seed;
    if (videos.length === 0) throw new InputError('videos', 'no videos given');
    const [, h, w] = checkVideo(videos[0].video, 'videos[0]');
    const need = this.config.clipLen * this.config.step;
    const segments: { video: number; range: FrameSegment }[] = [];
    videos.forEach((v, i) => {
      const [t, vh, vw] = checkVideo(v.video, `videos[${i}]`);
      if (vh !== h || vw !== w) throw new InputError(`videos[${i}]`, `is ${vh}x${vw}, the first video ${h}x${w}; resize all to one size`);
      if (!Number.isInteger(v.label) || v.label < 0 || v.label > 255)
        throw new InputError(`videos[${i}].label`, `must be an integer in 0..255, got ${v.label}`);
      for (const seg of v.segments ?? [[0, t - 1] as const]) {
        const [s, e] = clipSegment(seg, t);
        if (e - s + 1 >= need) segments.push({ video: i, range: [s, e] });
      }
    });
    if (segments.length === 0) {
      throw new InputError('clipLen', `no video segment has the ${need} frames a clip of ${this.config.clipLen} at step ${this.config.step} needs`);
    }
    this.videos = videos;
    this.segments = segments;
    this.height = h;
    this.width = w;
  }

  /** Number of segments S: one epoch is S clips. */
  get length(): number {
    return this.segments.length;
  }

  /** Clip k of the stream, frames [T, H, W]. */
  clip(k: number): DrawnClip {
    if (!Number.isSafeInteger(k) || k < 0) throw new InputError('index', `must be an integer >= 0, got ${k}`);
    const { clipLen, step, velocityRange, velocityPer, hflip, shuffle } = this.config;
    const n = this.segments.length;
    const epoch = Math.floor(k / n);
    const segment = shuffle ? this.permutation(epoch)[k % n] : k % n;
    const { video: vi, range } = this.segments[segment];
    const item = this.videos[vi];
    const rng = createRng(streamSeed(this.seed, k, 0));
    const clip = sampleClip(item.video, clipLen, rng, { step, segment: range });
    const velRng = velocityPer === 'segment' ? createRng(streamSeed(this.seed, segment, 1)) : createRng(streamSeed(this.seed, k, 2));
    const velocity = drawVelocity(velocityRange, velRng);
    let frames = velocity.vx === 0 && velocity.vy === 0 ? clip.frames : translateClip(clip, velocity);
    const flipped = hflip && rng.next() < 0.5;
    if (flipped) frames = flipClipHorizontally({ frames, shape: clip.shape });
    return { frames, label: item.label, velocity, start: clip.start, segment, flipped };
  }

  /**
   * Batch number `index`: clips index*batchSize .. index*batchSize + batchSize - 1.
   * @returns frames [batchSize, T, H, W, 1] plus labels, velocities, starts and segment indices
   */
  batch(index: number, batchSize: number): ClipBatch {
    if (!Number.isSafeInteger(index) || index < 0) throw new InputError('index', `must be an integer >= 0, got ${index}`);
    if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new InputError('batchSize', `must be an integer >= 1, got ${batchSize}`);
    const { clipLen: t } = this.config;
    const per = t * this.height * this.width;
    if (batchSize * per > 2 ** 28)
      throw new InputError('batchSize', `${batchSize} clips of ${t}x${this.height}x${this.width} are too many floats; use smaller batches`);
    const frames = new Float32Array(batchSize * per);
    const labels = new Uint8Array(batchSize);
    const velocities = new Int32Array(batchSize * 2);
    const starts = new Int32Array(batchSize);
    const segments = new Int32Array(batchSize);
    for (let b = 0; b < batchSize; b++) {
      const c = this.clip(index * batchSize + b);
      frames.set(c.frames, b * per);
      labels[b] = c.label;
      velocities[2 * b] = c.velocity.vx;
      velocities[2 * b + 1] = c.velocity.vy;
      starts[b] = c.start;
      segments[b] = c.segment;
    }
    return { frames, shape: [batchSize, t, this.height, this.width, 1], labels, velocities, starts, segments };
  }

  private permutation(epoch: number): Int32Array {
    if (epoch !== this.permEpoch) {
      const n = this.segments.length;
      const perm = Int32Array.from({ length: n }, (_, i) => i);
      const rng = createRng(streamSeed(this.seed, epoch, 3));
      for (let i = n - 1; i > 0; i--) {
        const j = rng.int(0, i);
        const tmp = perm[i];
        perm[i] = perm[j];
        perm[j] = tmp;
      }
      this.perm = perm;
      this.permEpoch = epoch;
    }
    return this.perm;
  }
}

/** Validates a clip-source config; errors are InputErrors naming the offending field. */
export function parseKthClipConfig(input: unknown): KthClipConfig {
  const r = kthClipConfigSchema.safeParse(input ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  if (issue.code === 'unrecognized_keys') {
    throw new InputError(issue.keys.join(', '), `unknown field; allowed: ${Object.keys(kthClipConfigSchema.shape).join(', ')}`);
  }
  throw new InputError(issue.path.length > 0 ? issue.path.join('.') : 'config', issue.message);
}

function checkVideo(video: GrayVideo, name: string): readonly [number, number, number] {
  const { shape, frames } = video;
  if (shape.length !== 3 || !shape.every((n) => Number.isSafeInteger(n) && n >= 1)) {
    throw new InputError(`${name}.shape`, `must be [T, H, W] of integers >= 1, got [${shape.join(', ')}]`);
  }
  if (frames.length !== shape[0] * shape[1] * shape[2]) {
    throw new InputError(`${name}.frames`, `has ${frames.length} values, shape [${shape.join(', ')}] needs ${shape[0] * shape[1] * shape[2]}`);
  }
  return shape;
}

/** The reference clips a segment's end to the last frame (`e = min(e, total_frames - 1)`). */
function clipSegment(segment: FrameSegment, t: number): [number, number] {
  const [s, e] = segment;
  if (!Number.isSafeInteger(s) || !Number.isSafeInteger(e) || s < 0 || e < s) {
    throw new InputError('segment', `must be integers 0 <= first <= last, got [${s}, ${e}]`);
  }
  return [s, Math.min(e, t - 1)];
}
