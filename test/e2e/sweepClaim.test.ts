import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { SweepStatus } from '../../src/core/protocol/sweeps';
import { cli, killLiveClis } from '../helpers/cli';
import { TINY_FLAGS, writeSpec } from '../helpers/sweeps';
import { E2E_WAIT_MS, goTo, shot, textOf, useLab } from './helpers/session';

/**
 * The paper's claim on a reproduction sweep's page in the Sweeps view: `fernn-lab reproduce translating-mnist --seeds 2`
 * run by the CLI into the lab's own store, then opened in the app, shows the claim, the verdict over the seeds (n, each
 * model's mean and 95% CI) exactly as the CLI's JSON `claim` states it; a sweep that is not a reproduction shows none.
 */
const problems: string[] = [];
const lab = useLab({ problems });
afterAll(() => killLiveClis());

/** The CLI's `claim` of `reproduce --seeds N --json`. */
interface ClaimJson {
  text: string;
  verdict: string;
  summary: string;
  evidence: string[];
  n: number;
}

/** Tiny members: 3 steps of a 2-channel model on 8x8 frames, on wasm as every e2e run. */
const TINY = ['--steps', '3', '--hidden', '2', '--image-size', '8', '--batch', '2', '--val-every', '3', '--val-sequences', '4', '--test-sequences', '4'];

describe('a reproduction sweep in the Sweeps view', () => {
  it("shows the CLI's verdict over the seeds; a sweep that is not a reproduction shows none", async () => {
    const { host, page } = lab;
    const r = await cli(['reproduce', 'translating-mnist', '--scale', 'tiny', '--seeds', '2', ...TINY, '--backend', 'wasm', '--store', host.store, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as SweepStatus & { claim: ClaimJson };
    expect(out.name).toBe('translating-mnist-tiny');
    const claim = out.claim;
    expect(claim.n).toBe(2);

    await goTo(page, `#/sweeps/${out.sweep_id}`);
    await page.waitForSelector('[data-testid=reproduction-claim]', { timeout: E2E_WAIT_MS });
    expect(await textOf(page, '[data-claim=text]')).toBe(`The paper's claim: ${claim.text}`);
    expect(await page.getAttribute('[data-claim-verdict]', 'data-claim-verdict')).toBe(claim.verdict);
    expect(await textOf(page, '[data-claim-verdict]')).toBe(`${claim.summary.split('; ')[0]}.`);
    expect(await textOf(page, '[data-claim-verdict]')).toMatch(/at this scale \(tiny\), on the mean of 2 seeds/);
    const evidence = await page.locator('[data-claim=evidence]').allTextContents();
    expect(evidence.map((e) => e.trim())).toEqual(claim.evidence);
    // Each model's mean and 95% CI over the 2 seeds, among the evidence.
    expect(evidence.filter((e) => /^(G-RNN|FERNN-V1) test MSE \S+, 95% CI \[\S+, \S+\] \(n = 2\)$/.test(e.trim()))).toHaveLength(2);
    await shot(page, 'sweep-claim');

    // A plain sweep (two models, two seeds, not a preset's): no claim.
    const spec = await writeSpec(join(host.store, '..'), 'plain', {
      base: { ...TINY_FLAGS, backend: 'wasm', steps: 2 },
      variants: [{ model: 'grnn' }, { model: 'fernn' }],
      grid: { seed: [0, 1] },
    });
    const p = await cli(['sweep', 'run', spec, '--store', host.store, '--json']);
    expect(p.code, p.stderr).toBe(0);
    const plain = JSON.parse(p.stdout) as SweepStatus;
    await goTo(page, `#/sweeps/${plain.sweep_id}`);
    await page.waitForSelector(`[data-testid=sweep-summary]:has-text("${plain.members.length} members")`, { timeout: E2E_WAIT_MS });
    await expect.poll(() => page.locator('[data-member]').count(), { timeout: E2E_WAIT_MS }).toBe(4);
    expect(await page.locator('[data-testid=reproduction-claim]').count()).toBe(0);
    expect(problems).toEqual([]);
  });
});
