import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import type { RunRecord } from '../core/protocol/run';
import { InputError } from '../core/util/errors';
import type { RunStore } from '../node/store/runStore';

/**
 * Read commands (runs ls/show/export/rm, eval, resume) never create a store: a --store folder that does not exist is
 * a typing mistake to report, not an empty store to make.
 * @throws InputError('--store', ...) when the folder is missing or is a file.
 */
export function requireStoreFolder(dir: string | undefined): void {
  if (dir === undefined) return;
  const abs = path.resolve(dir);
  if (!existsSync(abs)) throw new InputError('--store', `folder ${abs} does not exist`);
  if (!statSync(abs).isDirectory()) throw new InputError('--store', `${abs} is a file, not a folder`);
}

const label = (r: RunRecord): string => (r.name ? `${r.id} (${r.name})` : r.id);

/** Levenshtein distance, for "did you mean". */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return row[b.length];
}

/**
 * The run a user means by `ref`: an exact id, else a run whose name is exactly `ref`, else the one run whose id starts
 * with `ref`. Several matches list the candidates; none suggests the closest ids and names.
 * @throws InputError(field, ...) naming the argument.
 */
export async function resolveRun(store: RunStore, ref: string, field = '<run>'): Promise<string> {
  const { runs } = await store.list();
  if (runs.some((r) => r.id === ref)) return ref;
  const byName = runs.filter((r) => r.name === ref);
  const byPrefix = runs.filter((r) => r.id.startsWith(ref));
  const matches = byName.length ? byName : byPrefix;
  if (matches.length === 1) return matches[0].id;
  if (matches.length > 1) {
    const what = byName.length ? `runs are named "${ref}"` : `run ids start with "${ref}"`;
    const list = `${matches.slice(0, 10).map(label).join(', ')}${matches.length > 10 ? ', …' : ''}`;
    throw new InputError(field, `${matches.length} ${what}: ${list}; give the full id`);
  }
  const scored = runs
    .map((r) => {
      const d = Math.min(distance(ref, r.id.slice(0, ref.length)), r.name ? distance(ref, r.name) : Infinity);
      return { r, d };
    })
    .filter((x) => x.d <= Math.max(2, Math.floor(ref.length / 3)))
    .sort((a, b) => a.d - b.d)
    .slice(0, 3);
  const none = runs.length ? ' (fernn-lab runs ls lists them)' : ' (the store has no runs)';
  const hint = scored.length ? `; did you mean ${scored.map((x) => label(x.r)).join(', ')}?` : none;
  throw new InputError(field, `no run "${ref}" in ${store.root}${hint}`);
}
