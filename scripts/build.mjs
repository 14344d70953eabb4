// Bundles the Node entry points with esbuild. tfjs is bundled (its gradient registrations ship only as ESM files
// with directory imports, which Node cannot load unbundled; tfjs keeps its engine and registries on globalThis, so
// a tfjs-node installed beside us still registers its backend where we see it). Native and optional packages stay
// external and resolve from node_modules at run time.
import { build } from 'esbuild';

export const external = ['webgpu', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', 'electron'];

const entries = Object.fromEntries(
  (process.argv.slice(2).length ? process.argv.slice(2) : ['cli=src/cli/main.ts', 'trainWorker=src/node/lab/trainWorker.ts']).map((e) => e.split('=')),
);

await build({
  entryPoints: entries,
  outdir: 'dist',
  outExtension: { '.js': '.js' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  mainFields: ['module', 'main'],
  external,
  // CommonJS code inside the bundle (tfjs backends, emscripten) expects require and __dirname.
  banner: {
    js: [
      "import { createRequire as __cr } from 'node:module';",
      "import { fileURLToPath as __fu } from 'node:url';",
      "import { dirname as __dn } from 'node:path';",
      'const require = __cr(import.meta.url);',
      'const __filename = __fu(import.meta.url);',
      'const __dirname = __dn(__filename);',
    ].join(' '),
  },
  sourcemap: true,
  logLevel: 'warning',
});
