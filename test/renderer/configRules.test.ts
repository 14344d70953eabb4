import { describe, expect, it } from 'vitest';
import { trainConfigSchema } from '../../src/core/protocol/run';
import { NUMBER_RULES, checkConfigForm, checkNumber } from '../../src/renderer/configRules';

const base = { model: 'fernn', vRange: 1, hidden: 4, steps: 10 };
const issuesAt = (key: string, v: number) => {
  const r = trainConfigSchema.safeParse({ ...base, [key]: v });
  return r.success ? [] : r.error.issues.filter((i) => i.path[0] === key);
};

describe('New run form rules', () => {
  it.each(NUMBER_RULES.map((r) => [r.key, r] as const))('%s has the schema’s range', (key, rule) => {
    expect(issuesAt(key, rule.max)).toEqual([]);
    expect(issuesAt(key, rule.max + (rule.int ? 1 : 1e-6))).not.toEqual([]);
    if (rule.minExclusive) {
      expect(issuesAt(key, rule.min)).not.toEqual([]);
    } else {
      expect(issuesAt(key, rule.min)).toEqual([]);
      expect(issuesAt(key, rule.min - 1)).not.toEqual([]);
    }
    if (rule.int) expect(issuesAt(key, rule.min + 0.5)).not.toEqual([]);
    expect(checkNumber(rule, String(rule.max))).toBeNull();
    expect(checkNumber(rule, String(rule.max + 1))).toMatch(rule.label);
  });

  it('covers every numeric field of the config the form sends', () => {
    const numeric = Object.entries(trainConfigSchema.shape).filter(([, s]) => {
      const inner = 'unwrap' in s && typeof s.unwrap === 'function' ? (s.unwrap() as { type?: string }) : (s as { type?: string });
      return inner.type === 'number';
    });
    const covered = new Set(NUMBER_RULES.map((r) => r.key));
    const notInForm = ['clipNorm', 'teacherForcing', 'earlyStopPatience', 'divergenceFactor'];
    expect(numeric.map(([k]) => k).filter((k) => !covered.has(k as never) && !notInForm.includes(k))).toEqual([]);
  });

  it('flags the G-RNN with a velocity range and text in number fields', () => {
    const values = Object.fromEntries(NUMBER_RULES.map((r) => [r.key, String(r.min === 0 && r.minExclusive ? 0.001 : Math.max(r.min, 1))]));
    expect(checkConfigForm('grnn', { ...values, vRange: '1' }).vRange).toMatch(/G-RNN/);
    expect(checkConfigForm('fernn', { ...values, hidden: 'many' }).hidden).toMatch(/number/);
    expect(checkConfigForm('fernn', { ...values, hidden: '' }).hidden).toMatch(/required/);
    expect(checkConfigForm('fernn', values)).toEqual({});
  });
});
