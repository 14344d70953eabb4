import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';

/** Unit tests run on the cpu backend (CI has no GPU); backend-specific tests select their own. */
export async function useCpu(): Promise<void> {
  tf.env().set('PROD', true); // no "install tfjs-node" advice in test output
  await tf.setBackend('cpu');
  await tf.ready();
}
