import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LIST_PARTS_HEADER, PACKED_JSON_TYPE, unpack, type Packed } from '../../src/core/protocol/packedJson';
import type { RunList } from '../../src/core/protocol/service';
import { startWebHost, type WebHost } from '../../src/node/web/webHost';
import { createFakeLabService, type FakeLabService } from '../helpers/fakeLabService';

/** The run list over HTTP as the page gets it (issue 16): started by the page's own request, and packed. */
let host: WebHost;
let svc: FakeLabService;
let rendererDir: string;

beforeEach(async () => {
  rendererDir = await mkdtemp(join(tmpdir(), 'fernn-renderer-'));
  await writeFile(join(rendererDir, 'index.html'), '<!doctype html><title>lab</title>');
  svc = createFakeLabService();
  host = await startWebHost({ service: svc, rendererDir });
});
afterEach(async () => {
  await host.close();
  await rm(rendererDir, { recursive: true, force: true });
});

const origin = () => `http://127.0.0.1:${host.port}`;
const call = async (method: string, arg?: unknown, accept?: string) => {
  const res = await fetch(`${origin()}/api/${method}`, {
    method: 'POST',
    headers: {
      Authorization: `Bearer ${host.token}`,
      ...(arg === undefined ? {} : { 'Content-Type': 'application/json' }),
      ...(accept ? { Accept: accept } : {}),
    },
    body: arg === undefined ? undefined : JSON.stringify(arg),
  });
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: (await res.json()) as { result: unknown } };
};
const listings = () => svc.calls.filter((c) => c.method === 'listRuns').length;
const openPage = async () => expect((await fetch(`${origin()}/`)).status).toBe(200);
const ids = (list: unknown) => (list as RunList).runs.map((r) => r.id);
const start = async () => expect((await call('startRun', { config: { model: 'grnn', vRange: 0, hidden: 4, steps: 2 } })).status).toBe(200);

describe('the run list the page asks for', () => {
  it('is listed when the page is requested, and the first listRuns takes that listing', async () => {
    await start();
    await openPage();
    expect(listings()).toBe(1);
    const first = await call('listRuns');
    expect(listings()).toBe(1);
    expect(ids(first.body.result)).toEqual(['fake-1']);
    // Taken once: the next call lists again.
    await call('listRuns');
    expect(listings()).toBe(2);
  });

  it('is dropped when a call that can write comes between the page request and listRuns', async () => {
    await openPage();
    await start();
    const list = await call('listRuns');
    expect(listings()).toBe(2);
    expect(ids(list.body.result)).toEqual(['fake-1']);
  });

  it('is dropped when a run reports progress meanwhile', async () => {
    await openPage();
    svc.emit({ runId: 'r1', step: 3, totalSteps: 10, epoch: 0, loss: 0.1, valMse: null, bestValMse: null, stepsPerSec: 1, etaSec: 7, status: 'running' });
    await call('listRuns');
    expect(listings()).toBe(2);
  });

  it('comes packed when asked for, plain JSON otherwise, with the same runs', async () => {
    for (let i = 0; i < 3; i++) await start();
    const plain = await call('listRuns');
    expect(plain.type).toMatch(/^application\/json/);
    const packed = await call('listRuns', undefined, `${PACKED_JSON_TYPE}, application/json`);
    expect(packed.type).toMatch(new RegExp(`^${PACKED_JSON_TYPE.replace(/[.+]/g, '\\$&')}`));
    expect(unpack(packed.body.result as Packed)).toEqual(plain.body.result);
    expect(JSON.stringify(packed.body).length).toBeLessThan(JSON.stringify(plain.body).length);
    // In two parts when asked: the head (here the whole list: 3 rows), the count, then the list with the head's
    // runs as their index in it.
    const res = await fetch(`${origin()}/api/listRuns`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${host.token}`, Accept: PACKED_JSON_TYPE, [LIST_PARTS_HEADER]: 'head' },
    });
    const [first, second, more] = (await res.text()).split('\n');
    expect(more).toBeUndefined();
    const head = unpack((JSON.parse(first) as { result: Packed }).result) as RunList & { total: number };
    const whole = unpack((JSON.parse(second) as { result: Packed }).result) as { runs: unknown[] };
    expect(head.total).toBe(3);
    expect(head.runs).toEqual((plain.body.result as RunList).runs);
    expect(whole.runs).toEqual([0, 1, 2]);
    // Other calls stay plain whatever the Accept.
    expect((await call('listFlows', undefined, PACKED_JSON_TYPE)).type).toMatch(/^application\/json/);
  });
});
