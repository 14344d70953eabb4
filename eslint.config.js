// Layer rules of docs/architecture: core imports nothing of ours and no Node/DOM/Electron; node imports core;
// cli imports core+node (never electron); main imports core+node+electron; preload/renderer import only types from
// core/protocol (the renderer talks to the service through window.lab only).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import pluginVue from 'eslint-plugin-vue';
import globals from 'globals';

const nodeBuiltins = ['node:*', 'fs', 'path', 'os', 'child_process', 'worker_threads', 'http', 'crypto', 'url'];

/**
 * Core modules with no imports but types (no tfjs, no zod; enforced below), which the renderer may import as values:
 * the one flow grammar, the rotation grid, the model and dataset kinds, the training defaults, the equivariance notes and
 * paper claims, the long-format export rows (protocol/paperExport) and the packed JSON of the run list (protocol/packedJson;
 * docs/architecture.md).
 */
const PURE_CORE_MODULES = [
  'flows/flowGrammar',
  'flows/rotationGrid',
  'nn/modelKinds',
  'data/datasetKinds',
  'metrics/equivarianceNotes',
  'metrics/paperClaims',
  'sweeps/stats',
  'protocol/trainDefaults',
  'protocol/paperExport',
  'protocol/packedJson',
];

/** Preload and renderer: only *types* from core/protocol; nothing from node, main, cli; no Node or tfjs. */
const typesOnlyFromProtocol = (extra) => [
  'error',
  {
    patterns: [
      {
        group: [
          '**/core/protocol/*',
          '!**/core/protocol/methods',
          '!**/core/protocol/trainDefaults',
          '!**/core/protocol/paperExport',
          '!**/core/protocol/packedJson',
        ],
        allowTypeImports: true,
        message: 'only types (and the dependency-free method list) may be imported from core/protocol here',
      },
      {
        group: [
          '**/core/*',
          '!**/core/protocol',
          ...new Set(PURE_CORE_MODULES.filter((m) => !m.startsWith('protocol/')).map((m) => `!**/core/${m.split('/')[0]}`)),
          '**/core/*/**',
          '!**/core/protocol/*',
          ...PURE_CORE_MODULES.map((m) => `!**/core/${m}`),
        ],
        message: 'only core/protocol types (and the pure modules of PURE_CORE_MODULES) may be imported here',
      },
      { group: ['**/node/**', '**/main/**', '**/cli/**'], message: 'this layer may not import node, main or cli code' },
      { group: [...nodeBuiltins, 'zod', '@tensorflow/*', 'webgpu', 'ws'], message: 'no Node modules, zod or tfjs in this layer' },
      ...extra,
    ],
  },
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'bin/**', '.gpu/**', 'test-results/**', 'release/**'] },
  js.configs.recommended,
  { files: ['**/*.{js,mjs,cjs}'], languageOptions: { globals: globals.node } },
  ...tseslint.configs.recommended,
  ...pluginVue.configs['flat/recommended'],
  {
    files: ['**/*.vue'],
    languageOptions: { parserOptions: { parser: tseslint.parser, extraFileExtensions: ['.vue'], sourceType: 'module' } },
    rules: {
      // Formatting is not lint's job here; keep the rules that find bugs and a11y-relevant template mistakes.
      'vue/max-attributes-per-line': 'off',
      'vue/singleline-html-element-content-newline': 'off',
      'vue/multiline-html-element-content-newline': 'off',
      'vue/html-self-closing': 'off',
      'vue/html-indent': 'off',
      'vue/html-closing-bracket-newline': 'off',
      'vue/attributes-order': 'off',
      'vue/first-attribute-linebreak': 'off',
      // Prettier formats (printWidth 160); this catches what it cannot wrap: long comments and template text.
      'vue/max-len': ['error', { code: 160, ignoreStrings: true, ignoreTemplateLiterals: true, ignoreRegExpLiterals: true, ignoreUrls: true }],
    },
  },
  {
    files: ['**/*.{ts,js,mjs}'],
    rules: {
      // Prettier formats (printWidth 160); this catches what it cannot wrap: long comments.
      'max-len': ['error', { code: 160, ignoreStrings: true, ignoreTemplateLiterals: true, ignoreRegExpLiterals: true, ignoreUrls: true }],
    },
  },
  {
    files: ['**/*.ts', '**/*.vue'],
    plugins: { 'import-x': importX },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'import-x/no-restricted-paths': [
        'error',
        {
          zones: [
            { target: './src/core', from: './src', except: ['./core'], message: 'core imports nothing of ours outside core' },
            { target: './src/node', from: ['./src/cli', './src/main', './src/preload', './src/renderer'], message: 'node imports core only' },
            { target: './src/cli', from: ['./src/main', './src/preload', './src/renderer'], message: 'cli imports core+node only' },
            { target: './src/main', from: ['./src/cli', './src/preload', './src/renderer'], message: 'main imports core+node+electron only' },
            {
              target: './src/preload',
              from: ['./src/node', './src/main', './src/cli', './src/renderer'],
              message: 'preload imports only types from core/protocol',
            },
            { target: './src/renderer', from: ['./src/node', './src/main', './src/cli', './src/preload'], message: 'the renderer talks to window.lab only' },
          ],
        },
      ],
    },
  },
  {
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: nodeBuiltins, message: 'core is pure TypeScript on tfjs-core: no Node imports' },
            {
              group: ['electron', 'vue', 'commander', '@tensorflow/tfjs-node*', '@tensorflow/tfjs-backend-*', 'webgpu'],
              message: 'core depends on @tensorflow/tfjs-core only',
            },
          ],
        },
      ],
    },
  },
  {
    // The pure core modules the renderer may import import nothing but types and each other (so they never pull tfjs
    // or zod in).
    files: PURE_CORE_MODULES.map((m) => `src/core/${m}.ts`),
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: `^(?!(${PURE_CORE_MODULES.map((m) => `\\.\\./${m}|\\./${m.split('/')[1]}`).join('|')})$).*`,
              allowTypeImports: true,
              message: 'a pure core module (PURE_CORE_MODULES) imports nothing but types and other pure core modules',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/cli/**/*.ts', 'src/node/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['electron'], message: 'cli/node never import electron' }] }],
    },
  },
  {
    files: ['src/preload/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': typesOnlyFromProtocol([
        { group: ['vue', 'chart.js', 'chartjs-*'], message: 'the preload exposes the service only' },
      ]),
    },
  },
  {
    files: ['src/renderer/**/*.{ts,vue}'],
    languageOptions: { globals: globals.browser },
    rules: { '@typescript-eslint/no-restricted-imports': typesOnlyFromProtocol([{ group: ['electron'], message: 'the renderer talks to window.lab only' }]) },
  },
);
