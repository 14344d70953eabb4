import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readdir, readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import {
  EVALUATION_KINDS,
  evaluationRecordSchema,
  type CheckpointRef,
  type EvaluationKind,
  type EvaluationRecord,
  type EvaluationSettings,
} from '../../core/protocol/evaluation';
import type { RunRecord } from '../../core/protocol/run';
import { InputError } from '../../core/util/errors';
import { tempPathFor } from './atomicFile';

/**
 * Evaluation records on disk: `<run>/evaluations/<record id>.json`, one file per evaluation, created once and never
 * replaced (written to a temporary file, then hard-linked to its name, which fails rather than overwrite). Record ids
 * start with the creation time, so file order is time order.
 *
 * Old stores kept one file per kind, `<run>/evals/<kind>.json`, overwritten by each evaluation. Those files are read
 * as records (origin 'legacy', or 'training' for the test evaluation training wrote, which says its checkpoint) and
 * left in place: nothing is migrated by rewriting, so nothing can be lost.
 */
export const EVALUATIONS_DIR = 'evaluations';
const LEGACY_DIR = 'evals';
const RECORD_FILE_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}\.json$/;

export type NewEvaluation = Pick<EvaluationRecord, 'kind' | 'origin' | 'checkpoint' | 'settings' | 'result'>;

const STAMP_RE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})Z-/;

