// Builds the app. With no arguments: every product entry — the CLI, the training worker, the web host, the Electron
// main process and preload (esbuild), and the renderer (Vite). With `name=entry` arguments: only those Node entries
// (ESM, as before; e.g. `node scripts/build.mjs bench=scripts/bench.ts`).
//
// tfjs is bundled into the Node entries (its gradient registrations ship only as ESM files with directory imports,
// which Node cannot load unbundled; tfjs keeps its engine and registries on globalThis, so a tfjs-node installed
// beside us still registers its backend where we see it). Native and optional packages stay external and resolve
// from node_modules at run time.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export const external = ['webgpu', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', 'electron'];
const root = fileURLToPath(new URL('..', import.meta.url));

// CommonJS code inside an ESM bundle (tfjs backends, emscripten) expects require and __dirname.
const esmBanner = [
  "import { createRequire as __cr } from 'node:module';",
  "import { fileURLToPath as __fu } from 'node:url';",
  "import { dirname as __dn } from 'node:path';",
  'const require = __cr(import.meta.url);',
  'const __filename = __fu(import.meta.url);',
  'const __dirname = __dn(__filename);',
].join(' ');

/** Node entries, ESM (the worker, the web host, the CLI and Electron's main process all load ESM). */
async function buildNode(entries) {
  await build({
    absWorkingDir: root,
    entryPoints: entries,
    outdir: 'dist',
    outExtension: { '.js': '.js' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    mainFields: ['module', 'main'],
    external,
    banner: { js: esmBanner },
    sourcemap: true,
    logLevel: 'warning',
  });
}

/** The sandboxed preload: one CommonJS file whose only require is 'electron'. */
async function buildPreload() {
  const result = await build({
    absWorkingDir: root,
    entryPoints: { preload: 'src/preload/preload.ts' },
    outdir: 'dist',
    outExtension: { '.js': '.cjs' },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'chrome130',
    external: ['electron'],
    sourcemap: 'inline',
    metafile: true,
    logLevel: 'warning',
  });
  const imports = Object.values(result.metafile.outputs).flatMap((o) => o.imports.filter((i) => i.external).map((i) => i.path));
  const foreign = imports.filter((p) => p !== 'electron');
  if (foreign.length) throw new Error(`the sandboxed preload may require only 'electron', not: ${foreign.join(', ')}`);
}

/**
 * `<link rel="modulepreload">` in index.html for the app's start-up chunk (boot.ts, which main.ts imports only after
 * it has asked for the run list) and the chunks it imports: the browser fetches and compiles them alongside the first
 * script instead of after it has run (issue 16: the first open at Runs waited ~100 ms for them).
 */
function preloadBoot() {
  return {
    name: 'fernn-preload-boot',
    transformIndexHtml: {
      order: 'post',
      handler(_html, ctx) {
        const chunks = Object.values(ctx.bundle ?? {}).filter((c) => c.type === 'chunk');
        const boot = chunks.find((c) => c.facadeModuleId?.endsWith('/boot.ts'));
        if (!boot) throw new Error('preloadBoot: no chunk for src/renderer/boot.ts');
        const files = new Set();
        const visit = (file) => {
          if (files.has(file)) return;
          files.add(file);
          chunks.find((c) => c.fileName === file)?.imports.forEach(visit);
        };
        visit(boot.fileName);
        const entry = chunks.find((c) => c.isEntry)?.fileName;
        return [...files]
          .filter((f) => f !== entry)
          .map((f) => ({ tag: 'link', attrs: { rel: 'modulepreload', crossorigin: true, href: `./${f}` }, injectTo: 'head' }));
      },
    },
  };
}

/** The renderer (Vue 3) into dist/renderer, with relative asset paths so both the app:// scheme and the web host serve it. */
async function buildRenderer() {
  const { build: viteBuild } = await import('vite');
  const { default: vue } = await import('@vitejs/plugin-vue');
  await viteBuild({
    configFile: false,
    root: `${root}src/renderer`,
    base: './',
    logLevel: 'warn',
    plugins: [vue(), preloadBoot()],
    build: {
      outDir: `${root}dist/renderer`,
      emptyOutDir: true,
      target: 'chrome120',
      // Everything is local; inlining assets as data: URLs would need a looser CSP.
      assetsInlineLimit: 0,
      modulePreload: { polyfill: false },
      sourcemap: false,
      reportCompressedSize: false,
      chunkSizeWarningLimit: 2000,
      rolldownOptions: { checks: { pluginTimings: false } },
    },
  });
}

const args = process.argv.slice(2);
if (args.length) {
  await buildNode(Object.fromEntries(args.map((e) => e.split('='))));
} else {
  const entries = {
    cli: 'src/cli/main.ts',
    labWorker: 'src/node/lab/labWorker.ts',
    webHost: 'src/node/web/main.ts',
    main: 'src/main/main.ts',
  };
  for (const [name, file] of Object.entries(entries)) if (!existsSync(`${root}${file}`)) throw new Error(`missing entry ${name}: ${file}`);
  await Promise.all([buildNode(entries), buildPreload(), buildRenderer()]);
}
