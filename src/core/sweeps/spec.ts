import { z } from 'zod';

/**
 * A sweep spec: one experiment made of many runs. `base` holds `train` flags by their long names without dashes
 * (`image-size: 16`), `variants` a list of override maps, `grid` a list of values per flag; the members are every
 * variant crossed with every combination of the grid (variants in order, the grid's last key varying fastest).
 */

const scalar = z.union([z.string(), z.number().finite(), z.boolean()]);
export type SweepValue = z.infer<typeof scalar>;

const flagName = z.string().regex(/^[a-z][a-z0-9-]*$/, 'flag names are train flags without the dashes, e.g. image-size');
const overrides = z.record(flagName, scalar);

export const SWEEP_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export const sweepSpecSchema = z
  .object({
    name: z.string().regex(SWEEP_NAME_RE, 'use 1-64 of A-Z a-z 0-9 . _ -, starting with a letter or digit'),
    base: overrides.default({}),
    variants: z.array(overrides).min(1, 'give at least one variant, or leave variants out').optional(),
    grid: z.record(flagName, z.array(scalar).min(1, 'give at least one value')).default({}),
  })
  .strict();
export type SweepSpec = z.infer<typeof sweepSpecSchema>;

export interface SweepMemberPlan {
  index: number;
  /** What differs between members: the variant's and the grid's values (the base is shared). */
  overrides: Record<string, SweepValue>;
  /** base + overrides: every train flag of this member. */
  flags: Record<string, SweepValue>;
}

/** Keys whose values differ only between repetitions of one configuration: left out of the group key. */
export const REPEAT_KEYS: readonly string[] = ['seed'];

/** Every combination of the grid, the last key varying fastest; one empty combination for an empty grid. */
export function cartesian(grid: Record<string, readonly SweepValue[]>): Record<string, SweepValue>[] {
  let combos: Record<string, SweepValue>[] = [{}];
  for (const [key, values] of Object.entries(grid)) combos = combos.flatMap((c) => values.map((v) => ({ ...c, [key]: v })));
  return combos;
}

/** The members of a sweep, indexed from 0: each variant (or the base alone) crossed with the grid. */
export function expandSweep(spec: SweepSpec): SweepMemberPlan[] {
  const variants = spec.variants ?? [{}];
  const combos = cartesian(spec.grid);
  const members: SweepMemberPlan[] = [];
  for (const variant of variants) {
    for (const combo of combos) {
      const o = { ...variant, ...combo };
      members.push({ index: members.length, overrides: o, flags: { ...spec.base, ...o } });
    }
  }
  return members;
}

/** A member's group: its overrides without the repetition keys (seed), as `key=value` sorted by key, or "(all)". */
export function groupKey(overridesOf: Record<string, SweepValue>): string {
  const parts = Object.keys(overridesOf)
    .filter((k) => !REPEAT_KEYS.includes(k))
    .sort()
    .map((k) => `${k}=${String(overridesOf[k])}`);
  return parts.length ? parts.join(',') : '(all)';
}

/** A short label of a member for messages: its index and overrides. */
export function memberLabel(m: Pick<SweepMemberPlan, 'index' | 'overrides'>): string {
  const o = Object.entries(m.overrides).map(([k, v]) => `${k}=${String(v)}`);
  return `member ${m.index}${o.length ? ` (${o.join(', ')})` : ''}`;
}
