import { randomBytes } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { mkdir, open, readdir, readFile, rm, stat, type FileHandle } from 'node:fs/promises';
import { homedir, hostname } from 'node:os';
import { isAbsolute, join, relative, resolve } from 'node:path';
import type { z } from 'zod';
import {
  metricRecordSchema,
  runRecordSchema,
  type EndReason,
  type MetricRecord,
  type RunRecord,
  type RunStatus,
  type TrainConfig,
} from '../../core/protocol/run';
import { InputError } from '../../core/util/errors';
import { isTempName, renameWithRetry, tempNamePid, tempPathFor, writeFileAtomic } from './atomicFile';
import { runsToCsv, runsToJson, runsToLongCsv, type RunExport } from './runExport';
import { exportableEvals } from '../../core/protocol/paperExport';
import { effectiveRecord, effectiveStatus, ownerAlive, pidAlive } from './runOwner';
import { INDEX_DIR, deepFreeze, readSummaryIndex, runJsonVersions, writeSummaryIndex, type IndexEntry } from './summaryIndex';
import { toRunSummary, type RunSummary } from '../../core/protocol/runSummary';
import { EVALUATIONS_DIR, latestByKind, readEvaluationRecords, withTestSource, writeEvaluationRecord, type NewEvaluation } from './evaluations';
import type { EvaluationRecord } from '../../core/protocol/evaluation';

/**
 * The file run store: one folder per run under a root folder.
 *
 *   <root>/<id>/run.json                 RunRecord, replaced atomically on every update
 *   <root>/<id>/metrics.jsonl            MetricRecord per line, append-only, fdatasync'ed per record
 *   <root>/<id>/checkpoints/last.safetensors, best.safetensors   weights (+ loop state in last's metadata),
 *                                        written to a temp file and renamed
 *   <root>/<id>/checkpoints/last.optimizer.safetensors   the optimizer state of last (optimizerPath), for an exact
 *                                        resume; written before last, and tagged with its step
 *   <root>/<id>/evaluations/<eval id>.json   one record per evaluation, never replaced (evaluations.ts)
 *   <root>/<id>/evals/<name>.json        old stores: the latest evaluation per kind, read as records
 *
 * Crash safety: every file is either replaced by rename or appended to, so a SIGKILL at any moment leaves a
 * readable run. Its run.json still says 'running', which readers turn into 'interrupted' once the owner process is
 * gone (runOwner.ts); claim() lets a new process take it over and resume from checkpoints/last.safetensors.
 *
 * Concurrency: run.json writes are serialised per run inside this process (all RunStore instances share the
 * lanes), so concurrent update() calls never lose each other's changes. Across processes there is no lock: the
 * owner (the training worker) is expected to be the only writer of a running run; readers in any process are safe
 * because they only ever see whole files.
 */

export const RUN_FILE = 'run.json';
export const METRICS_FILE = 'metrics.jsonl';
export const CHECKPOINTS_DIR = 'checkpoints';
export const EVALS_DIR = 'evals';
export const CHECKPOINT_KINDS = ['last', 'best'] as const;
export type CheckpointKind = (typeof CHECKPOINT_KINDS)[number];

/** Files an OS drops into any folder; not worth reporting as foreign entries of the store. */
const OS_CLUTTER = new Set(['.DS_Store', 'Thumbs.db', 'desktop.ini']);
/** Bounds open files when listing a store with thousands of runs. */
const LIST_CONCURRENCY = 32;
const CREATE_ATTEMPTS = 32;

export interface CreateRunOptions {
  config: TrainConfig;
  name?: string;
  seeds: { init: number; data: number };
  params: number;
  versions: Record<string, string>;
  /** A given run id (a sweep member's): created once; an existing folder is an error. Default: a fresh random id. */
  id?: string;
  /** The sweep and member that own this run. */
  sweep?: { id: string; index: number };
  /** The checkpoint and data files the run reads, with their hashes. */
  sources?: RunRecord['sources'];
}

/** A store entry that is not a readable run, with why; list() reports these instead of failing. */
export interface StoreProblem {
  dir: string;
  reason: string;
}

