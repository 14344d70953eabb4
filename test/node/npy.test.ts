import { readFileSync } from 'node:fs';
import { expectInputError } from '../helpers/errors';
import { describe, expect, it } from 'vitest';
import { encodeNpy, parseNpy } from '../../src/node/npy';

/** Builds an .npy by hand, as numpy would, with any header text, version and payload. */
function rawNpy(header: string, payload: Uint8Array, major = 1): Uint8Array {
  const prefix = major === 1 ? 10 : 12;
  const total = Math.ceil((prefix + header.length + 1) / 64) * 64;
  const text = header.padEnd(total - prefix - 1, ' ') + '\n';
  const out = new Uint8Array(total + payload.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
  const view = new DataView(out.buffer);
  if (major === 1) view.setUint16(8, text.length, true);
  else view.setUint32(8, text.length, true);
  for (let i = 0; i < text.length; i++) out[prefix + i] = text.charCodeAt(i);
  out.set(payload, total);
  return out;
}

function f64Bytes(values: number[]): Uint8Array {
  const b = new Uint8Array(8 * values.length);
  const v = new DataView(b.buffer);
  values.forEach((x, i) => v.setFloat64(8 * i, x, true));
  return b;
}

function f32Bytes(values: number[]): Uint8Array {
  return new Uint8Array(new Float32Array(values).buffer);
}

const expectFieldError = (fn: () => unknown, pattern: RegExp): void => expectInputError(fn, 'npy', pattern);

describe('npy round-trip', () => {
  it('encode then parse gives the same shape and bits, for 0-d to 4-d arrays', () => {
    for (const shape of [[], [5], [2, 3], [2, 1, 3, 2], [0, 3]]) {
      const n = shape.reduce((a, b) => a * b, 1);
      const data = Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 1e3 + i * 1e-7);
      const back = parseNpy(encodeNpy(data, shape));
      expect(back.shape).toEqual(shape);
      expect(Array.from(back.data)).toEqual(Array.from(data));
    }
  });

  it('writes what numpy writes: 64-byte aligned header ending in a newline, (n,) for 1-d', () => {
    const bytes = encodeNpy(new Float32Array([1, 2, 3]), [3]);
    const headerLen = new DataView(bytes.buffer).getUint16(8, true);
    expect((10 + headerLen) % 64).toBe(0);
    const header = new TextDecoder().decode(bytes.subarray(10, 10 + headerLen));
    expect(header.trimEnd()).toBe("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }");
    expect(header.endsWith('\n')).toBe(true);
  });

  it('reads a file written by numpy (the parity fixture input)', () => {
    const a = parseNpy(new Uint8Array(readFileSync('test/fixtures/parity/grnn.input.npy')));
    expect(a.shape).toEqual([2, 5, 1, 9, 11]);
    expect(a.data.length).toBe(2 * 5 * 9 * 11);
    expect(Math.min(...a.data)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...a.data)).toBeLessThanOrEqual(1);
  });

  it('rejects a shape that does not match the data', () => {
    expectFieldError(() => encodeNpy(new Float32Array(5), [2, 3]), /holds 6 values, data has 5/);
  });
});

describe('npy header variants', () => {
  it('accepts double quotes, any key order, version 2.0 and 3.0', () => {
    const data = f32Bytes([1.5, -2, 3]);
    for (const [header, major] of [
      ['{"shape": (3,), "fortran_order": False, "descr": "<f4"}', 1],
      ["{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", 2],
      ["{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", 3],
      ["{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3), }", 1],
    ] as const) {
      const a = parseNpy(rawNpy(header, data, major));
      expect(Array.from(a.data)).toEqual([1.5, -2, 3]);
    }
  });

  it('converts <f8 to float32', () => {
    const a = parseNpy(rawNpy("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }", f64Bytes([0.1, 2, -3, 1e10])));
    expect(a.shape).toEqual([2, 2]);
    expect(Array.from(a.data)).toEqual(Array.from(new Float32Array([0.1, 2, -3, 1e10])));
  });

  it('reads a 0-d array', () => {
    const a = parseNpy(rawNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (), }", f32Bytes([7])));
    expect(a.shape).toEqual([]);
    expect(Array.from(a.data)).toEqual([7]);
  });
});

describe('npy errors name the problem', () => {
  const good = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }";
  it('bad magic', () => expectFieldError(() => parseNpy(new Uint8Array(64)), /magic/));
  it('unknown version', () => expectFieldError(() => parseNpy(rawNpy(good, f32Bytes([1, 2, 3, 4]), 7)), /version 7/));
  it('Fortran order', () =>
    expectFieldError(() => parseNpy(rawNpy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", f32Bytes([1, 2, 3, 4]))), /Fortran/));
  it('other dtypes', () => {
    for (const d of ['>f4', '<i4', '<f2', '|u1']) {
      expectFieldError(() => parseNpy(rawNpy(`{'descr': '${d}', 'fortran_order': False, 'shape': (2, 2), }`, f32Bytes([1, 2, 3, 4]))), /dtype/);
    }
  });
  it('truncated data', () => expectFieldError(() => parseNpy(rawNpy(good, f32Bytes([1, 2, 3]))), /truncated data/));
  it('trailing bytes', () => expectFieldError(() => parseNpy(rawNpy(good, f32Bytes([1, 2, 3, 4, 5]))), /trailing/));
  it('truncated header', () => {
    const b = rawNpy(good, f32Bytes([1, 2, 3, 4]));
    expectFieldError(() => parseNpy(b.subarray(0, 40)), /truncated header/);
  });
  it('malformed header', () => {
    expectFieldError(() => parseNpy(rawNpy('not a dict', new Uint8Array(0))), /malformed header/);
    expectFieldError(() => parseNpy(rawNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, x), }", new Uint8Array(0))), /malformed shape/);
  });
});
