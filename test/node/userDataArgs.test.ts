import { describe, expect, it } from 'vitest';
import { parseServiceArgs } from '../../src/core/protocol/serviceArgs';
import { InputError } from '../../src/core/util/errors';
import { dispatchCall } from '../../src/node/transport/call';
import { createFakeLabService } from '../helpers/fakeLabService';

// A user's file in a service call (evaluateRun, predictions, probeEquivariance `data`): validated at the boundary,
// whichever transport carried it (IPC and HTTP both go through dispatchCall), the error naming the field.
const probe = { models: [{ kind: 'grnn', vRange: 0, hidden: 2 }], flow: 'translate:1,0' };

describe('data: a user file in service calls', () => {
  it.each([
    ['evaluateRun', { id: 'r1', kinds: ['test'], data: 'relative/file.npy' }, 'data'],
    ['evaluateRun', { id: 'r1', kinds: ['test'], data: '' }, 'data'],
    ['evaluateRun', { id: 'r1', kinds: ['test', 'length'], data: '/tmp/a.npy' }, 'kinds'],
    ['predictions', { id: 'r1', data: 'a.npy' }, 'data'],
    ['predictions', { id: 'r1', data: 42 }, 'data'],
    ['probeEquivariance', { ...probe, data: 'a.npy' }, 'data'],
    ['probeEquivariance', { ...probe, data: '/tmp/a.npy', sequence: -1 }, 'sequence'],
  ] as const)('%s(%j) is refused naming %s, and never reaches the service', async (method, arg, field) => {
    expect(() => parseServiceArgs(method, arg)).toThrow(InputError);
    try {
      parseServiceArgs(method, arg);
    } catch (e) {
      expect((e as InputError).field).toBe(field);
    }
    const svc = createFakeLabService();
    const reply = await dispatchCall(svc, method, arg);
    expect(reply).toEqual({ ok: false, error: expect.objectContaining({ code: 'bad_argument', field }) });
    expect(svc.calls).toHaveLength(0);
  });

  it('takes absolute paths (POSIX and Windows)', () => {
    expect(parseServiceArgs('predictions', { id: 'r1', data: '/home/me/seq.npy' }).data).toBe('/home/me/seq.npy');
    expect(parseServiceArgs('evaluateRun', { id: 'r1', kinds: ['test'], data: 'C:\\data\\seq.npy' }).data).toBe('C:\\data\\seq.npy');
    expect(parseServiceArgs('probeEquivariance', { ...probe, data: '/tmp/a.npy' })).toMatchObject({ data: '/tmp/a.npy', sequence: 0 });
  });
});
