import { readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * A hook for tests that need a training run "in the middle" (stopped, killed, shut down or preempted at a known
 * step) whatever the machine's speed: with `FERNN_TEST_GATES=DIR` in the environment, a run named NAME parks
 * before step s+1 while the file `DIR/<NAME>.hold` holds the number s. Once parked (after a progress event and
 * run.json say step s) it writes `DIR/<NAME>.held` with s, and goes on when the hold file is changed or removed,
 * or when the run is asked to stop. Without the variable (always, outside tests) there is no gate.
 *
 * NAME is the run's name with every character outside [A-Za-z0-9._-] replaced by '_'.
 */
export interface TestGate {
  /** True when the run must park before the step after `completed`. */
  holds(completed: number): Promise<boolean>;
  /** Parks until the hold on `completed` is lifted or `stopped()` turns true; says so in the held file first. */
  park(completed: number, stopped: () => boolean): Promise<void>;
}

export const TEST_GATES_ENV = 'FERNN_TEST_GATES';

/** The file name a run's gate uses in the gate folder. */
export const gateName = (runName: string): string => runName.replace(/[^A-Za-z0-9._-]/g, '_');

const POLL_MS = 10;

export function testGateFor(runName: string | undefined, env: NodeJS.ProcessEnv = process.env): TestGate | null {
  const dir = env[TEST_GATES_ENV];
  if (!dir || !runName) return null;
  const base = path.join(dir, gateName(runName));
  const heldStep = async (): Promise<number | null> => {
    const text = await readFile(`${base}.hold`, 'utf8').catch(() => null);
    const n = text === null ? NaN : Number(text.trim());
    return Number.isInteger(n) ? n : null;
  };
  return {
    holds: async (completed) => (await heldStep()) === completed,
    async park(completed, stopped) {
      const tmp = `${base}.held.${process.pid}.tmp`;
      await writeFile(tmp, String(completed));
      await rename(tmp, `${base}.held`);
      while (!stopped() && (await heldStep()) === completed) await new Promise((r) => setTimeout(r, POLL_MS));
    },
  };
}
