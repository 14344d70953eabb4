import { statSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunRecord } from '../../core/protocol/run';
import { SUMMARY_CONFIG_FIELDS, SUMMARY_RECORD_FIELDS, type RunSummary } from '../../core/protocol/runSummary';
import { writeFileAtomic } from './atomicFile';

/**
 * The run store's summary index (issue 16): what the run list shows of each run, keyed by run id and by the version
 * of the run.json it was made from, kept in memory and persisted in `<root>/.fernn-lab-index/summaries.json`.
 *
 * It is never stale: an entry is used only while its run.json has exactly the stat it was read at (inode, size,
 * change and modification times to the nanosecond: every store write replaces run.json by rename, and any other
 * edit changes its times), so a run changed by any process or by hand is read again, a new folder is read, a
 * removed one is dropped. The persisted file only saves the first listing after a start from reading every
 * run.json; a missing, corrupt or foreign index file is ignored and rewritten. A run.json that is not a readable
 * run is remembered as its problem (and listed as such) until the file changes.
 */
export const INDEX_DIR = '.fernn-lab-index';
export const INDEX_FILE = 'summaries.json';
const INDEX_FORMAT = 'fernn-lab-summary-index';
/** What a summary holds: an index written for other fields (another version of the app) is not used. */
const INDEX_FIELDS = `${SUMMARY_RECORD_FIELDS.join(',')};${SUMMARY_CONFIG_FIELDS.join(',')}`;

/** A run as the index knows it: its summary and, for a running run, its owner (to tell a dead one), or its problem. */
export type IndexEntry = { version: string; summary: RunSummary; owner: RunRecord['owner'] } | { version: string; problem: string };

export const indexPath = (root: string): string => join(root, INDEX_DIR, INDEX_FILE);

/** The persisted index, or an empty one when the file is missing, unreadable, corrupt or of another format. */
export async function readSummaryIndex(root: string): Promise<Map<string, IndexEntry>> {
  const entries = new Map<string, IndexEntry>();
  let json: unknown;
  try {
    json = JSON.parse(await readFile(indexPath(root), 'utf8'));
  } catch {
    return entries;
  }
  if (!isObject(json) || json.format !== INDEX_FORMAT || json.fields !== INDEX_FIELDS || !isObject(json.runs)) return entries;
  for (const [id, e] of Object.entries(json.runs)) if (isEntry(id, e)) entries.set(id, 'summary' in e ? { ...e, summary: deepFreeze(e.summary) } : e);
  return entries;
}

/**
 * The summary, frozen with everything in it. The index's summaries are shared by every listing (never copied), so
 * nothing may change one in place; frozen, they also let the web host reuse the text it wrote for them
 * (core/protocol/packedJson.ts).
 */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** Writes the index atomically (a reader sees the old file or the new one). */
export async function writeSummaryIndex(root: string, entries: ReadonlyMap<string, IndexEntry>): Promise<void> {
  // Not recursive: a store removed meanwhile is not made again.
  await mkdir(join(root, INDEX_DIR)).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'EEXIST') throw e;
  });
  await writeFileAtomic(indexPath(root), JSON.stringify({ format: INDEX_FORMAT, fields: INDEX_FIELDS, runs: Object.fromEntries(entries) }));
}

/**
 * The version of each run's run.json (null: none, or not a file). Synchronous stats in slices, yielding between
 * them: 5,000 stats through the thread pool cost several times what they cost inline. Small slices (a few ms each)
 * let the web host answer the page's requests for its scripts while it lists (issue 16).
 */
export async function runJsonVersions(root: string, ids: readonly string[], runFile: string, slice = 125): Promise<(string | null)[]> {
  const out: (string | null)[] = [];
  for (let s = 0; s < ids.length; s += slice) {
    if (s > 0) await new Promise((resolve) => setImmediate(resolve));
    for (const id of ids.slice(s, s + slice)) {
      try {
        const st = statSync(join(root, id, runFile), { bigint: true, throwIfNoEntry: false });
        out.push(st?.isFile() ? `${st.ino}:${st.size}:${st.ctimeNs}:${st.mtimeNs}` : null);
      } catch {
        out.push(null);
      }
    }
  }
  return out;
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** Enough of an entry's shape that the list cannot break on it; its version decides whether it is used at all. */
function isEntry(id: string, e: unknown): e is IndexEntry {
  if (!isObject(e) || typeof e.version !== 'string') return false;
  if (typeof e.problem === 'string') return true;
  const s = e.summary;
  return (
    isObject(s) &&
    s.id === id &&
    typeof s.status === 'string' &&
    typeof s.createdAt === 'string' &&
    isObject(s.progress) &&
    isObject(s.config) &&
    (e.owner === null || isObject(e.owner))
  );
}
