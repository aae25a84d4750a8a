import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'data/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      'no-console': ['error', { allow: ['warn', 'error'] }],
    },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: { globals: { process: 'readonly', Buffer: 'readonly', console: 'readonly', URL: 'readonly', setTimeout: 'readonly' } },
  },
  {
    // Without a message, a failing assert.ok(x) builds one by re-reading the source through the
    // module hooks (tsx), which hung a whole test file instead of failing it (nodejs/node#52962).
    files: ['test/**'],
    rules: {
      'no-restricted-syntax': [
        'error',
        { selector: "CallExpression[callee.object.name='assert'][callee.property.name='ok'][arguments.length=1]", message: 'Give assert.ok a message: without one a failure can hang the test file under tsx.' },
        { selector: "CallExpression[callee.name='assert'][arguments.length=1]", message: 'Give assert a message: without one a failure can hang the test file under tsx.' },
      ],
    },
  },
  {
    files: ['bench/**', 'src/cli.ts', 'scripts/**'],
    rules: { 'no-console': 'off' },
  },
);