/** The creation time (ms) in a record file name, or -Infinity for another name. */
function stampOf(file: string): number {
  const m = STAMP_RE.exec(file);
  return m ? Date.parse(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.${m[7]}Z`) : -Infinity;
}

/** `20261204T114500123Z-test-ab12`: creation time to the millisecond, kind, 4 random hex digits. */
function recordId(kind: EvaluationKind, now: Date): string {
  return `${now.toISOString().replace(/[-:.]/g, '')}-${kind}-${randomBytes(2).toString('hex')}`;
}

/**
 * Adds one evaluation record to a run folder (which must exist).
 * @throws InputError('evaluation.<field>') when the record would not validate.
 */
export async function writeEvaluationRecord(runDir: string, e: NewEvaluation, now: Date = new Date()): Promise<EvaluationRecord> {
  const dir = join(runDir, EVALUATIONS_DIR);
  await mkdir(dir, { recursive: true });
  // Records sort by their time stamp: one made in the same millisecond as the newest (or after a clock step back)
  // takes the next millisecond, so the order on disk is the order of writing.
  const newest = Math.max(-Infinity, ...(await readdir(dir)).map(stampOf));
  if (now.getTime() <= newest) now = new Date(newest + 1);
  for (let attempt = 0; attempt < 16; attempt++) {
    const candidate = { format: 'fernn-lab-evaluation', id: recordId(e.kind, now), created_at: now.toISOString(), ...e };
    const parsed = evaluationRecordSchema.safeParse(JSON.parse(JSON.stringify(candidate)));
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new InputError(`evaluation.${issue.path.map(String).join('.')}`, issue.message);
    }
    const target = join(dir, `${parsed.data.id}.json`);
    const tmp = tempPathFor(target);
    const fh = await open(tmp, 'wx');
    try {
      await fh.writeFile(JSON.stringify(parsed.data, null, 2) + '\n');
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      await link(tmp, target); // never replaces an existing record
      return parsed.data;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    } finally {
      await unlink(tmp).catch(() => undefined);
    }
  }
  throw new Error(`could not find a free evaluation id in ${dir}`);
}

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** What an old-store evaluation file says about its settings, read from its result. */
function legacySettings(kind: EvaluationKind, data: unknown): EvaluationSettings {
  if (kind === 'equivariance') return Array.isArray(data) ? { flows: data.flatMap((r) => (isObj(r) && typeof r.flow === 'string' ? [r.flow] : [])) } : {};
  if (!isObj(data)) return {};
  if (kind === 'length') {
    const first = Object.values(data)[0];
    const lens = Object.keys(data)
      .map(Number)
      .filter((n) => Number.isInteger(n) && n > 0);
    return { ...(isObj(first) && typeof first.sequences === 'number' ? { sequences: first.sequences } : {}), seqLens: lens };
  }
  const out: EvaluationSettings = {};
  if (typeof data.sequences === 'number' && Number.isInteger(data.sequences) && data.sequences > 0) out.sequences = data.sequences;
  const grid = Array.isArray(data.velocities) ? data.velocities : Array.isArray(data.omegas) ? data.omegas : null;
  if (grid && grid.length % 2 === 1) out.velocityRange = (grid.length - 1) / 2;
  return out;
}

/** An old-store evals/<kind>.json as a record; null for a file that is not one of the known kinds. */
async function readLegacy(dir: string, file: string): Promise<EvaluationRecord | null> {
  const kind = file.slice(0, -'.json'.length);
  if (!(EVALUATION_KINDS as readonly string[]).includes(kind)) return null;
  let data: unknown;
  let mtime: Date;
  try {
    data = JSON.parse(await readFile(join(dir, file), 'utf8'));
    mtime = (await stat(join(dir, file))).mtime;
  } catch {
    return null;
  }
  const k = kind as EvaluationKind;
  // Training wrote its test evaluation with the checkpoint it used; later evaluations overwrote it without one.
  let checkpoint: CheckpointRef | null = null;
  let result = data;
  if (isObj(data) && (data.checkpoint === 'best' || data.checkpoint === 'last')) {
    const { checkpoint: which, step, ...rest } = data;
    checkpoint = { which, step: typeof step === 'number' && Number.isInteger(step) && step >= 0 ? step : null };
    result = rest;
  }
  const record = {
    format: 'fernn-lab-evaluation',
    id: `legacy-${k}`,
    kind: k,
    origin: checkpoint && (k === 'test' || k === 'test-accuracy') ? 'training' : 'legacy',
    created_at: mtime.toISOString(),
    checkpoint,
    settings: legacySettings(k, result),
    result,
  };
  const parsed = evaluationRecordSchema.safeParse(record);
  return parsed.success ? parsed.data : null;
}

/**
 * Every evaluation of a run, oldest first: the records, and the files of an old store read as records. Files that
 * are not valid records are skipped and counted (the store is a folder users can edit; one bad file must not hide
 * the others).
 */
export async function readEvaluationRecords(runDir: string): Promise<{ records: EvaluationRecord[]; skipped: number }> {
  const records: EvaluationRecord[] = [];
  let skipped = 0;
  const dir = join(runDir, EVALUATIONS_DIR);
  for (const file of (await readdir(dir).catch(() => [] as string[])).sort()) {
    if (!RECORD_FILE_RE.test(file)) continue;
    try {
      const parsed = evaluationRecordSchema.safeParse(JSON.parse(await readFile(join(dir, file), 'utf8')));
      if (parsed.success && `${parsed.data.id}.json` === file) records.push(parsed.data);
      else skipped++;
    } catch {
      skipped++;
    }
  }
  const legacyDir = join(runDir, LEGACY_DIR);
  for (const file of (await readdir(legacyDir).catch(() => [] as string[])).sort()) {
    if (!RECORD_FILE_RE.test(file)) continue;
    const r = await readLegacy(legacyDir, file);
    if (r) records.push(r);
  }
  records.sort((a, b) => (a.created_at === b.created_at ? (a.id < b.id ? -1 : 1) : a.created_at < b.created_at ? -1 : 1));
  return { records, skipped };
}

/** The newest result of each kind, keyed by kind (the service's RunDetail.evals, kept for older clients). */
export function latestByKind(records: EvaluationRecord[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const r of records) out[r.kind] = r.result;
  return out;
}

/**
 * A run record with the provenance of its headline test figure: runs trained before evaluation records existed
 * have the figure without it, and it can only have come from training's test evaluation (best checkpoint, the run's
 * test sequences), so it is filled in on read.
 */
export function withTestSource(r: RunRecord): RunRecord {
  const res = r.results;
  if (!res || res.testSource !== undefined) return r;
  if (res.testMse == null && res.testAccuracy == null) return r;
  return { ...r, results: { ...res, testSource: { checkpoint: 'best', step: r.progress.bestStep, sequences: r.config.testSequences } } };
}
