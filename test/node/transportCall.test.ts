import { describe, expect, it } from 'vitest';
import { SERVICE_METHODS } from '../../src/core/protocol/service';
import { InputError } from '../../src/core/util/errors';
import { dispatchCall, toWireError } from '../../src/node/transport/call';
import { parseServiceArgs as validateCall } from '../../src/core/protocol/serviceArgs';
import { createFakeLabService } from '../helpers/fakeLabService';

const tiny = { model: 'grnn', vRange: 0, hidden: 4, steps: 10 };

describe('parseServiceArgs (the service boundary)', () => {
  it('returns the parsed argument with defaults', () => {
    const arg = validateCall('startRun', { config: tiny }) as { config: { batch: number; backend: string } };
    expect(arg.config.batch).toBe(16);
    expect(arg.config.backend).toBe('auto');
  });

  it.each([
    ['startRun', { config: { ...tiny, hidden: 0 } }, 'config.hidden'],
    ['startRun', { config: { ...tiny, vRange: 2 } }, 'config.vRange'],
    ['startRun', { config: { ...tiny, model: 'lstm' } }, 'config.model'],
    ['startRun', { config: tiny, extra: 1 }, 'arguments'],
    ['getRun', { id: '../etc' }, 'id'],
    ['getRun', {}, 'id'],
    ['getRun', 'abc', 'arguments'],
    ['probeEquivariance', { models: [], flow: 'translate:1,0' }, 'models'],
    ['probeEquivariance', { models: [{ kind: 'fernn', vRange: 1, hidden: 8 }], flow: 'rotate:1,2' }, 'flow'],
    ['saveFlow', { name: 'a/b', flow: 'translate:1,0' }, 'name'],
    ['info', { x: 1 }, 'arguments'],
  ] as const)('%s(%j) is rejected naming %s', (method, arg, field) => {
    try {
      validateCall(method, arg);
      expect.unreachable('should have thrown');
    } catch (e) {
      expect(e).toBeInstanceOf(InputError);
      expect((e as InputError).field).toBe(field);
      expect((e as InputError).message.startsWith(`${field}: `)).toBe(true);
    }
  });

  it('no-argument methods accept nothing, null or {}', () => {
    for (const arg of [undefined, null, {}]) expect(validateCall('listRuns', arg)).toBeUndefined();
  });
});

describe('dispatchCall', () => {
  it('invokes the service with the validated argument', async () => {
    const svc = createFakeLabService();
    const reply = await dispatchCall(svc, 'startRun', { config: tiny });
    expect(reply.ok).toBe(true);
    expect(svc.calls.at(-1)?.method).toBe('startRun');
  });

  it('never reaches the service with a malformed argument', async () => {
    const svc = createFakeLabService();
    const reply = await dispatchCall(svc, 'startRun', { config: { ...tiny, steps: -1 } });
    expect(reply).toEqual({ ok: false, error: expect.objectContaining({ code: 'bad_argument', field: 'config.steps' }) });
    expect(svc.calls).toHaveLength(0);
  });

  it('refuses unknown methods and onDidProgress', async () => {
    const svc = createFakeLabService();
    for (const m of ['nope', 'onDidProgress', '__proto__', 'constructor', 42]) {
      const reply = await dispatchCall(svc, m, undefined);
      expect(reply.ok).toBe(false);
      if (!reply.ok) expect(reply.error.code).toBe('unknown_method');
    }
  });

  it('reports a missing run as not_found', async () => {
    const reply = await dispatchCall(createFakeLabService(), 'getRun', { id: 'missing' });
    expect(reply).toEqual({ ok: false, error: { code: 'not_found', field: 'run', message: 'run: no run missing' } });
  });

  it('serves every method of the contract', () => {
    expect([...SERVICE_METHODS].sort()).toEqual(
      [
        'info',
        'listRuns',
        'getRun',
        'startRun',
        'stopRun',
        'resumeRun',
        'deleteRun',
        'evaluateRun',
        'estimateRun',
        'probeEquivariance',
        'previewFlow',
        'predictions',
        'listFlows',
        'saveFlow',
        'deleteFlow',
        'listSweeps',
        'getSweep',
        'createSweep',
        'cancelSweep',
        'resumeSweep',
        'sweepExecutors',
      ].sort(),
    );
  });

  it('sweeps: a bad member is bad_argument naming the field and the member; a missing sweep is not_found', async () => {
    const svc = createFakeLabService();
    const base = { model: 'fernn', vRange: 1, hidden: 2, steps: 3 };
    const bad = await dispatchCall(svc, 'createSweep', { name: 's', base, grid: { model: ['grnn'], vRange: [1] }, seeds: 1 });
    expect(bad).toMatchObject({ ok: false, error: { code: 'bad_argument', field: 'grid.vRange' } });
    expect(!bad.ok && bad.error.message).toMatch(/^grid\.vRange: member 0 \(model=grnn, vRange=1, seed=0\): a G-RNN has V = \{0\}/);
    const ok = await dispatchCall(svc, 'createSweep', { name: 's', base, grid: { model: ['grnn', 'fernn'] } });
    expect(ok.ok && (ok.result as { memberGroups: string[] }).memberGroups).toEqual(['model=grnn', 'model=grnn', 'model=fernn', 'model=fernn']);
    expect(await dispatchCall(svc, 'getSweep', { id: 'nope' })).toMatchObject({ ok: false, error: { code: 'not_found', field: 'id' } });
    expect(await dispatchCall(svc, 'getSweep', { id: '../x' })).toMatchObject({ ok: false, error: { code: 'bad_argument', field: 'id' } });
  });
});

describe('toWireError', () => {
  it('keeps internal failures internal', () => {
    expect(toWireError(new Error('disk full'))).toEqual({ code: 'internal', message: 'disk full' });
    expect(toWireError(new InputError('id', 'run x is not running'))).toEqual({ code: 'bad_argument', field: 'id', message: 'id: run x is not running' });
  });
});
