import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gateName } from '../../src/node/lab/testGate';

/**
 * The test side of the lab's training gate (src/node/lab/testGate.ts): a run started with FERNN_TEST_GATES=dir and a
 * hold on its name parks before the step after `step`, so a test can stop, kill or shut it down "in the middle" at a
 * known step however fast or loaded the machine is. Waiting is polling a file the run writes once parked; the only
 * clock is the test's own timeout.
 */
export interface Gate {
  /** Resolves with the step once the run is parked there. */
  parked(): Promise<number>;
  /** Moves the hold to a later step (the run goes on and parks again there). */
  moveTo(step: number): Promise<void>;
  /** Lifts the hold: the run (or its resumption) trains on. */
  release(): Promise<void>;
}

export interface Gates {
  dir: string;
  /** Holds the run named `runName` after `step` completed steps. Set it before the run starts. */
  hold(runName: string, step: number): Promise<Gate>;
}

export async function gateFolder(dir: string): Promise<Gates> {
  await mkdir(dir, { recursive: true });
  return {
    dir,
    async hold(runName, step) {
      const base = path.join(dir, gateName(runName));
      let target = step;
      const set = async (s: number): Promise<void> => {
        await rm(`${base}.held`, { force: true });
        target = s;
        await writeFile(`${base}.hold`, String(s));
      };
      await set(step);
      return {
        async parked() {
          for (;;) {
            const held = await readFile(`${base}.held`, 'utf8').catch(() => '');
            if (held.trim() === String(target)) return target;
            await new Promise((r) => setTimeout(r, 20));
          }
        },
        moveTo: set,
        release: () => rm(`${base}.hold`, { force: true }),
      };
    },
  };
}
