// `npm start`: build if the build is missing or older than the sources, then open the lab — in Electron when its
// binary is here (or can be downloaded now) and a display exists, otherwise in the browser through the web host,
// saying why. Flags: --web (browser even if Electron works), --rebuild, --port N, --store DIR.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const argv = process.argv.slice(2);
const flag = (name) => argv.includes(name);
const option = (name) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};

const OUTPUTS = ['dist/main.js', 'dist/preload.cjs', 'dist/webHost.js', 'dist/labWorker.js', 'dist/renderer/index.html'];

function newestMtime(dir) {
  let newest = 0;
  for (const ent of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, ent.name);
    newest = Math.max(newest, ent.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

function buildIfNeeded() {
  const outs = OUTPUTS.map((p) => join(root, p));
  const missing = outs.filter((p) => !existsSync(p));
  const stale = !missing.length && Math.min(...outs.map((p) => statSync(p).mtimeMs)) < newestMtime(join(root, 'src'));
  if (!flag('--rebuild') && !missing.length && !stale) return;
  console.log(missing.length ? 'Building the lab (first start)…' : 'Sources changed since the last build: rebuilding…');
  const r = spawnSync(process.execPath, [join(root, 'scripts/build.mjs')], { stdio: 'inherit', cwd: root });
  if (r.status !== 0) {
    console.error('The build failed; see the messages above.');
    process.exit(r.status ?? 1);
  }
}

/**
 * The Electron executable, or why there is none. Requiring the `electron` package would download the binary
 * synchronously on a miss; we look first, then try that download once, visibly, and fall back if it fails.
 */
const ELECTRON_PKG = join(root, 'node_modules/electron');

/** The installed Electron executable, or null. (Requiring the package would start a download on a miss.) */
function installedElectron() {
  const pathTxt = join(ELECTRON_PKG, 'path.txt');
  if (!existsSync(pathTxt)) return null;
  const rel = readFileSync(pathTxt, 'utf8').trim();
  const bin = join(process.env.ELECTRON_OVERRIDE_DIST_PATH || join(ELECTRON_PKG, 'dist'), rel);
  return existsSync(bin) ? bin : null;
}

const NOT_INSTALLED =
  'the Electron binary is not installed (npm installs the electron package, which fetches its binary on first launch; node_modules/electron/dist is missing)';

/** The Electron executable, downloading it once (visibly) when missing, or why there is none. */
function electronBinary() {
  if (!existsSync(join(ELECTRON_PKG, 'package.json'))) return { reason: 'the electron package is not installed (it is a devDependency: run npm install)' };
  let bin = installedElectron();
  if (bin) return { bin };
  if (process.env.FERNN_LAB_NO_DOWNLOAD) return { reason: `${NOT_INSTALLED}; FERNN_LAB_NO_DOWNLOAD is set, so no download was tried` };
  console.log('The Electron binary is not installed yet: downloading it once (about 100 MB)…');
  const r = spawnSync(process.execPath, [join(ELECTRON_PKG, 'install.js')], { stdio: ['ignore', 'inherit', 'pipe'], timeout: 600_000, encoding: 'utf8' });
  bin = r.status === 0 ? installedElectron() : null;
  if (bin) return { bin };
  const why = (r.stderr || r.error?.message || `exit code ${r.status}`).split('\n').find((l) => l.trim()) ?? 'unknown error';
  return { reason: `the Electron binary is not installed and could not be downloaded (${why.trim().slice(0, 160)})` };
}

function hasDisplay() {
  if (process.platform !== 'linux') return true;
  return Boolean(process.env.DISPLAY || process.env.WAYLAND_DISPLAY);
}

function startWeb(reason) {
  const args = [join(root, 'dist/webHost.js'), '--note', reason];
  for (const name of ['--port', '--store']) if (option(name)) args.push(name, option(name));
  if (!process.env.CI && !process.env.FERNN_LAB_NO_OPEN && hasDisplay()) args.push('--open');
  console.log(`Opening the lab in the browser instead of Electron: ${reason}.`);
  const child = spawn(process.execPath, args, { stdio: 'inherit', cwd: root });
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 0 : 1)));
}

function startElectron(bin) {
  const args = [root];
  // Chromium refuses to run as root with its OS sandbox; the page stays in Electron's renderer sandbox regardless.
  if (process.getuid?.() === 0) args.unshift('--no-sandbox');
  console.log(`Starting the lab in Electron (${bin}).`);
  const started = Date.now();
  const child = spawn(bin, args, { stdio: 'inherit', cwd: root, env: { ...process.env, ELECTRON_RUN_AS_NODE: '' } });
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
  child.on('error', (e) => startWeb(`Electron could not be started (${e.message})`));
  child.on('exit', (code) => {
    if (code && Date.now() - started < 10_000) startWeb(`Electron exited at start with code ${code} (missing system libraries?)`);
    else process.exit(code ?? 0);
  });
}

buildIfNeeded();
if (flag('--web') || process.env.FERNN_LAB_WEB) startWeb('you asked for the browser (--web)');
else if (!hasDisplay()) {
  const missing = installedElectron() ? '' : `; ${NOT_INSTALLED}`;
  startWeb(`there is no graphical display (DISPLAY and WAYLAND_DISPLAY are unset), so no Electron window can open${missing}`);
} else {
  const e = electronBinary();
  if (e.bin) startElectron(e.bin);
  else startWeb(e.reason);
}
