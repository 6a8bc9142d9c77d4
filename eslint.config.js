// The package boundaries, enforced by a tool rather than by review:
// - no import cycles (import-x/no-cycle), inside a package or across packages;
// - another package is imported only through its public entry: `@parlor/x` or a subpath its
//   package.json "exports" declares (never `@parlor/x/src/...`, never `../../x/src/...`);
// - no Node built-ins in the isomorphic/browser packages (squish, client);
// - typescript-eslint's recommended rules (syntax only, no type information, to stay fast).
// `npm run lint` runs it; `npm test` includes it.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { createNodeResolver, importX } from 'eslint-plugin-import-x';

const PACKAGES = ['squish', 'client', 'server', 'fleet-agent', 'orchestrator'];
const here = (p) => fileURLToPath(new URL(p, import.meta.url));

/** Each package's declared entry points: `@parlor/x` and `@parlor/x/<subpath>` from its "exports". */
const entries = PACKAGES.map((dir) => {
  const pkg = JSON.parse(readFileSync(here(`./packages/${dir}/package.json`), 'utf8'));
  const subpaths = Object.keys(pkg.exports ?? { '.': null }).filter((k) => k !== '.').map((k) => k.slice(2));
  return { dir, name: pkg.name, subpaths };
});

const ENTRY_MESSAGE = 'Import another package through its public entry: `@parlor/<name>` or a subpath its package.json "exports" declares.';
const escape = (s) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
/** Matches any `@parlor/...` specifier that is not exactly a declared entry point. */
const undeclaredEntry = `^@parlor/(?!(?:${entries
  .map(({ name, subpaths }) => escape(name.slice('@parlor/'.length)) + (subpaths.length ? `(?:/(?:${subpaths.map(escape).join('|')}))?` : ''))
  .join('|')})$)`;

/**
 * Resolution for the import rules: relative `./x.js` finds `x.ts`, and `@parlor/x` (and its
 * subpaths) resolve to the package's *source*, so a cycle through another package is seen too.
 * A subpath export `./runtimes` -> `dist/runtimes.js` maps to `src/runtimes.ts`.
 */
const alias = {};
for (const { dir, name, subpaths } of entries) {
  for (const sub of subpaths) {
    if (sub.endsWith('.js') || sub === 'package.json') continue;
    alias[`${name}/${sub}`] = [here(`./packages/${dir}/src/${sub}.ts`)];
  }
}
for (const { dir, name } of entries) alias[name] = [here(`./packages/${dir}/src/index.ts`)];

const resolver = createNodeResolver({
  alias,
  extensions: ['.ts', '.tsx', '.js', '.mjs', '.cjs', '.json', '.d.ts'],
  extensionAlias: { '.js': ['.ts', '.tsx', '.js'], '.mjs': ['.mts', '.mjs'] },
  conditionNames: ['types', 'import', 'node', 'default'],
});

export default tseslint.config(
  {
    // Test fixtures are the inputs of the publish gate and the sandbox tests: hostile or broken
    // game code on purpose (Node built-ins, syntax errors, escapes), not project code.
    ignores: ['**/dist/**', '**/node_modules/**', 'packages/*/bin/**', 'packages/*/test/fixtures/**'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.js', '**/*.mjs'],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver-next': [resolver],
      // no-cycle follows imports through .ts files, so they must be parsed as TypeScript.
      'import-x/extensions': ['.ts', '.tsx', '.js', '.mjs', '.cjs'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts', '.tsx'] },
      // Our own packages are followed (a cycle through another package's entry is still a cycle); npm packages are not.
      'import-x/internal-regex': '^@parlor/',
    },
    rules: {
      // `_x` marks a parameter a signature needs but the body does not; `const { a, ...rest } = o` omits `a`.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true }],
      // Tree walks start at `this` (`let n: Node | null = this; while (n) ...`): not the closure alias the rule is about.
      '@typescript-eslint/no-this-alias': 'off',
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      // `../../other-package/src/x.js` (or from examples/bench into a package): a package's own files only.
      'import-x/no-relative-packages': 'error',
      'no-restricted-imports': ['error', { patterns: [{ regex: undeclaredEntry, message: ENTRY_MESSAGE }] }],
      // the same rule for `import('...')` (no-restricted-imports sees static imports only)
      'no-restricted-syntax': ['error', {
        selector: `ImportExpression[source.value=/${undeclaredEntry.replaceAll('\\/', '\\u002f').replaceAll('/', '\\u002f')}/]`,
        message: ENTRY_MESSAGE,
      }],
    },
  },
  {
    // The shared contract and the browser client run in browsers: no Node built-ins, no Node globals.
    files: ['packages/squish/src/**/*.ts', 'packages/client/src/**/*.ts'],
    rules: {
      'import-x/no-nodejs-modules': 'error',
      'no-restricted-globals': ['error',
        ...['Buffer', 'process', 'require', 'module', 'global', '__dirname', '__filename', 'setImmediate', 'clearImmediate']
          .map((name) => ({ name, message: `${name} is Node-only; squish and client run in browsers.` })),
      ],
    },
  },
  {
    // A peer's bench server (bench-peers/<peer>) runs the very scene and probe of the bench it is
    // measured against (bench/src), so both systems follow the same rules: the one cross-folder import allowed.
    files: ['bench-peers/*/src/**/*.ts'],
    rules: { 'import-x/no-relative-packages': 'off' },
  },
  {
    // Tests reach into browser globals and hostile payloads where `any` is the honest type.
    files: ['packages/*/test/**/*.ts', 'examples/test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
