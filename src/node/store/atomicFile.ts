import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Atomic file replacement for the run store: write a temporary file in the target's folder, fsync it, rename it
 * over the target, fsync the folder. A reader sees the old file or the new one, never half of either; after a
 * crash or SIGKILL the target is intact and at worst a temporary file is left behind.
 *
 * Temporary names are `.<target name>.<pid>.<8 hex>.tmp`: the leading dot keeps them out of listings, the pid lets
 * a later owner tell a dead writer's leftover from a live writer's file (sweepDeadTempFiles), and the suffix is the
 * same shape saveModelSafetensors uses, so its leftovers are recognised too.
 */

const TEMP_RE = /^\..+\.tmp$/;
const TEMP_PID_RE = /\.(\d+)\.[0-9a-f]+\.tmp$/;

/** A fresh temporary path next to `target` (same folder, so the rename stays on one file system). */
export function tempPathFor(target: string): string {
  return join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/** Whether a file name is one of our (or saveModelSafetensors') temporary names. */
export function isTempName(name: string): boolean {
  return TEMP_RE.test(name);
}

/** The writer's pid encoded in a temporary name, or null when the name carries none. */
export function tempNamePid(name: string): number | null {
  if (!isTempName(name)) return null;
  const m = TEMP_PID_RE.exec(name);
  return m ? Number(m[1]) : null;
}

/**
 * Writes `data` to `path` atomically (temp file + fsync + rename + folder fsync). The temporary file is removed
 * when any step fails.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const tmp = tempPathFor(path);
  try {
    // 'wx': never clobber a file that happens to have our random temp name.
    const fh = await open(tmp, 'wx');
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await renameWithRetry(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await fsyncDir(dirname(path));
}

/**
 * Makes a file that a caller already wrote at `tmp` durable and moves it to `target`: fsync, rename, folder fsync.
 * The caller removes `tmp` if this throws.
 */
export async function commitTempFile(tmp: string, target: string): Promise<void> {
  // 'r+': Windows needs write access to flush a file's buffers; POSIX is happy either way.
  const fh = await open(tmp, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
  await renameWithRetry(tmp, target);
  await fsyncDir(dirname(target));
}

/**
 * Persists a rename by fsyncing the folder that holds the entry. POSIX only: Windows cannot open a folder for
 * fsync (and NTFS journals renames itself), so failure here is ignored rather than failing a write that happened.
 */
export async function fsyncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // Best effort; see above.
  }
}

/**
 * rename() with a few short retries on Windows, where a virus scanner or a reader holding the target briefly makes
 * the replace fail with EPERM/EACCES/EBUSY. On POSIX the rename is atomic and those codes are real errors.
 */
export async function renameWithRetry(from: string, to: string): Promise<void> {
  const retries = process.platform === 'win32' ? 8 : 0;
  for (let attempt = 0; ; attempt++) {
    try {
      await rename(from, to);
      return;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (attempt >= retries || !(code === 'EPERM' || code === 'EACCES' || code === 'EBUSY')) throw e;
      await new Promise((r) => setTimeout(r, 10 * 2 ** attempt));
    }
  }
}