/** readMetrics(): the valid records in file order, and how many non-empty lines were invalid and skipped. */
export interface MetricsRead {
  records: MetricRecord[];
  skipped: number;
}

/**
 * Validates a run id: the id pattern of runRecordSchema, and not starting with '.', which also rules out '.' and
 * '..' (the pattern allows dots) and keeps ids apart from temporary names.
 * @throws InputError('run', ...)
 */
export function validateRunId(id: unknown): string {
  if (typeof id !== 'string' || id.length === 0) throw new InputError('run', 'a run id must be a non-empty string');
  if (!runRecordSchema.shape.id.safeParse(id).success || id.startsWith('.')) {
    throw new InputError('run', `invalid run id ${JSON.stringify(id)}: use 1-128 of A-Z a-z 0-9 . _ - , not starting with '.'`);
  }
  return id;
}

/** `20261127-091500-fernn-v1-ab12`: UTC time to the second, model and vRange, 4 random hex digits. */
export function makeRunId(config: Pick<TrainConfig, 'model' | 'vRange'>, now: Date = new Date()): string {
  const iso = now.toISOString();
  const stamp = `${iso.slice(0, 10).replaceAll('-', '')}-${iso.slice(11, 19).replaceAll(':', '')}`;
  return `${stamp}-${config.model}-v${config.vRange}-${randomBytes(2).toString('hex')}`;
}

