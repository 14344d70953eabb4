import { writeFile } from 'node:fs/promises';
import { encodeNpy } from '../../src/node/npy';

/** Writes a float32 .npy of `shape` [N, T, H, W] (values (i mod 97) / 97: deterministic) and returns its path. */
export async function writeNpySequences(file: string, shape: number[] = [10, 5, 8, 8]): Promise<string> {
  const n = shape.reduce((a, b) => a * b, 1);
  await writeFile(
    file,
    encodeNpy(
      Float32Array.from({ length: n }, (_, i) => (i % 97) / 97),
      shape,
    ),
  );
  return file;
}
