// Lint: the recommended JavaScript and typescript-eslint rules, plus the direction of imports
// between the layers of src/ (scripts/eslint-layers.js). Formatting is Prettier's (.prettierrc.json).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import layers from './scripts/eslint-layers.js';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.kodah/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      // Stripping control characters from what attackers write is exactly what some patterns are for.
      'no-control-regex': 'off',
    },
  },
  {
    files: ['src/**/*.ts'],
    plugins: { kodah: layers },
    rules: { 'kodah/layers': 'error' },
  },
  {
    // Operator commands go through the modules that own the tables, never SQL of their own.
    files: ['src/cli/**/*.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "CallExpression[callee.property.name='query']",
          message: 'no SQL in cli/: call a function of the module that owns the table',
        },
      ],
    },
  },
  {
    // Its class lists joiners and variation selectors one by one on purpose: each is removed alone.
    files: ['src/github/sanitize-text.ts'],
    rules: { 'no-misleading-character-class': 'off' },
  },
  {
    // Tests and benchmarks read untyped JSON answers; `any` there is the honest type.
    files: ['test/**/*.ts', 'bench/**/*.ts', 'src/**/*.test.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
