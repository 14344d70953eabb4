import * as tf from '@tensorflow/tfjs-core';
import type { ClassifierConfig } from './config';
import { cellParamSpec } from './cell';
import { countParams, initParams, type ParamMap, type ParamSpec } from './params';
import { advance, hiddenOf, initRun } from './runner';
import { poolVelocities, frameAt } from './seq2seq';

/**
 * A sequence classifier (the paper's KTH head): run the recurrent cell over the clip, take the last hidden state,
 * pool over V (max by default), average over space, then a linear layer. Immutable config + parameters.
 */
export interface ClassifierModel {
  readonly config: ClassifierConfig;
  readonly params: ParamMap;
}

/** Cell parameters as the seq2seq model's, plus `head.weight` [C, classes] and `head.bias` [classes]. */
export function classifierParamSpec(c: ClassifierConfig): ParamSpec {
  const spec = cellParamSpec(c.cell);
  spec['head.weight'] = { shape: [c.cell.hidden, c.numClasses], fanIn: c.cell.hidden };
  spec['head.bias'] = { shape: [c.numClasses], fanIn: c.cell.hidden };
  return spec;
}

export function createClassifier(config: ClassifierConfig, seed: number): ClassifierModel {
  return { config, params: initParams(classifierParamSpec(config), seed) };
}

export function classifierParamCount(config: ClassifierConfig): number {
  return countParams(classifierParamSpec(config));
}

/**
 * Class logits of a batch of clips. Differentiable (call inside a gradient scope to train).
 * @param clips [B, T, H, W, Cin]
 * @returns [B, numClasses]; caller disposes.
 */
export function classify(m: ClassifierModel, clips: tf.Tensor5D): tf.Tensor2D {
  const [b, t, height, width] = clips.shape;
  const cell = m.config.cell;
  return tf.tidy(() => {
    let s = initRun(cell, b, height, width);
    for (let i = 0; i < t; i++) s = advance(cell, m.params, s, frameAt(clips, i));
    const pooled = poolVelocities(hiddenOf(cell, s), m.config.pool); // [B, H, W, C]
    const feat = tf.mean(pooled, [1, 2]) as tf.Tensor2D; // [B, C]
    return tf.add(tf.matMul(feat, m.params['head.weight'] as tf.Tensor2D), m.params['head.bias']) as tf.Tensor2D;
  });
}
