// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';
import { importX } from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

/**
 * The layers, lowest first: each may import only from the layers before it (docs/architecture.md).
 * lib is a leaf; domain holds the rules; db, migrations and backups the data (backups owns its
 * manifest table); use-cases the writes; jobs the queues; api and dashboard the transport; app composes them all.
 */
const LAYERS = [['lib'], ['domain'], ['db', 'migrations', 'backups'], ['use-cases'], ['jobs'], ['api'], ['dashboard'], ['app']];
const layerZones = LAYERS.flatMap((folders, level) => {
  const higher = LAYERS.slice(level + 1).flat();
  return higher.length === 0
    ? []
    : folders.map((folder) => ({
        target: `./${folder}`,
        from: higher.map((h) => `./${h}`),
        message: `${folder}/ is below ${higher.join(', ')} in the layers (docs/architecture.md): pass what it needs in instead.`,
      }));
});

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'dashboard/web/dist/', 'coverage/', 'test-artifacts/', 'bench-results/', '.uvis/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      'no-console': 'error',
    },
  },
  {
    files: ['**/*.ts'],
    ignores: ['dashboard/web/**', 'tests/**', 'scripts/**'],
    plugins: { 'import-x': importX },
    settings: { 'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })] },
    rules: {
      'import-x/no-restricted-paths': [
        'error',
        {
          zones: [
            ...layerZones,
            {
              // A route module declares routes; what two of them share lives beside them (api/*.ts) or in use-cases/.
              target: './api/routes/!(index).ts',
              from: './api/routes',
              message: 'route modules do not import each other: move what they share to api/ or use-cases/.',
            },
          ],
        },
      ],
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
    },
  },
  {
    // The dashboard builds DOM from data with textContent only: HTML sinks are refused outright.
    files: ['dashboard/web/src/**'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      'no-restricted-properties': ['error', { property: 'innerHTML' }, { property: 'outerHTML' }, { property: 'insertAdjacentHTML' }],
    },
  },
  {
    files: ['scripts/**', 'tests/**'],
    rules: { 'no-console': 'off', '@typescript-eslint/no-explicit-any': 'off' },
  },
);
