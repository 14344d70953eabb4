import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TrainConfigInput } from '../../src/core/protocol/run';
import { decodeSafetensors, readCheckpointFile } from '../../src/node/checkpoint/safetensors';
import { RunStore } from '../../src/node/store/runStore';

/** A tiny G-RNN (8 px, one digit, hidden 2, batch 2, 3 input and 2 predicted frames) on cpu; tests add steps, seed and the rest. */
export const TINY_GRNN = {
  model: 'grnn',
  vRange: 0,
  hidden: 2,
  imageSize: 8,
  numDigits: 1,
  inputFrames: 3,
  predFrames: 2,
  batch: 2,
  dataVRange: 1,
  valSequences: 4,
  testSequences: 4,
  backend: 'cpu',
} satisfies Partial<TrainConfigInput>;

/** A run store in a fresh temporary folder (`prefix` + random), created and ready; removeRunStore deletes it. */
export async function tempRunStore(prefix: string): Promise<RunStore> {
  const store = new RunStore(await mkdtemp(path.join(os.tmpdir(), prefix)));
  await store.init();
  return store;
}

/** Deletes a store made by tempRunStore; nothing when it was never made (a beforeAll that failed first). */
export async function removeRunStore(store: RunStore | undefined): Promise<void> {
  if (store) await rm(store.root, { recursive: true, force: true });
}

/** A run's last or best checkpoint as plain arrays by tensor name, to compare two runs' weights exactly. */
export async function checkpointWeights(store: RunStore, id: string, which: 'last' | 'best'): Promise<Record<string, number[]>> {
  const { tensors } = decodeSafetensors(await readCheckpointFile(store.checkpointPath(id, which)));
  return Object.fromEntries(Object.entries(tensors).map(([k, t]) => [k, Array.from(t.data)]));
}
