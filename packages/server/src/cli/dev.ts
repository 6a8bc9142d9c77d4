/**
 * `parlor dev <game>`: serve one game unsandboxed on this machine and rebuild it when its files
 * change. It never exits on a broken game: build, load and room errors are printed (stderr) at the
 * author's file:line:column with a code frame and reported to the server's `DevStatus` (the
 * browser overlay's source); a game that does not build yet is served once it does. After each
 * good build, TypeScript's checker runs in the background and its errors are warnings.
 */
import { statSync } from 'node:fs';
import { basename, extname, resolve, sep } from 'node:path';
import { watch as watchFiles, type FSWatcher } from 'chokidar';
import { Command } from 'commander';
import { GAME_NAME_RE, playPath } from '@parlor/squish';
import { diagnosticAt, formatDiagnostic, loadErrorDiagnostics } from '../dev/diagnostics.js';
import { DevStatus, type GameDiagnostic } from '../dev/status.js';
import { JS_GAME, typeCheckGame, type TypeCheck } from '../dev/typecheck.js';
import { GameLoadError, ServerConfigError } from '../errors.js';
import { findGameEntry, loadGame, type GameSource, type LoadedGame } from '../games/loader.js';
import { defaultExportLocation } from '../gate/checks.js';
import { errText, type LogLevel } from '../logger.js';
import { cliLogger, describeError, devHostOption, fail, handleSignals, identityFromFlags, identityOptionList, levelOption, listen, portOption, type IdentityFlags } from './common.js';

/** Quiet time after the last file change before `parlor dev` rebuilds (editors write in bursts). */
const DEBOUNCE_MS = 150;

/** Route name for a game path: the folder name, or the file name without extension, made URL-safe. */
function gameNameOf(path: string, isDir: boolean): string {
  const raw = isDir ? basename(path) : basename(path, extname(path));
  const name = raw.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 64);
  return GAME_NAME_RE.test(name) ? name : 'game';
}

/** Prints diagnostics for people on stderr (stdout carries the logs): location, message, code frame. */
function printDiagnostics(diagnostics: readonly GameDiagnostic[]): void {
  const color = process.stderr.isTTY === true;
  for (const d of diagnostics) process.stderr.write(`\n${formatDiagnostic(d, { color })}\n\n`);
}

