import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { RunRecord } from '../../../src/core/protocol/run';
import type { RunDetail, RunList } from '../../../src/core/protocol/service';
import { afterAll, beforeAll } from 'vitest';
import { launchChromium } from './browser';
import { startLabHost, type LabHost } from './labHost';

/**
 * One end-to-end session: the built web host, Chromium, one page on the lab, and the small moves every e2e file makes
 * (go to a view, read a text, wait for a run). A file opens it in beforeAll and closes it in afterAll.
 */

/** How long a wait may take before it counts as hung: generous, so a loaded machine passes too (issue 12). */
export const E2E_WAIT_MS = 300_000;

/** A console error the page may log: the browser's own line for a 4xx answer, which the tests provoke on purpose. */
const EXPECTED_CONSOLE_ERROR = /Failed to load resource: the server responded with a status of 4\d\d/;

export interface LabSession {
  host: LabHost;
  browser: Browser;
  page: Page;
}

export interface LabSessionOptions {
  /** The window's size; 1360 x 900 unless given. */
  viewport?: { width: number; height: number };
  colorScheme?: 'light' | 'dark';
  acceptDownloads?: boolean;
  /** Added to the web host's environment (startLabHost). */
  env?: NodeJS.ProcessEnv;
  /** Collects the page's errors (and, unless consoleErrors is false, its console errors other than a 4xx answer). */
  problems?: string[];
  consoleErrors?: boolean;
  /** The page's default timeout for waits and clicks, set before it opens the lab. */
  defaultTimeoutMs?: number;
  /** Runs once the host is up and before the browser opens the lab, e.g. to write runs into host.store. */
  beforeBrowser?: (host: LabHost) => Promise<void>;
  /** A script the page runs before its own (Playwright's addInitScript), e.g. to watch the first rows appear. */
  initScript?: string;
}

/** Starts the host and Chromium and opens the lab (the token in its address) in a fresh context; cleans up if any step fails. */
export async function openLab(options: LabSessionOptions = {}): Promise<LabSession> {
  const host = await startLabHost({ env: options.env });
  let browser: Browser | undefined;
  try {
    await options.beforeBrowser?.(host);
    browser = await launchChromium();
    const context = await browser.newContext({
      viewport: options.viewport ?? { width: 1360, height: 900 },
      ...(options.colorScheme ? { colorScheme: options.colorScheme } : {}),
      ...(options.acceptDownloads ? { acceptDownloads: true } : {}),
    });
    const page = await context.newPage();
    const problems = options.problems;
    if (problems) {
      if (options.consoleErrors !== false)
        page.on('console', (m) => {
          if (m.type() === 'error' && !EXPECTED_CONSOLE_ERROR.test(m.text())) problems.push(m.text());
        });
      page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    }
    if (options.defaultTimeoutMs !== undefined) page.setDefaultTimeout(options.defaultTimeoutMs);
    if (options.initScript) await page.addInitScript(options.initScript);
    await page.goto(host.url);
    return { host, browser, page };
  } catch (e) {
    await closeLab({ host, browser });
    throw e;
  }
}

/** Closes the browser and stops the host (removing its store); either may be missing when openLab never finished. */
export async function closeLab(session: Partial<LabSession>): Promise<void> {
  await session.browser?.close();
  await session.host?.stop();
}

/**
 * The session of one e2e file: opened in beforeAll, closed in afterAll. Its fields are there once beforeAll has run:
 * read them inside tests (`const { host, page } = lab;`).
 */
export function useLab(options: LabSessionOptions = {}): LabSession {
  const session = {} as LabSession;
  beforeAll(async () => {
    Object.assign(session, await openLab(options));
  });
  afterAll(() => closeLab(session));
  return session;
}

/** How many runs the lab's store lists (through the service, as the app sees them). */
export async function runCount(host: LabHost): Promise<number> {
  return ((await host.call('listRuns', {})).body.result as RunList).runs.length;
}

/**
 * Goes to a view by its hash. By default the way leads through another view first, which re-creates the target view
 * as a user arriving there would see it; `detour: false` only sets the hash.
 */
export async function goTo(page: Page, hash: string, { detour = true }: { detour?: boolean } = {}): Promise<void> {
  if (detour) await page.evaluate(`location.hash = ${JSON.stringify(hash.startsWith('#/runs') ? '#/flows' : '#/runs')}`);
  await page.evaluate(`location.hash = ${JSON.stringify(hash)}`);
}

/** The trimmed text of the first element matching `sel` ('' when it has none). */
export async function textOf(page: Page, sel: string): Promise<string> {
  return (await page.locator(sel).first().textContent())?.trim() ?? '';
}

/** Where screenshots go: every run writes test-results/; with FERNN_UPDATE_SCREENSHOTS=1 docs/ gets a copy too. */
export const SHOTS = 'test-results/screenshots';
const DOCS_SHOTS = 'docs/screenshots';

/** A full-page screenshot named `name`.png in SHOTS, copied to docs/screenshots/ with FERNN_UPDATE_SCREENSHOTS=1. */
export async function shot(page: Page, name: string): Promise<void> {
  await mkdir(SHOTS, { recursive: true });
  const path = join(SHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  if (process.env.FERNN_UPDATE_SCREENSHOTS) {
    await mkdir(DOCS_SHOTS, { recursive: true });
    await copyFile(path, join(DOCS_SHOTS, `${name}.png`));
  }
}

/** Polls getRun every half second until `done` holds for the run; throws, naming its status and step, after `timeoutMs`. */
export async function waitForRun(host: LabHost, id: string, done: (r: RunRecord) => boolean, timeoutMs = E2E_WAIT_MS): Promise<RunDetail> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const d = (await host.call('getRun', { id })).body.result as RunDetail;
    if (done(d.run)) return d;
    if (Date.now() > until) throw new Error(`run ${id} stuck at ${d.run.status} step ${d.run.progress.step}`);
    await new Promise((res) => setTimeout(res, 500));
  }
}
