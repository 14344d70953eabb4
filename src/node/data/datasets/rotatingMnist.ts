import { MNIST_TRAIN_COUNT, allIndices, splitTrainVal } from '../../../core/data/flowingMnist';
import { RotatingMnist } from '../../../core/data/rotatingMnist';
import type { TrainConfig } from '../../../core/protocol/run';
import { loadMnist } from '../../mnist';
import type { PredictionLoader } from './loader';

/** Rotating MNIST's angular velocities of a run: {-D..D} * omegaStep degrees per frame. */
export const dataOmegas = (config: TrainConfig): number[] =>
  Array.from({ length: 2 * config.dataVRange + 1 }, (_, i) => (i - config.dataVRange) * config.omegaStep);

/** Rotating MNIST prediction: digits turning about the frame centre; the splits of Flowing MNIST. */
export const rotatingMnistPrediction: PredictionLoader = async (config, dataSeed) => {
  const mnist = await loadMnist();
  const split = splitTrainVal(MNIST_TRAIN_COUNT, dataSeed);
  const gen = {
    numDigits: config.numDigits,
    imageSize: config.imageSize,
    seqLen: config.inputFrames + config.predFrames,
    angularVelocity: { kind: 'list' as const, omegas: dataOmegas(config) },
  };
  return {
    train: new RotatingMnist(gen, { ...mnist.train, indices: split.train }, dataSeed),
    val: new RotatingMnist(gen, { ...mnist.train, indices: split.val }, dataSeed + 1),
    test: new RotatingMnist(gen, { ...mnist.test, indices: allIndices(mnist.test.images.count) }, dataSeed + 2),
    epochSize: split.train.length,
  };
};
