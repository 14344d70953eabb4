import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useCpu } from '../helpers/backend';
import { relErr, TOL } from '../helpers/close';
import { KTH_FIXTURES, ourConfig, torchName, torchToOursPerm, type KthSetting } from '../helpers/kthReference';
import { decodeSafetensors, type HostTensor } from '../../src/node/checkpoint/safetensors';
import { classifierForward, classify, createClassifier, disposeClassifier, type ClassifierModel } from '../../src/core/nn/classifier';

beforeAll(useCpu);

/**
 * Forward parity with the reference's KTH models (kth/train_kth_classification.py, run by
 * test/fixtures/kth/make_kth_fixture.py): the same weights (BatchNorm weights and running statistics randomised) and
 * the same clip give the same logits in eval mode, and in train mode the same logits (batch statistics per frame in
 * the encoder, over the clip in the 3D-CNN) and the same new running statistics.
 */

interface Fixture {
  setting: KthSetting & { name: string; num_classes: number };
  tensors: Record<string, HostTensor>;
}

function readFixture(name: string): Fixture {
  const { tensors, metadata } = decodeSafetensors(new Uint8Array(readFileSync(`${KTH_FIXTURES}/${name}.safetensors`)));
  return { setting: JSON.parse(metadata.settings) as Fixture['setting'], tensors };
}

/** A torch-layout host tensor as ours; G-RNN+'s per-velocity kernels [V, 1, k, k] repeated over the C channels of
 *  our per-(velocity, channel) depthwise kernel [k, k, V*C, 1]. Caller disposes. */
function ours(m: ClassifierModel, name: string, t: HostTensor): tf.Tensor {
  return tf.tidy(() => {
    const x = tf.tensor(t.data, t.shape);
    if (name === 'cell.shift.weight') {
      const [nv, , k] = t.shape;
      const c = m.config.arch === 'classifier' ? m.config.cell.hidden : 0;
      // [V, 1, k, k] -> [k, k, V, 1] -> repeat each velocity's kernel C times -> [k, k, V*C, 1]
      const kv = tf.transpose(tf.reshape(x, [nv, k, k]), [1, 2, 0]);
      return tf.reshape(tf.tile(tf.reshape(kv, [k, k, nv, 1]), [1, 1, 1, c]), [k, k, nv * c, 1]);
    }
    return tf.transpose(x, torchToOursPerm(t.shape.length));
  });
}

function loadInto(m: ClassifierModel, tensors: Record<string, HostTensor>, prefix: string, names: string[]): void {
  for (const name of names) {
    const t = tensors[`${prefix}${torchName(m.config, name)}`];
    if (!t) throw new Error(`fixture has no ${prefix}${torchName(m.config, name)}`);
    const v = ours(m, name, t);
    expect(v.shape).toEqual(m.params[name].shape);
    m.params[name].assign(v);
    v.dispose();
  }
}

async function values(t: tf.Tensor): Promise<Float32Array> {
  return (await t.data()) as Float32Array;
}

describe.each(['fernn_v1', 'grnn', 'grnn_plus_v1', 'cnn3d'])('reference KTH model %s', (name) => {
  it('gives the reference logits (eval and train mode) and running statistics', async () => {
    const { setting, tensors } = readFixture(name);
    const m = createClassifier(ourConfig(setting, setting.num_classes), 0);
    loadInto(m, tensors, 'state.', Object.keys(m.params));
    const input = tensors.input; // [B, T, 1, H, W]
    const [b, t, c, h, w] = input.shape;
    const x = tf.tidy(() => tf.transpose(tf.tensor5d(input.data, [b, t, c, h, w]), [0, 1, 3, 4, 2]) as tf.Tensor5D);
    const before = tf.memory().numTensors;

    const evalLogits = classify(m, x);
    expect(relErr(await values(evalLogits), tensors.logits_eval.data)).toBeLessThan(TOL.parity);
    evalLogits.dispose();

    const { logits, updates } = classifierForward(m, x, 'train');
    expect(relErr(await values(logits), tensors.logits_train.data)).toBeLessThan(TOL.parity);
    const buffers = Object.keys(m.params).filter((k) => !m.params[k].trainable);
    expect(Object.keys(updates).sort()).toEqual(buffers.sort());
    expect(buffers.length).toBeGreaterThan(0);
    for (const k of buffers) {
      const ref = tensors[`after.${torchName(m.config, k)}`];
      expect(relErr(await values(updates[k]), ref.data), k).toBeLessThan(TOL.parity);
    }
    tf.dispose([logits, ...Object.values(updates)]);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
    disposeClassifier(m);
  });
});
