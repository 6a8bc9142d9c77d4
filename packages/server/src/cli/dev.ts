/** `parlor dev <game>`: serve one game unsandboxed on this machine and rebuild it when its files change. */
import { statSync } from 'node:fs';
import { basename, extname, resolve, sep } from 'node:path';
import { watch as watchFiles, type FSWatcher } from 'chokidar';
import { Command } from 'commander';
import { GAME_NAME_RE, playPath } from '@parlor/squish';
import { GameLoadError } from '../errors.js';
import { loadGame, type GameSource, type LoadedGame } from '../games/loader.js';
import { errText, type LogLevel } from '../logger.js';
import { cliLogger, describeError, devHostOption, fail, handleSignals, levelOption, listen, portOption } from './common.js';

/** Quiet time after the last file change before `parlor dev` rebuilds (editors write in bursts). */
const DEBOUNCE_MS = 150;

/** Route name for a game path: the folder name, or the file name without extension, made URL-safe. */
function gameNameOf(path: string, isDir: boolean): string {
  const raw = isDir ? basename(path) : basename(path, extname(path));
  const name = raw.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 64);
  return GAME_NAME_RE.test(name) ? name : 'game';
}

async function dev(target: string, opts: { port: number; host?: string; logLevel: LogLevel }): Promise<void> {
  try {
    process.setSourceMapsEnabled?.(true);
  } catch {
    // older Node: stack traces point into the bundle
  }
  const path = resolve(target);
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch {
    fail(`no such game file or folder: ${path}`);
  }
  const logger = await cliLogger(opts.logLevel);
  const name = gameNameOf(path, isDir);
  const source: GameSource = isDir ? { dir: path } : { file: path };
  let game: LoadedGame;
  try {
    game = await loadGame(name, source);
  } catch (err) {
    fail(describeError(err));
  }
  const server = await listen({ games: { [name]: game }, port: opts.port, host: opts.host, logger });
  console.log(`\n  Parlor dev: ${game.metadata.name}\n  Play:   ${server.url}${playPath(name)}\n  Lobby:  ${server.url}/\n  Watching ${isDir ? path : game.inputs.join(', ')} for changes.\n`);

  let watcher: FSWatcher | null = null;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let building = false;
  let again = false;

  const rebuild = async (): Promise<void> => {
    if (building) {
      again = true;
      return;
    }
    building = true;
    try {
      const started = Date.now();
      game = await server.replaceGame(name, source);
      logger.info({ game: name, ms: Date.now() - started }, 'rebuilt; live rooms redirected to the new build');
      if (!isDir) rewatch();
    } catch (err) {
      if (err instanceof GameLoadError) logger.error({ game: name, error: err.message }, 'rebuild failed (still serving the previous build)');
      else logger.error({ game: name, error: describeError(err) }, 'rebuild failed');
    } finally {
      building = false;
      if (again) {
        again = false;
        void rebuild();
      }
    }
  };
  const schedule = (): void => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      void rebuild();
    }, DEBOUNCE_MS);
  };
  /**
   * Watches the game (chokidar): a folder recursively, without `node_modules` and dot-files; a
   * single file together with every source file and asset of its last build (re-watched after
   * each rebuild, as its imports may change). Any change schedules one debounced rebuild.
   */
  const rewatch = (): void => {
    void watcher?.close();
    const targets = isDir ? [path] : [...new Set([...game.inputs, path, ...game.assets.map((a) => a.file)])];
    watcher = watchFiles(targets, {
      ignoreInitial: true,
      ignored: isDir ? (p: string) => p.slice(path.length).split(/[\\/]/).some((seg) => seg === 'node_modules' || seg.startsWith('.')) : undefined,
    });
    watcher.on('all', () => schedule());
    watcher.on('error', (err: unknown) => logger.warn({ error: errText(err), watching: isDir ? `${path}${sep}` : path }, 'cannot watch'));
  };
  rewatch();
  handleSignals(server, logger, () => {
    if (timer) clearTimeout(timer);
    void watcher?.close();
  });
}


/** The `dev` command. */
export function devCommand(): Command {
  return new Command('dev')
    .argument('<game>')
    .description('serve one game (a .ts/.js file or a folder) and rebuild it when its files change')
    .addOption(portOption())
    .addOption(devHostOption())
    .addOption(levelOption())
    .action((game: string, opts: { port: number; host?: string; logLevel: LogLevel }) => {
      dev(game, opts).catch((err: unknown) => fail(describeError(err)));
    });
}
