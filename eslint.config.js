// Layer rules of docs/architecture: core imports nothing of ours and no Node/DOM/Electron; node imports core;
// cli imports core+node (never electron); preload/renderer import only types from core/protocol.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import globals from 'globals';

const nodeBuiltins = ['node:*', 'fs', 'path', 'os', 'child_process', 'worker_threads', 'http', 'crypto', 'url'];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'bin/**', '.gpu/**', 'test-results/**'] },
  js.configs.recommended,
  { files: ['**/*.{js,mjs,cjs}'], languageOptions: { globals: globals.node } },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
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
            { group: ['electron', 'vue', 'commander', '@tensorflow/tfjs-node*', '@tensorflow/tfjs-backend-*', 'webgpu'], message: 'core depends on @tensorflow/tfjs-core only' },
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
);
