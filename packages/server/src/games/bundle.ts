/**
 * Bundling a game: esbuild into one CommonJS module, with imports confined to the game's folder
 * (`@parlor/squish` and Node built-ins external). Evaluating the bundle is the loader's.
 */
import { realpathSync } from 'node:fs';
import { dirname, resolve, sep } from 'node:path';
import { build, type Message, type Plugin } from 'esbuild';
import { GameLoadError, ServerErrorCode } from '../errors.js';

/**
 * An esbuild plugin that confines a game's imports to its folder: `@parlor/squish` stays
 * external, Node built-ins stay external (the runtime decides what a game may `require`), and
 * every other import must resolve (following symlinks) to a file inside `root`; anything else
 * (a host `.json`/`.txt`/source file, the host's `node_modules`) fails the build with an error at
 * the importing file:line.
 */
function confineToFolder(root: string): Plugin {
  let realRoot: string;
  try {
    realRoot = realpathSync(root);
  } catch {
    realRoot = resolve(root);
  }
  const inside = (p: string): boolean => p === realRoot || p.startsWith(realRoot + sep);
  return {
    name: 'parlor-confine-to-game-folder',
    setup(b) {
      b.onResolve({ filter: /.*/ }, async (args) => {
        if ((args.pluginData as { parlorInner?: boolean } | undefined)?.parlorInner) return undefined;
        if (args.path === '@parlor/squish') return { path: args.path, external: true };
        if (args.kind === 'entry-point') {
          // package.json "main" may name any path: the entry itself must be a file of the game too
          let real: string;
          try {
            real = realpathSync(resolve(args.resolveDir || dirname(args.path), args.path));
          } catch {
            return undefined; // esbuild reports the missing file
          }
          if (inside(real)) return undefined;
          return { errors: [{ text: `the entry ${JSON.stringify(args.path.slice(0, 200))} resolves to ${real}, outside the game folder ${realRoot}: package.json "main" must name a file of the game` }] };
        }
        const r = await b.resolve(args.path, {
          kind: args.kind,
          importer: args.importer,
          resolveDir: args.resolveDir,
          namespace: args.namespace,
          pluginData: { parlorInner: true },
        });
        if (r.errors.length) return { errors: r.errors, warnings: r.warnings };
        if (r.external || r.namespace !== 'file' || r.path === '') return r;
        let real: string;
        try {
          real = realpathSync(r.path);
        } catch {
          real = r.path;
        }
        if (!inside(real)) {
          return {
            errors: [
              {
                text: `import ${JSON.stringify(args.path.slice(0, 200))} resolves to ${real}, outside the game folder ${realRoot}: a game may import only its own files and '@parlor/squish'`,
              },
            ],
          };
        }
        return { ...r, path: real, pluginData: undefined };
      });
    },
  };
}

/**
 * Bundles a game entry with esbuild into one CommonJS module (`@parlor/squish` external).
 * Imports are confined to `root` (default the entry's folder): an import that resolves outside
 * it, e.g. a host `.json`/`.txt` file or a package from the host's `node_modules`, fails the build.
 * @param entry the game's entry file
 * @param root the game folder; default `dirname(entry)`
 * @throws {GameLoadError} `SERVER_GAME_BUILD_FAILED` (the message lists file:line of each import refused).
 */
export async function bundleGame(entry: string, root: string = dirname(entry)): Promise<{ code: string; inputs: string[] }> {
  let result;
  try {
    result = await build({
      entryPoints: [entry],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      external: ['@parlor/squish'],
      plugins: [confineToFolder(root)],
      write: false,
      metafile: true,
      sourcemap: 'inline',
      sourcesContent: false,
      // class and function names as the author wrote them (esbuild renames a class that refers to
      // itself, e.g. `_Conquest`), so load errors and stacks name the author's own class
      keepNames: true,
      logLevel: 'silent',
      absWorkingDir: dirname(entry),
    });
  } catch (err) {
    const errors = (err as { errors?: Message[] }).errors;
    const detail = errors?.length ? errors.map(formatEsbuildMessage).join('\n') : (err as Error).message;
    throw new GameLoadError(ServerErrorCode.GAME_BUILD_FAILED, entry, `cannot build ${entry}:\n${detail}`, { cause: err });
  }
  const out = result.outputFiles?.[0];
  if (!out) throw new GameLoadError(ServerErrorCode.GAME_BUILD_FAILED, entry, `cannot build ${entry}: esbuild produced no output`);
  const cwd = dirname(entry);
  const inputs = Object.keys(result.metafile?.inputs ?? {})
    .filter((p) => !p.includes('node_modules') && !p.includes(':'))
    .map((p) => resolve(cwd, p));
  return { code: out.text, inputs };
}

function formatEsbuildMessage(m: Message): string {
  const loc = m.location ? `${m.location.file}:${m.location.line}:${m.location.column + 1}: ` : '';
  return `  ${loc}${m.text}`;
}
