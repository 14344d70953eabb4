import { FlowingMnist, MNIST_TRAIN_COUNT, allIndices, splitTrainVal, type VelocitySpec } from '../../../core/data/flowingMnist';
import { classificationSource } from '../../../core/data/flowingMnistClassification';
import { datasetClassCount } from '../../../core/data/datasetKinds';
import type { TrainConfig } from '../../../core/protocol/run';
import { loadMnist } from '../../mnist';
import type { ClassificationLoader, PredictionLoader } from './loader';

/** The run's digit motion: its listed velocities (saved flows), else the range -D..D per axis. */
const velocityOf = (config: TrainConfig): VelocitySpec =>
  config.dataVelocities ? { kind: 'list', velocities: config.dataVelocities } : { kind: 'range', range: config.dataVRange };

/** Flowing MNIST prediction: train and val from the seeded 54k/6k split of MNIST-train, test from t10k. */
export const flowingMnistPrediction: PredictionLoader = async (config, dataSeed) => {
  const mnist = await loadMnist();
  const split = splitTrainVal(MNIST_TRAIN_COUNT, dataSeed);
  const gen = { numDigits: config.numDigits, imageSize: config.imageSize, seqLen: config.inputFrames + config.predFrames, velocity: velocityOf(config) };
  return {
    train: new FlowingMnist(gen, { ...mnist.train, indices: split.train }, dataSeed),
    val: new FlowingMnist(gen, { ...mnist.train, indices: split.val }, dataSeed + 1),
    test: new FlowingMnist(gen, { ...mnist.test, indices: allIndices(mnist.test.images.count) }, dataSeed + 2),
    epochSize: split.train.length,
  };
};

/**
 * Flowing-MNIST classification: one digit per clip, label = digit; train/val from the seeded 54k/6k split with the
 * training motion, test from t10k with the test motion.
 */
export const flowingMnistClassification: ClassificationLoader = async (config, dataSeed, { testRange }) => {
  const mnist = await loadMnist();
  const split = splitTrainVal(MNIST_TRAIN_COUNT, dataSeed);
  const velocity = velocityOf(config);
  const opts = { imageSize: config.imageSize, seqLen: config.inputFrames };
  return {
    train: classificationSource({ ...mnist.train, indices: split.train }, { ...opts, velocity }, dataSeed),
    val: classificationSource({ ...mnist.train, indices: split.val }, { ...opts, velocity }, dataSeed + 1),
    test: classificationSource(
      { ...mnist.test, indices: allIndices(mnist.test.images.count) },
      { ...opts, velocity: { kind: 'range', range: testRange } },
      dataSeed + 2,
    ),
    epochSize: split.train.length,
    numClasses: datasetClassCount('flowing-mnist'),
    note: `Flowing-MNIST classification: train velocities ${config.dataVelocities ? `${config.dataVelocities.length} listed` : `-${config.dataVRange}..${config.dataVRange}`}, test -${testRange}..${testRange}`,
  };
};
