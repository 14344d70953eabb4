import { expect } from 'vitest';
import { InputError } from '../../src/core/util/errors';

/** Asserts that fn throws an InputError for `field` whose message matches `pattern`. */
export function expectInputError(fn: () => unknown, field: string, pattern: RegExp): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(InputError);
  expect((err as InputError).field).toBe(field);
  expect((err as Error).message).toMatch(pattern);
}

/** Asserts that the promise rejects with an InputError for `field` (whose message matches `pattern`, when given). */
export async function expectRejectsInputError(p: Promise<unknown>, field: string, pattern?: RegExp): Promise<void> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(InputError);
  expect((err as InputError).field).toBe(field);
  if (pattern) expect((err as Error).message).toMatch(pattern);
}