/** What `exportRuns` writes (runs export --format). */
export const EXPORT_FORMATS = ['csv', 'json', 'curves', 'grids'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export class RunStore {
  readonly root: string;
  /**
   * list()'s summary cache: each run.json already read and validated, with the stat that names that version of the
   * file (inode, size, change and modification times to the nanosecond; every write replaces the file by rename).
   * Listing 5,000 runs then reads and validates only the files that changed since the last list (issue 16).
   */
  private readonly listCache = new Map<string, { version: string; record: RunRecord }>();

  /** `$FERNN_LAB_STORE` when set, else ~/.fernn-lab/runs. The CLI's --store and the app's data folder override it. */
  static defaultRoot(): string {
    const env = process.env.FERNN_LAB_STORE;
    return env ? resolve(env) : join(homedir(), '.fernn-lab', 'runs');
  }

  /**
   * listSummaries()'s index (summaryIndex.ts): null until the persisted one is read. It is written back, after a
   * listing that changed it, only for stores of at least `indexMinRuns` runs (a small store reads fast anyway, and
   * keeps no extra folder).
   */
  private summaryIndex: Map<string, IndexEntry> | null = null;
  private readonly indexMinRuns: number;
  private indexWrite: { timer: NodeJS.Timeout; due: number; done: Promise<void>; fire: () => void } | null = null;
  private indexWriting: Promise<void> = Promise.resolve();

  constructor(root: string, opts: { indexMinRuns?: number } = {}) {
    this.root = resolve(root);
    this.indexMinRuns = opts.indexMinRuns ?? 200;
  }

  /** Creates the root folder (and parents) if missing. */
  async init(): Promise<void> {
    await mkdir(this.root, { recursive: true });
  }

  /** The folder of a run; the id is validated so the path cannot leave the root. */
  runDir(id: string): string {
    return join(this.root, validateRunId(id));
  }

  /**
   * Creates a queued run: a new folder (never an existing one: mkdir without `recursive` fails on EEXIST and we
   * draw another id), empty metrics.jsonl, checkpoints/, evals/, and run.json written last, so a folder with a
   * run.json is always complete.
   * @throws InputError naming the field when the record would not validate (config, name, seeds, ...).
   */
  async create(opts: CreateRunOptions): Promise<RunRecord> {
    await this.init();
    const now = new Date();
    const stamp = now.toISOString();
    const attempts = opts.id === undefined ? CREATE_ATTEMPTS : 1;
    for (let attempt = 0; attempt < attempts; attempt++) {
      const id = opts.id === undefined ? makeRunId(opts.config, now) : validateRunId(opts.id);
      const record = parseOrThrow({
        format: 'fernn-lab-run',
        formatVersion: 1,
        id,
        ...(opts.name !== undefined ? { name: opts.name } : {}),
        ...(opts.sweep !== undefined ? { sweep: opts.sweep } : {}),
        ...(opts.sources !== undefined ? { sources: opts.sources } : {}),
        createdAt: stamp,
        updatedAt: stamp,
        status: 'queued',
        config: opts.config,
        seeds: opts.seeds,
        backend: null,
        versions: opts.versions,
        params: opts.params,
        owner: null,
        progress: { step: 0, epoch: 0, lastTrainLoss: null, bestValMse: null, bestStep: null, checkpointStep: null },
        timings: { startedAt: null, endedAt: null, trainMs: 0, msPerStepMedian: null },
      });
      const dir = join(this.root, id);
      try {
        await mkdir(dir);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
          if (opts.id !== undefined) throw new InputError('run', `run ${id} already exists`);
          continue;
        }
        throw e;
      }
      try {
        await mkdir(join(dir, CHECKPOINTS_DIR));
        await mkdir(join(dir, EVALS_DIR));
        await (await open(join(dir, METRICS_FILE), 'wx')).close();
        await writeFileAtomic(join(dir, RUN_FILE), serialise(record));
      } catch (e) {
        await rm(dir, { recursive: true, force: true }).catch(() => undefined);
        throw e;
      }
      return record;
    }
    throw new Error(`could not find a free run id in ${this.root} after ${CREATE_ATTEMPTS} tries`);
  }

  /**
   * The run's record with its effective status (a 'running' run whose owner is gone reads as 'interrupted';
   * nothing is written back).
   * @throws InputError('run', 'no run <id>') when missing; InputError('run', '<path>: ...') when run.json is corrupt.
   */
  async get(id: string): Promise<RunRecord> {
    return withTestSource(effectiveRecord(await this.readStored(id)));
  }

  /** The entries of the store's folder; null when it does not exist (an empty store). */
  private async rootEntries(): Promise<Dirent[] | null> {
    try {
      return await readdir(this.root, { withFileTypes: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
  }

  /**
   * Every run in the store, newest first (createdAt, then id, descending), with effective statuses. Anything that
   * is not a readable run (a stray file, a leftover temp file, a folder without run.json, invalid JSON, another
   * format, a schema mismatch, an id that does not match its folder) is reported in `problems` and skipped; a
   * missing root is an empty store. Unchanged run.json files are not read again (listCache); the records are
   * shared with that cache, so callers treat them as read-only.
   */
  async list(): Promise<{ runs: RunRecord[]; problems: StoreProblem[] }> {
    const entries = await this.rootEntries();
    if (!entries) return { runs: [], problems: [] };
    const runs: RunRecord[] = [];
    const { candidates, problems } = this.classify(entries);
    const now = Date.now();
    const listed = new Set(candidates);
    for (const id of this.listCache.keys()) if (!listed.has(id)) this.listCache.delete(id);
    await forEachLimit(candidates, LIST_CONCURRENCY, async (id) => {
      const version = await stat(join(this.root, id, RUN_FILE), { bigint: true }).then(
        (st) => (st.isFile() ? `${st.ino}:${st.size}:${st.ctimeNs}:${st.mtimeNs}` : null),
        () => null,
      );
      const cached = version === null ? undefined : this.listCache.get(id);
      let record: RunRecord;
      if (cached && cached.version === version) record = cached.record;
      else {
        const read = await readRunJson(join(this.root, id), id);
        if (!read.ok) {
          this.listCache.delete(id);
          problems.push({ dir: join(this.root, id), reason: read.reason });
          return;
        }
        record = read.record;
        if (version !== null) this.listCache.set(id, { version, record });
      }
      runs.push(withTestSource(effectiveRecord(record, now)));
    });
    runs.sort((a, b) => (a.createdAt === b.createdAt ? cmp(b.id, a.id) : cmp(b.createdAt, a.createdAt)));
    problems.sort((a, b) => cmp(a.dir, b.dir));
    return { runs, problems };
  }

  /** The root's entries: the run folders to read, and what is not a run folder (reported as a problem). */
  private classify(entries: Dirent[]): { candidates: string[]; problems: StoreProblem[] } {
    const problems: StoreProblem[] = [];
    const candidates: string[] = [];
    for (const ent of entries) {
      const dir = join(this.root, ent.name);
      if (OS_CLUTTER.has(ent.name) || (ent.name === INDEX_DIR && ent.isDirectory())) continue;
      if (isTempName(ent.name)) problems.push({ dir, reason: 'leftover temporary entry from an interrupted write or delete' });
      else if (ent.isSymbolicLink()) problems.push({ dir, reason: 'a symbolic link, not a run folder' });
      else if (!ent.isDirectory()) problems.push({ dir, reason: 'a file, not a run folder' });
      else if (!isValidRunId(ent.name)) problems.push({ dir, reason: 'folder name is not a run id' });
      else candidates.push(ent.name);
    }
    return { candidates, problems };
  }

  /**
   * What the run list shows (issue 16): every run's summary (core/protocol/runSummary.ts), newest first, with
   * effective statuses, and the store's problems, as list() reports them. Read from the summary index
   * (summaryIndex.ts): only the run.json files whose stat changed since they were last read are read, so a listing
   * is one stat per run; a run changed on disk, by any process, is read again. Listings of one store run one after
   * another (a listing asked for during another one starts after it, on the index it leaves). The summaries are
   * shared with the index: callers treat them as read-only.
   */
  listSummaries(): Promise<{ runs: RunSummary[]; problems: StoreProblem[] }> {
    return inLane(`list:${this.root}`, () => this.listSummariesNow());
  }

  private async listSummariesNow(): Promise<{ runs: RunSummary[]; problems: StoreProblem[] }> {
    const entries = await this.rootEntries();
    if (!entries) return { runs: [], problems: [] };
    const { candidates, problems } = this.classify(entries);
    const index = (this.summaryIndex ??= await readSummaryIndex(this.root));
    let changed = 0;
    const listed = new Set(candidates);
    for (const id of index.keys())
      if (!listed.has(id)) {
        index.delete(id);
        changed++;
      }
    const versions = await runJsonVersions(this.root, candidates, RUN_FILE);
    const stale = candidates.flatMap((id, i) => (versions[i] === null || index.get(id)?.version !== versions[i] ? [i] : []));
    /** Entries of runs whose run.json has no version (none, or not a file): they are read again next time. */
    const unversioned = new Map<string, IndexEntry>();
    await forEachLimit(stale, LIST_CONCURRENCY, async (i) => {
      const id = candidates[i];
      // The version is taken before the read: a write in between makes the entry stale, never wrongly current.
      const version = versions[i];
      const read = await readRunJson(join(this.root, id), id);
      const entry: IndexEntry = read.ok
        ? {
            version: version ?? '',
            summary: deepFreeze(toRunSummary(withTestSource(read.record))),
            owner: read.record.status === 'running' ? read.record.owner : null,
          }
        : { version: version ?? '', problem: read.reason };
      changed++;
      if (version === null) {
        index.delete(id);
        unversioned.set(id, entry);
      } else index.set(id, entry);
    });
    const now = Date.now();
    const runs: RunSummary[] = [];
    for (const id of candidates) {
      const e = unversioned.get(id) ?? index.get(id);
      if (!e) continue;
      if ('problem' in e) problems.push({ dir: join(this.root, id), reason: e.problem });
      else runs.push(effectiveStatus(e.summary, e.owner, now));
    }
    runs.sort((a, b) => (a.createdAt === b.createdAt ? cmp(b.id, a.id) : cmp(b.createdAt, a.createdAt)));
    problems.sort((a, b) => cmp(a.dir, b.dir));
    // Many changes (a first listing, runs copied in) are persisted at once; a few (a run training) now and then.
    if (changed > 0 && index.size >= this.indexMinRuns) this.scheduleIndexWrite(changed >= 100 ? 1000 : 60_000);
    return { runs, problems };
  }

  /**
   * Persists the index `delayMs` after a listing changed it (one write for the changes meanwhile), in the background;
   * a pending write due later is brought forward.
   */
  private scheduleIndexWrite(delayMs: number): void {
    const due = Date.now() + delayMs;
    if (this.indexWrite) {
      if (this.indexWrite.due <= due) return;
      clearTimeout(this.indexWrite.timer);
      this.indexWrite.timer = setTimeout(this.indexWrite.fire, delayMs);
      this.indexWrite.timer.unref();
      this.indexWrite.due = due;
      return;
    }
    let fire!: () => void;
    const done = new Promise<void>((resolveDone) => {
      fire = () => {
        if (this.indexWrite) clearTimeout(this.indexWrite.timer);
        this.indexWrite = null;
        const index = this.summaryIndex;
        this.indexWriting = this.indexWriting
          .then(() => (index ? writeSummaryIndex(this.root, index) : undefined))
          .catch(() => undefined)
          .then(resolveDone);
      };
    });
    const timer = setTimeout(fire, delayMs);
    timer.unref();
    this.indexWrite = { timer, due, done, fire };
  }

  /** Writes a pending index change now (tests; a clean shutdown). */
  async flushIndex(): Promise<void> {
    const pending = this.indexWrite;
    if (pending) {
      pending.fire();
      await pending.done;
    }
    await this.indexWriting;
  }

  /**
   * Read-modify-write of run.json: `patch` gets a copy of the stored record (stored status, not the effective
   * one) and returns the new record, which is validated, stamped with updatedAt and written atomically. Updates of
   * one run from this process run one after another, so none is lost. A patch may throw to abort.
   * @returns the record as written.
   */
  async update(id: string, patch: (r: RunRecord) => RunRecord): Promise<RunRecord> {
    const dir = this.runDir(id);
    return inLane(`run:${dir}`, async () => {
      const current = await this.readStored(id);
      const next = patch(structuredClone(current));
      if (next.id !== current.id) throw new InputError('run', `an update cannot change the id (${current.id} -> ${next.id})`);
      const record = parseOrThrow({ ...next, updatedAt: new Date().toISOString() });
      await writeFileAtomic(join(dir, RUN_FILE), serialise(record));
      return record;
    });
  }

  /**
   * Appends one metric line. Each call opens metrics.jsonl for append, writes the line, fdatasyncs and closes:
   * chosen over a long-lived fd per run because there is nothing to leak or close on remove/exit, and the open is
   * cheap next to the fdatasync the "flushed when written" rule needs anyway. Appends of one run are serialised
   * in this process so lines land in call order. A last line left without its newline by a killed writer is
   * terminated first, so the new record is not glued onto the garbage (readMetrics skips the garbled line).
   * @throws InputError('metric', ...) for an invalid record; InputError('run', 'no run <id>') when missing.
   */
  async appendMetric(id: string, rec: MetricRecord): Promise<void> {
    const dir = this.runDir(id);
    const parsed = metricRecordSchema.safeParse(rec);
    if (!parsed.success) throw zodToInputError('metric', parsed.error);
    const line = Buffer.from(JSON.stringify(parsed.data) + '\n');
    await inLane(`metrics:${dir}`, async () => {
      let fh: FileHandle;
      try {
        // 'a+' rather than 'a' so the last byte can be read through the same fd.
        fh = await open(join(dir, METRICS_FILE), 'a+');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new InputError('run', `no run ${id}`);
        throw e;
      }
      try {
        const { size } = await fh.stat();
        let data = line;
        if (size > 0) {
          const last = Buffer.alloc(1);
          await fh.read(last, 0, 1, size - 1);
          if (last[0] !== 0x0a) data = Buffer.concat([Buffer.from('\n'), line]);
        }
        // O_APPEND writes go to the end regardless of position; loop in case the kernel takes a partial write.
        for (let off = 0; off < data.length;) off += (await fh.write(data, off, data.length - off)).bytesWritten;
        await fh.datasync();
      } finally {
        await fh.close();
      }
    });
  }

  /**
   * All valid metric records in file order. Tolerates what a kill mid-write leaves (a truncated or garbled last
   * line) and any other invalid line: such lines are skipped and counted in `skipped`; blank lines are ignored.
   * A missing metrics.jsonl in an existing run reads as empty.
   * @throws InputError('run', 'no run <id>') when the run folder is missing.
   */
  async readMetrics(id: string): Promise<MetricsRead> {
    const dir = this.runDir(id);
    let text: string;
    try {
      text = await readFile(join(dir, METRICS_FILE), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      await this.assertRunFolder(id);
      return { records: [], skipped: 0 };
    }
    const records: MetricRecord[] = [];
    let skipped = 0;
    for (const raw of text.split('\n')) {
      const line = raw.trim();
      if (line === '') continue;
      let json: unknown;
      try {
        json = JSON.parse(line);
      } catch {
        skipped++;
        continue;
      }
      const parsed = metricRecordSchema.safeParse(json);
      if (parsed.success) records.push(parsed.data);
      else skipped++;
    }
    return { records, skipped };
  }

  /** checkpoints/<which>.safetensors of a run (the path may not exist yet). */
  checkpointPath(id: string, which: CheckpointKind): string {
    if (!(CHECKPOINT_KINDS as readonly string[]).includes(which))
      throw new InputError('checkpoint', `which must be one of ${CHECKPOINT_KINDS.join(', ')}; got ${JSON.stringify(which)}`);
    return join(this.runDir(id), CHECKPOINTS_DIR, `${which}.safetensors`);
  }

  /** checkpoints/last.optimizer.safetensors of a run: the optimizer state belonging to checkpoints/last. */
  optimizerPath(id: string): string {
    return join(this.runDir(id), CHECKPOINTS_DIR, 'last.optimizer.safetensors');
  }

  /**
   * The one way a resume point is written (training job): the optimizer state first, then the weights as `last`
   * (and `best` when they are the best so far), each atomically (temp + fsync + rename). A crash in between leaves
   * the previous `last` with an optimizer file of a newer step, which the resume detects by its step tag.
   * @throws InputError('run', ...) for no run.
   */
  async writeResumePoint(id: string, point: { weights: Uint8Array; optimizer: Uint8Array; best: boolean }): Promise<void> {
    await this.assertRunFolder(id);
    await mkdirIfMissing(join(this.runDir(id), CHECKPOINTS_DIR));
    await writeFileAtomic(this.optimizerPath(id), point.optimizer);
    await writeFileAtomic(this.checkpointPath(id, 'last'), point.weights);
    if (point.best) await writeFileAtomic(this.checkpointPath(id, 'best'), point.weights);
  }

  /**
   * Atomic write (temp + fsync + rename) of a file inside the store.
   * @throws InputError('path', ...) for a path outside the root.
   */
  async writeFileAtomic(path: string, bytes: Uint8Array | string): Promise<void> {
    const abs = resolve(path);
    const rel = relative(this.root, abs);
    if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) throw new InputError('path', `${path} is outside the run store ${this.root}`);
    await writeFileAtomic(abs, bytes);
  }

  /**
   * Adds an evaluation record to a run; earlier records are never replaced.
   * @throws InputError('run', 'no run <id>') when missing; InputError('evaluation.<field>') for an invalid record.
   */
  async addEvaluation(id: string, e: NewEvaluation): Promise<EvaluationRecord> {
    await this.assertRunFolder(id);
    return writeEvaluationRecord(this.runDir(id), e);
  }

  /** Every evaluation of a run, oldest first, old-store files included (evaluations.ts). */
  async readEvaluations(id: string): Promise<EvaluationRecord[]> {
    await this.assertRunFolder(id);
    return (await readEvaluationRecords(this.runDir(id))).records;
  }

  /**
   * Deletes a run. The folder is first renamed to a temporary name, so a delete cut short leaves a leftover that
   * list() reports rather than a half-deleted run. Only folders with a valid run.json are removed: anything else
   * in the store may be foreign data, to be removed by hand.
   * @throws InputError('run', 'is running; stop it first') while the owner process is alive.
   */
  async remove(id: string): Promise<void> {
    const dir = this.runDir(id);
    await inLane(`run:${dir}`, async () => {
      const r = effectiveRecord(await this.readStored(id));
      if (r.status === 'running') throw new InputError('run', `${id} is running; stop it first`);
      const doomed = tempPathFor(dir);
      try {
        await renameWithRetry(dir, doomed);
      } catch {
        // Windows refuses to rename a folder with open files; delete in place then.
        await rm(dir, { recursive: true, force: true });
        return;
      }
      await rm(doomed, { recursive: true, force: true });
    });
  }

  /**
   * Makes `pid` (this process by default) the owner of a run and marks it running: from queued, or to resume an
   * interrupted/ended run. Clears endReason/endMessage/endedAt, keeps the first startedAt, and removes temporary
   * files left by dead writers in the run's folders.
   * @throws InputError('run', ...) when another live process owns it.
   */
  async claim(id: string, pid: number = process.pid): Promise<RunRecord> {
    if (!Number.isSafeInteger(pid) || pid <= 0) throw new InputError('pid', `must be a positive integer; got ${pid}`);
    const host = hostname();
    const record = await this.update(id, (r) => {
      if (r.status === 'running' && r.owner && !(r.owner.pid === pid && r.owner.host === host) && ownerAlive(r.owner)) {
        throw new InputError('run', `${id} is running in process ${r.owner.pid} on ${r.owner.host}; stop it first`);
      }
      const now = new Date().toISOString();
      const { endReason: _reason, endMessage: _message, ...rest } = r;
      return {
        ...rest,
        status: 'running',
        owner: { pid, host, heartbeatAt: now },
        timings: { ...r.timings, startedAt: r.timings.startedAt ?? now, endedAt: null },
      };
    });
    await this.sweepDeadTempFiles(id);
    return record;
  }

  /**
   * Refreshes the owner's heartbeat (what other hosts use to tell a live run from a dead one), with the training's
   * latest progress in the same write (the training job calls it every few seconds).
   */
  async heartbeat(id: string, progress: Partial<RunRecord['progress']> = {}): Promise<RunRecord> {
    return this.update(id, (r) => {
      if (!r.owner) throw new InputError('run', `${id} has no owner; claim it first`);
      return { ...r, progress: { ...r.progress, ...progress }, owner: { ...r.owner, heartbeatAt: new Date().toISOString() } };
    });
  }

  /**
   * Ends ownership: sets the final status (and endReason/endMessage, cleared when not given), clears the owner and
   * stamps timings.endedAt.
   * @throws InputError('status', ...) for 'running' (use claim()).
   */
  async release(id: string, status: RunStatus, endReason?: EndReason, endMessage?: string): Promise<RunRecord> {
    if (status === 'running') throw new InputError('status', 'release() ends a run; use claim() to mark it running');
    return this.update(id, (r) => {
      const { endReason: _reason, endMessage: _message, ...rest } = r;
      return {
        ...rest,
        status,
        ...(endReason !== undefined ? { endReason } : {}),
        ...(endMessage !== undefined ? { endMessage } : {}),
        owner: null,
        timings: { ...r.timings, endedAt: new Date().toISOString() },
      };
    });
  }

  /**
   * Exports runs with their metrics. 'json': a JSON array of {run, metrics}; 'csv': one row per metric record,
   * columns CSV_COLUMNS (runExport.ts); 'curves' and 'grids': long format for papers, with the newest evaluation of
   * each kind (runsToLongCsv). Runs appear in the order of `ids`; records with effective statuses.
   */
  async exportRuns(ids: string[], format: ExportFormat): Promise<string> {
    if (!EXPORT_FORMATS.includes(format)) throw new InputError('format', `must be ${EXPORT_FORMATS.join(', ')}; got ${JSON.stringify(format)}`);
    const runs: RunExport[] = [];
    for (const id of ids) runs.push({ run: await this.get(id), metrics: (await this.readMetrics(id)).records });
    if (format === 'csv') return runsToCsv(runs);
    if (format === 'json') return runsToJson(runs);
    const paper = [];
    for (const r of runs) paper.push({ ...r, evals: exportableEvals(latestByKind(await this.readEvaluations(r.run.id))) });
    return runsToLongCsv(format, paper);
  }

  /** The stored record (status as written), validated. */
  private async readStored(id: string): Promise<RunRecord> {
    const dir = this.runDir(id);
    const read = await readRunJson(dir, id);
    if (read.ok) return read.record;
    if (read.missing === 'folder') throw new InputError('run', `no run ${id}`);
    throw new InputError('run', `${join(dir, RUN_FILE)}: ${read.reason}`);
  }

  private async assertRunFolder(id: string): Promise<void> {
    try {
      if ((await stat(this.runDir(id))).isDirectory()) return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    throw new InputError('run', `no run ${id}`);
  }

  /**
   * Removes temporary files whose writer pid is no longer alive on this host (a kill mid-write). Only called by
   * the new owner in claim(), when no one else should be writing the run; live writers' files are left alone.
   */
  private async sweepDeadTempFiles(id: string): Promise<void> {
    const dir = this.runDir(id);
    for (const sub of [dir, join(dir, CHECKPOINTS_DIR), join(dir, EVALS_DIR), join(dir, EVALUATIONS_DIR)]) {
      let names: string[];
      try {
        names = await readdir(sub);
      } catch {
        continue;
      }
      for (const name of names) {
        const pid = tempNamePid(name);
        if (pid !== null && !pidAlive(pid)) await rm(join(sub, name), { recursive: true, force: true }).catch(() => undefined);
      }
    }
  }
}

type RunJsonRead = { ok: true; record: RunRecord } | { ok: false; missing?: 'folder' | 'file'; reason: string };

/** Reads and validates <dir>/run.json, returning why it is not a run instead of throwing. */
async function readRunJson(dir: string, id: string): Promise<RunJsonRead> {
  let text: string;
  try {
    text = await readFile(join(dir, RUN_FILE), 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      const folder = await stat(dir).then(
        (s) => s.isDirectory(),
        () => false,
      );
      return folder
        ? { ok: false, missing: 'file', reason: `no ${RUN_FILE} (not a run folder, or a run still being created)` }
        : { ok: false, missing: 'folder', reason: 'no such run folder' };
    }
    if (code === 'EISDIR') return { ok: false, reason: `${RUN_FILE} is a folder, not a file` };
    return { ok: false, reason: `cannot read ${RUN_FILE}: ${(e as Error).message}` };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return { ok: false, reason: `${RUN_FILE} is not valid JSON (${(e as Error).message})` };
  }
  if (typeof json !== 'object' || json === null || (json as { format?: unknown }).format !== 'fernn-lab-run') {
    const format = typeof json === 'object' && json !== null ? (json as { format?: unknown }).format : undefined;
    return { ok: false, reason: `${RUN_FILE} is not a fernn-lab run (format ${JSON.stringify(format ?? null)}, expected "fernn-lab-run")` };
  }
  const parsed = runRecordSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, reason: `${RUN_FILE} does not match the run schema: ${issuePath(issue) || '(root)'}: ${issue.message}` };
  }
  if (parsed.data.id !== id) return { ok: false, reason: `${RUN_FILE} has id ${JSON.stringify(parsed.data.id)}, but the folder is ${JSON.stringify(id)}` };
  return { ok: true, record: parsed.data };
}

function isValidRunId(id: string): boolean {
  try {
    validateRunId(id);
    return true;
  } catch {
    return false;
  }
}

function serialise(r: RunRecord): string {
  return JSON.stringify(r, null, 2) + '\n';
}

function issuePath(issue: { path: readonly PropertyKey[] }): string {
  return issue.path.map(String).join('.');
}

function zodToInputError(prefix: string, err: z.ZodError): InputError {
  const issue = err.issues[0];
  const path = issuePath(issue);
  return new InputError(path ? `${prefix}.${path}` : prefix, issue.message);
}

/** Validates a whole record before it is written; the error names the failing field (e.g. run.config.vRange). */
function parseOrThrow(candidate: unknown): RunRecord {
  const parsed = runRecordSchema.safeParse(candidate);
  if (!parsed.success) throw zodToInputError('run', parsed.error);
  return parsed.data;
}

async function mkdirIfMissing(dir: string): Promise<void> {
  try {
    await mkdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

async function forEachLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * Per-key promise chains shared by every RunStore in the process (keyed by absolute path, so two instances on
 * one root still serialise). Each task starts after the previous one settles, whatever its outcome.
 */
const lanes = new Map<string, Promise<unknown>>();

function inLane<T>(key: string, task: () => Promise<T>): Promise<T> {
  const prev = lanes.get(key) ?? Promise.resolve();
  const run = prev.then(task);
  const tail = run.catch(() => undefined);
  lanes.set(key, tail);
  void tail.then(() => {
    if (lanes.get(key) === tail) lanes.delete(key);
  });
  return run;
}
