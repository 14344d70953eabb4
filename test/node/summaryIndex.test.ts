import { mkdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { toRunSummary } from '../../src/core/protocol/runSummary';
import { RunStore } from '../../src/node/store/runStore';
import { INDEX_DIR, indexPath } from '../../src/node/store/summaryIndex';
import { writeManyRuns } from '../helpers/manyRuns';
import { removeRunStore, tempRunStore } from '../helpers/runStore';

/**
 * The run list's summary index (issue 16): listSummaries() answers what list() does, as summaries, reading only the
 * run.json files that changed; the index persisted for the next start is never trusted over the files.
 */
let store: RunStore;
beforeEach(async () => {
  store = await tempRunStore('fernn-index-');
});
afterEach(async () => {
  await removeRunStore(store);
});

/** A second RunStore on the same folder, as after a restart: it starts from the persisted index. */
const restarted = () => new RunStore(store.root, { indexMinRuns: 1 });
const names = async (s: RunStore) => (await s.listSummaries()).runs.map((r) => r.name);
const runFile = (id: string) => join(store.root, id, 'run.json');

/** Rewrites a run's name in its run.json in place (no rename, same length: only the times tell it changed). */
async function renameOnDisk(id: string, from: string, to: string): Promise<void> {
  const text = await readFile(runFile(id), 'utf8');
  expect(text).toContain(`"name": "${from}"`);
  await writeFile(runFile(id), text.replace(`"name": "${from}"`, `"name": "${to}"`));
}

describe('listSummaries', () => {
  it('gives the summaries of what list() gives, in the same order, with the same problems', async () => {
    await writeManyRuns(store.root, 30);
    await mkdir(join(store.root, 'empty-folder'));
    await writeFile(join(store.root, 'stray.txt'), 'x');
    const records = await store.list();
    const summaries = await store.listSummaries();
    expect(summaries.runs).toEqual(records.runs.map(toRunSummary));
    expect(summaries.problems).toEqual(records.problems);
    // Served from the index the second time, still the same.
    expect(await store.listSummaries()).toEqual(summaries);
  });

  it('sees a run changed on disk: through the store, rewritten in place by another writer, and after a restart', async () => {
    const [a, b] = await writeManyRuns(store.root, 2);
    const s = new RunStore(store.root, { indexMinRuns: 1 });
    expect((await names(s)).sort()).toEqual([a.name, b.name]);
    await s.update(a.id, (r) => ({ ...r, name: 'a2' }));
    await renameOnDisk(b.id, b.name, 'b2-xx-x');
    expect((await names(s)).sort()).toEqual(['a2', 'b2-xx-x']);
    await s.flushIndex();
    // Changed after the index was written: the restarted store reads the file, not the index.
    await renameOnDisk(b.id, 'b2-xx-x', 'b3-yy-y');
    expect((await names(restarted())).sort()).toEqual(['a2', 'b3-yy-y']);
  });

  it('uses the persisted index for unchanged runs, and drops an entry once its run.json changes', async () => {
    const [a] = await writeManyRuns(store.root, 3);
    const s = new RunStore(store.root, { indexMinRuns: 1 });
    await s.listSummaries();
    await s.flushIndex();
    // Doctor the index (same version): a restarted store shows it, which proves it did not read run.json again...
    const index = JSON.parse(await readFile(indexPath(store.root), 'utf8')) as { runs: Record<string, { summary: { name: string } }> };
    index.runs[a.id].summary.name = 'from-the-index';
    await writeFile(indexPath(store.root), JSON.stringify(index));
    expect(await names(restarted())).toContain('from-the-index');
    // ...until the file changes in any way (here only its times): then the file is read.
    const later = new Date(Date.now() + 5000);
    await utimes(runFile(a.id), later, later);
    expect(await names(restarted())).toContain(a.name);
    expect(await names(restarted())).not.toContain('from-the-index');
  });

  it('lists new runs and forgets removed ones', async () => {
    const runs = await writeManyRuns(join(store.root), 3);
    const s = new RunStore(store.root, { indexMinRuns: 1 });
    expect(await names(s)).toHaveLength(3);
    const created = await s.create({ config: (await s.get(runs[0].id)).config, seeds: { init: 1, data: 2 }, params: 1, versions: {}, name: 'new one' });
    await rm(join(store.root, runs[1].id), { recursive: true });
    expect((await names(s)).sort()).toEqual(['new one', runs[0].name, runs[2].name].sort());
    expect((await s.listSummaries()).runs.map((r) => r.id)).toContain(created.id);
    await s.flushIndex();
    const persisted = JSON.parse(await readFile(indexPath(store.root), 'utf8')) as { runs: Record<string, unknown> };
    expect(Object.keys(persisted.runs).sort()).toEqual([created.id, runs[0].id, runs[2].id].sort());
  });

  it('shows a corrupt run.json as a problem without breaking the list, and the run again once it is repaired', async () => {
    const [a, b] = await writeManyRuns(store.root, 2);
    const s = new RunStore(store.root, { indexMinRuns: 1 });
    await s.listSummaries();
    const good = await readFile(runFile(a.id), 'utf8');
    await writeFile(runFile(a.id), '{ truncated');
    const broken = await s.listSummaries();
    expect(broken.runs.map((r) => r.id)).toEqual([b.id]);
    expect(broken.problems).toEqual([{ dir: join(store.root, a.id), reason: expect.stringMatching(/not valid JSON/) }]);
    // Remembered as a problem across a restart too, and listed again once repaired.
    await s.flushIndex();
    expect((await restarted().listSummaries()).problems).toHaveLength(1);
    await writeFile(runFile(a.id), good);
    const repaired = await s.listSummaries();
    expect(repaired.runs.map((r) => r.id).sort()).toEqual([a.id, b.id].sort());
    expect(repaired.problems).toEqual([]);
  });

  it('ignores a corrupt or foreign index file and is not listed as a problem', async () => {
    const runs = await writeManyRuns(store.root, 2);
    await mkdir(join(store.root, INDEX_DIR), { recursive: true });
    for (const text of [
      '{ not json',
      JSON.stringify({ format: 'something else', runs: {} }),
      JSON.stringify({ format: 'fernn-lab-summary-index', runs: [1, 2] }),
    ]) {
      await writeFile(indexPath(store.root), text);
      const got = await restarted().listSummaries();
      expect(got.runs.map((r) => r.name).sort()).toEqual(runs.map((r) => r.name).sort());
      expect(got.problems).toEqual([]);
    }
    expect((await store.list()).problems).toEqual([]);
  });

  it('a running run whose owner is gone reads as interrupted, as in list()', async () => {
    const [a] = await writeManyRuns(store.root, 1);
    await store.update(a.id, (r) => ({ ...r, status: 'running', owner: { pid: 999_999_999, host: 'elsewhere', heartbeatAt: r.createdAt } }));
    const [run] = (await store.listSummaries()).runs;
    expect(run).toMatchObject({ status: 'interrupted', endReason: 'interrupted' });
    expect(run).toEqual(toRunSummary((await store.list()).runs[0]));
  });

  it('keeps no index folder for a small store', async () => {
    await writeManyRuns(store.root, 3);
    await store.listSummaries();
    await store.flushIndex();
    expect(await readFile(indexPath(store.root), 'utf8').catch(() => null)).toBeNull();
  });

  it('a pending index write does not make a removed store again', async () => {
    await writeManyRuns(store.root, 2);
    const s = new RunStore(store.root, { indexMinRuns: 1 });
    await s.listSummaries();
    await rm(store.root, { recursive: true });
    await s.flushIndex();
    expect(await readFile(indexPath(store.root), 'utf8').catch(() => null)).toBeNull();
    expect(await stat(store.root).catch(() => null)).toBeNull();
  });
});