async function dev(target: string, opts: { port: number; host?: string; logLevel: LogLevel } & IdentityFlags): Promise<void> {
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
  const entryOf = (): string => (isDir ? (findGameEntry(path) ?? path) : path);
  const status = new DevStatus();
  // Room errors reach the status from the rooms; print them (builds are printed where they are reported).
  let reporting = false;
  status.on('change', (state) => {
    if (!reporting) printDiagnostics(state.diagnostics.filter((d) => d.kind === 'room'));
  });
  const report = (ok: boolean, diagnostics: GameDiagnostic[]): void => {
    reporting = true;
    try {
      status.report(name, ok, diagnostics);
    } finally {
      reporting = false;
    }
  };

  // A game that does not build yet is served once it does: the server starts either way.
  let game: LoadedGame | null = null;
  let firstError: unknown = null;
  try {
    game = await loadGame(name, source);
  } catch (err) {
    if (!(err instanceof GameLoadError || err instanceof ServerConfigError)) fail(describeError(err));
    firstError = err;
  }
  const identity = identityFromFlags(opts);
  const server = await listen({ games: game ? { [name]: game } : {}, port: opts.port, host: opts.host, logger, devStatus: status, ...(identity ? { identity } : {}) });
  console.log(`\n  Parlor dev: ${game?.metadata.name ?? name}\n  Play:   ${server.url}${playPath(name)}\n  Lobby:  ${server.url}/\n  Watching ${isDir || !game ? path : game.inputs.join(', ')} for changes.\n`);

  let watcher: FSWatcher | null = null;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let building = false;
  let again = false;
  let typeCheck: TypeCheck | null = null;
  /** Files a failed build named (watched too, so fixing an imported file rebuilds). */
  let failedFiles: string[] = [];

  const built = (loaded: LoadedGame, ms: number | null): void => {
    game = loaded;
    failedFiles = [];
    report(true, []);
    if (ms !== null) logger.info({ game: name, ms }, 'rebuilt; live rooms redirected to the new build');
    if (!isDir) void rewatch();
    // Off the critical path: the game is served already; a rebuild that arrives meanwhile supersedes this check.
    typeCheck?.cancel();
    const check = (typeCheck = typeCheckGame(loaded.entry ?? entryOf(), loaded.baseDir));
    void check.result.then((r) => {
      if (!r || check !== typeCheck) return;
      typeCheck = null;
      if (r.skipped) {
        // A JavaScript game has nothing to check; anything else that stops the checker is worth a warning.
        if (r.skipped === JS_GAME) logger.debug({ game: name }, 'type check skipped: the game is JavaScript');
        else logger.warn({ game: name, reason: r.skipped }, 'type check skipped');
        return;
      }
      const warnings = r.problems.map((p) => diagnosticAt('type', 'warning', p.message, p));
      if (warnings.length) {
        report(true, [...(status.get(name)?.diagnostics ?? []).filter((d) => d.kind === 'room'), ...warnings]);
        printDiagnostics(warnings);
        logger.warn({ game: name, typeErrors: warnings.length, ms: r.ms }, 'type errors (the game still runs)');
      } else {
        logger.info({ game: name, ms: r.ms }, 'type check: no errors');
      }
    });
  };
  const failed = (err: unknown): void => {
    typeCheck?.cancel();
    typeCheck = null;
    const entry = entryOf();
    const diagnostics = loadErrorDiagnostics(err, entry, { file: entry, ...defaultExportLocation(entry) });
    failedFiles = diagnostics.flatMap((d) => (d.file ? [d.file] : []));
    report(false, diagnostics);
    // Printed once the files are watched: a fix saved right after reading the error is never missed.
    void (isDir ? Promise.resolve() : rewatch()).then(() => {
      printDiagnostics(diagnostics);
      logger.error(
        { game: name, error: diagnostics[0]?.message ?? describeError(err) },
        game ? 'build failed (still serving the previous build until it is fixed)' : 'build failed; waiting for a fix',
      );
    });
  };

  const rebuild = async (): Promise<void> => {
    if (building) {
      again = true;
      return;
    }
    building = true;
    typeCheck?.cancel();
    typeCheck = null;
    try {
      const started = Date.now();
      const loaded = await server.replaceGame(name, source);
      built(loaded, Date.now() - started);
    } catch (err) {
      if (err instanceof GameLoadError || err instanceof ServerConfigError) failed(err);
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
   * single file together with every source file and asset of its last good build and the files
   * a failed build named (re-watched after each build, as its imports may change). Any change
   * schedules one debounced rebuild.
   */
  const rewatch = (): Promise<void> => {
    void watcher?.close();
    const targets = isDir ? [path] : [...new Set([path, ...(game ? [...game.inputs, ...game.assets.map((a) => a.file)] : []), ...failedFiles])];
    watcher = watchFiles(targets, {
      ignoreInitial: true,
      ignored: isDir ? (p: string) => p.slice(path.length).split(/[\\/]/).some((seg) => seg === 'node_modules' || seg.startsWith('.')) : undefined,
    });
    watcher.on('all', () => schedule());
    watcher.on('error', (err: unknown) => logger.warn({ error: errText(err), watching: isDir ? `${path}${sep}` : path }, 'cannot watch'));
    const w = watcher;
    return new Promise<void>((resolve) => {
      w.once('ready', () => resolve());
      w.once('error', () => resolve());
    });
  };
  if (isDir) await rewatch();
  if (game) built(game, null);
  else failed(firstError);
  handleSignals(server, logger, () => {
    if (timer) clearTimeout(timer);
    typeCheck?.cancel();
    void watcher?.close();
  });
}

/** The `dev` command. */
export function devCommand(): Command {
  const cmd = new Command('dev')
    .argument('<game>')
    .description('serve one game (a .ts/.js file or a folder) and rebuild it when its files change')
    .addOption(portOption())
    .addOption(devHostOption())
    .addOption(levelOption());
  for (const o of identityOptionList()) cmd.addOption(o);
  return cmd.action((game: string, opts: { port: number; host?: string; logLevel: LogLevel } & IdentityFlags) => {
    dev(game, opts).catch((err: unknown) => fail(describeError(err)));
  });
}
