import { execFileSync } from 'node:child_process';

/** Tests that start workers or the CLI need the bundles in dist/; build them once per test run. */
export default function setup(): void {
  execFileSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' });
}
