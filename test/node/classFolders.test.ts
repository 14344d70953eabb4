// The users' class folders: held-out splits are stratified by class and by video (seeded, never overlapping), and
// the folder's hash follows the data's names and bytes.
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLASS_HOLDOUT, classFolderSplits } from '../../src/node/data/datasets/classFolders';
import { hashClassFolders, scanClassFolders } from '../../src/node/data/classFolders';
import { expectInputError } from '../helpers/errors';
import { writeBarFrames } from '../helpers/classFolders';

describe('classFolderSplits', () => {
  const counts = [10, 3, 25, 40];
  const folders = counts.map((_, i) => `/data/c${i}`);

  it('holds out round(n * 10%) videos (at least one) of every class for validation and for test, never overlapping', () => {
    const s = classFolderSplits(counts, 7, true, true, folders);
    counts.forEach((n, c) => {
      const k = Math.max(1, Math.round(n * CLASS_HOLDOUT));
      expect(s.val[c]).toHaveLength(k);
      expect(s.test[c]).toHaveLength(k);
      expect(s.train[c]).toHaveLength(n - 2 * k);
      // Each video of the class in exactly one split: its clips never reach two.
      const all = [...s.train[c], ...s.val[c], ...s.test[c]].sort((a, b) => a - b);
      expect(all).toEqual(Array.from({ length: n }, (_, i) => i));
      for (const part of [s.train[c], s.val[c], s.test[c]]) expect([...part].sort((a, b) => a - b)).toEqual(part);
    });
  });

  it('is seeded: the same seed gives the same videos, another seed others', () => {
    expect(classFolderSplits(counts, 7, true, true, folders)).toEqual(classFolderSplits(counts, 7, true, true, folders));
    expect(classFolderSplits(counts, 8, true, true, folders).val).not.toEqual(classFolderSplits(counts, 7, true, true, folders).val);
  });

  it('holds out nothing for a split that has its own folder', () => {
    const s = classFolderSplits(counts, 7, false, true, folders);
    expect(s.val.every((v) => v.length === 0)).toBe(true);
    expect(s.train[0]).toHaveLength(9);
    const none = classFolderSplits([1, 1], 0, false, false, ['/a', '/b']);
    expect(none.train).toEqual([[0], [0]]);
  });

  it('refuses a class with too few videos, naming its folder', () => {
    expectInputError(() => classFolderSplits([10, 2], 0, true, true, ['/data/a', '/data/b']), 'dataDir', /\/data\/b has 2 videos: too few to hold out 2/);
    expectInputError(
      () => classFolderSplits([1, 5], 0, false, true, ['/data/a', '/data/b']),
      'dataDir',
      /\/data\/a has 1 video: too few to hold out 1 for test/,
    );
  });
});

describe('hashClassFolders', () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'fernn-classhash-'));
    writeBarFrames(join(root, 'a', 'v0'), { frames: 2, bar: 'across' });
    writeBarFrames(join(root, 'b', 'v0'), { frames: 2, bar: 'along' });
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const hash = async (): Promise<string> => hashClassFolders(await scanClassFolders(root, 'dataDir'));

  it('changes with a file’s bytes, name or class, not with files that are not data', async () => {
    const h0 = await hash();
    expect(h0).toMatch(/^[0-9a-f]{64}$/);
    writeFileSync(join(root, 'a', '.DS_Store'), 'x');
    expect(await hash()).toBe(h0);
    renameSync(join(root, 'b', 'v0'), join(root, 'a', 'v1'));
    writeBarFrames(join(root, 'b', 'v0'), { frames: 2, bar: 'along' });
    const h1 = await hash();
    expect(h1).not.toBe(h0);
    writeBarFrames(join(root, 'b', 'v0'), { frames: 2, bar: 'along', offset: 1 });
    const h2 = await hash();
    expect(h2).not.toBe(h1);
    // The same bytes in the same order under another name: the name is part of the data (its label, its order).
    renameSync(join(root, 'b', 'v0', '0001.png'), join(root, 'b', 'v0', '0000.png'));
    expect(await hash()).not.toBe(h2);
  });
});
