/**
 * Loading a game: finds its entry, evaluates its bundle (in this process or a runtime's
 * `inspect`), validates its class and metadata, reads its assets. Bundling is `bundle.ts`'s.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { compileFunction } from 'node:vm';
import * as squish from '@parlor/squish';
import { GAME_NAME_RE, type GameAccess, type GameClass, type ResolvedGameMetadata } from '@parlor/squish';
import { mapStack, formatLocation, type BundleRef, type SourceLocation } from '../dev/locate.js';
import { TURN_BASED_PROBLEM_RE, turnBasedProblem } from '../engine/durable.js';
import { GameLoadError, ServerConfigError, ServerErrorCode } from '../errors.js';
import { loadAssets, type AssetLimits, type LoadedAsset } from './assets.js';
import { bundleGame } from './bundle.js';
import { validateMetadata } from './metadata.js';

/**
 * Where a game comes from. Exactly one of `file`, `dir` or `gameClass` is needed:
 * - `file`: a `.ts`/`.js`/`.mjs`/`.cjs` module whose default export is the game class;
 * - `dir`: a folder; its entry is `package.json`'s `main`, else `index.ts`, `index.js`, `index.mjs`;
 * - `gameClass`: a class already in this process (no bundling; asset paths resolve against `dir`,
 *   default the current directory).
 * Files and folders are bundled with esbuild (`@parlor/squish` stays external and resolves to the
 * host's own module, so `instanceof Game` holds and node ids stay unique).
 */
export interface GameSource {
  file?: string;
  dir?: string;
  gameClass?: GameClass;
}

/** A game ready to serve. Produced by {@link loadGame}; immutable (a rebuild makes a new one). */
export interface LoadedGame {
  /** Marks a loaded game (so a `LoadedGame` can be passed where a {@link GameSource} is accepted). */
  readonly loaded: true;
  /** Route name (`/play/<name>`). */
  readonly name: string;
  /** The game class. */
  readonly gameClass: GameClass;
  /** Its metadata with defaults applied. */
  readonly metadata: ResolvedGameMetadata;
  /** Folder asset paths are relative to. */
  readonly baseDir: string;
  /** Entry file, or `null` for a class given in-process. */
  readonly entry: string | null;
  /** The CommonJS bundle (for runtimes that evaluate it elsewhere), or `null` for an in-process class. */
  readonly bundle: { code: string; filename: string } | null;
  /** Source files the bundle was built from (absolute paths, no `node_modules`), for watching. */
  readonly inputs: readonly string[];
  /** The game's asset files with their hashes and URLs. */
  readonly assets: readonly LoadedAsset[];
  /**
   * Where the game's module was evaluated at load time: `'host'` (this process) or `'sandbox'`
   * (a runtime's `inspect`, see {@link LoadGameOptions.inspect}). For `'sandbox'`, `gameClass` is a
   * stand-in carrying the metadata whose constructor throws: the game can only run in a sandbox.
   * Absent means `'host'`.
   */
  readonly evaluatedIn?: 'host' | 'sandbox';
  /**
   * Who may join its rooms, enforced at join: for a catalog game, the catalog's access at
   * resolution (it takes precedence over the game's `metadata().access`). Absent: the metadata's
   * `access`, or anyone when the game declares none.
   */
  readonly access?: GameAccess;
  /** For a catalog version: its version (`1.2.0`); absent for a game served from source. */
  readonly version?: string;
  /** For a catalog version: the sha256 of its artifact; absent for a game served from source. */
  readonly sha256?: string;
}

/** Options of {@link loadGame}. */
export interface LoadGameOptions {
  /**
   * Evaluates the bundle somewhere other than this process and returns its metadata (e.g.
   * `ProcessRuntime.inspect`): untrusted game code then never runs in the host, not even its
   * module's top level. Without it, the bundle is evaluated in this process.
   */
  inspect?: (bundle: { code: string; filename: string }, baseDir: string) => Promise<{ metadata: ResolvedGameMetadata; className: string }>;
  /** Size caps of the game's assets (defaults: 8 MiB per asset, 64 MiB per game); see {@link loadAssets}. */
  assetLimits?: AssetLimits;
}

const ENTRY_NAMES = ['index.ts', 'index.js', 'index.mjs', 'index.cjs', 'index.tsx', 'index.mts', 'index.cts'];
const GAME_FILE_EXT = new Set(['.ts', '.js', '.mjs', '.cjs', '.mts', '.cts', '.tsx']);

/**
 * The entry file of a game folder: `package.json`'s `main` if present and existing, else the first
 * of `index.ts`, `index.js`, `index.mjs` (and `.cjs`/`.tsx`/`.mts`/`.cts`). `null` if none.
 */
export function findGameEntry(dir: string): string | null {
  const pkgFile = join(dir, 'package.json');
  if (existsSync(pkgFile)) {
    try {
      const pkg = JSON.parse(readFileSyncUtf8(pkgFile)) as { main?: unknown };
      if (typeof pkg.main === 'string') {
        const main = resolve(dir, pkg.main);
        if (isFile(main)) return main;
      }
    } catch {
      // unreadable package.json: fall back to index files
    }
  }
  for (const n of ENTRY_NAMES) {
    const f = join(dir, n);
    if (isFile(f)) return f;
  }
  return null;
}

/**
 * Checks that a module export is a game class (a constructor with `static metadata()` and a
 * `getLayers` method) and resolves its metadata.
 * @throws {GameLoadError} `SERVER_GAME_NO_CLASS` or `SERVER_GAME_BAD_METADATA` (also, with `field`
 *   `'turns'`, for a turn-based game that breaks `TurnBasedGame`'s rules: see `turnBasedProblem`).
 */
export function validateGameClass(value: unknown, path: string): { gameClass: GameClass; metadata: ResolvedGameMetadata } {
  if (typeof value !== 'function' || !value.prototype) {
    throw new GameLoadError(
      ServerErrorCode.GAME_NO_CLASS,
      path,
      `${path}: the default export must be a class extending Game from '@parlor/squish' (got ${describe(value)})`,
    );
  }
  const cls = value as GameClass;
  const isGame = cls.prototype instanceof squish.Game || typeof (cls.prototype as { getLayers?: unknown }).getLayers === 'function';
  if (!isGame) {
    throw new GameLoadError(
      ServerErrorCode.GAME_NO_CLASS,
      path,
      `${path}: the default export ${safeName(cls)} does not extend Game from '@parlor/squish'`,
    );
  }
  if (typeof cls.metadata !== 'function') {
    throw new GameLoadError(ServerErrorCode.GAME_BAD_METADATA, path, `${path}: ${safeName(cls)} has no static metadata()`);
  }
  let raw: unknown;
  try {
    raw = cls.metadata();
  } catch (err) {
    throw new GameLoadError(ServerErrorCode.GAME_BAD_METADATA, path, `${path}: ${safeName(cls)}.metadata() threw: ${safeMessage(err)}`, {
      cause: err,
    });
  }
  const metadata = validateMetadata(raw, path);
  const problem = turnBasedProblem(cls, metadata);
  if (problem) throw new GameLoadError(ServerErrorCode.GAME_BAD_METADATA, path, `${path}: ${problem}`, { field: 'turns' });
  return { gameClass: cls, metadata };
}

/**
 * Loads one game: bundles a file or folder with esbuild (bundle, platform node, CommonJS,
 * `@parlor/squish` external), evaluates it with a `require` that hands out the host's own
 * `@parlor/squish` module, validates the default export and reads its assets.
 *
 * @param name route name of the game (letters, digits, `.`, `_`, `-`)
 * @param source a {@link GameSource}, a path to a game file or folder, or an already {@link LoadedGame} (returned renamed if needed)
 * @throws {ServerConfigError} on an invalid name or an empty source.
 * @throws {GameLoadError} `SERVER_GAME_NOT_FOUND`, `SERVER_GAME_BUILD_FAILED` (message lists file:line of each
 *   esbuild error, including imports refused outside the game folder), `SERVER_GAME_EVAL_FAILED`, `SERVER_GAME_NO_CLASS`,
 *   `SERVER_GAME_BAD_METADATA` (with `field`), `SERVER_GAME_ASSET_MISSING`, `SERVER_GAME_ASSET_REFUSED`.
 */
export async function loadGame(name: string, source: GameSource | LoadedGame | string, options: LoadGameOptions = {}): Promise<LoadedGame> {
  if (!GAME_NAME_RE.test(name)) throw new ServerConfigError(`invalid game name "${name}" (use letters, digits, ".", "_", "-")`);
  if (typeof source === 'string') source = isDirectory(source) ? { dir: source } : { file: source };
  if ('loaded' in source && source.loaded === true) return source.name === name ? source : { ...source, name };
  const src = source as GameSource;

  if (src.gameClass) {
    const baseDir = resolve(src.dir ?? '.');
    const { gameClass, metadata } = validateGameClass(src.gameClass, src.gameClass.name || name);
    const assets = await loadAssets(name, baseDir, metadata.assets, options.assetLimits);
    return { loaded: true, name, gameClass, metadata, baseDir, entry: null, bundle: null, inputs: [], assets };
  }

  let entry: string;
  let baseDir: string;
  if (src.file) {
    entry = resolve(src.file);
    if (!isFile(entry)) throw new GameLoadError(ServerErrorCode.GAME_NOT_FOUND, entry, `game file not found: ${entry}`);
    baseDir = src.dir ? resolve(src.dir) : dirname(entry);
  } else if (src.dir) {
    baseDir = resolve(src.dir);
    if (!isDirectory(baseDir)) throw new GameLoadError(ServerErrorCode.GAME_NOT_FOUND, baseDir, `game folder not found: ${baseDir}`);
    const found = findGameEntry(baseDir);
    if (!found) {
      throw new GameLoadError(
        ServerErrorCode.GAME_NOT_FOUND,
        baseDir,
        `${baseDir}: no entry file (package.json "main", index.ts, index.js or index.mjs)`,
      );
    }
    entry = found;
  } else {
    throw new ServerConfigError(`game "${name}": give a file, a dir or a gameClass`);
  }

  const { code, inputs } = await bundleGame(entry, baseDir);
  let gameClass: GameClass;
  let metadata: ResolvedGameMetadata;
  if (options.inspect) {
    let inspected: { metadata: ResolvedGameMetadata; className: string };
    try {
      inspected = await options.inspect({ code, filename: entry }, baseDir);
    } catch (err) {
      const message = safeMessage(err);
      // The runner validates metadata with the same schema (squish's resolveMetadata) before it
      // answers; its refusal ("<file>: metadata().<field> …") is a metadata error, not a crash.
      const schema = /(?:^|: )metadata\(\)(?:\.([A-Za-z0-9_.:-]{1,200}))? \S/.exec(message);
      const turns = TURN_BASED_PROBLEM_RE.exec(message);
      if (turns) throw new GameLoadError(ServerErrorCode.GAME_BAD_METADATA, entry, `${entry}: ${message.slice(turns.index).replace(/^: /, '')}`, { cause: err, field: 'turns' });
      if (schema) {
        throw new GameLoadError(ServerErrorCode.GAME_BAD_METADATA, entry, `${entry}: ${message.slice(schema.index).replace(/^: /, '')}`, { cause: err, field: schema[1] ?? '' });
      }
      throw new GameLoadError(ServerErrorCode.GAME_EVAL_FAILED, entry, `${entry} failed to load in the sandbox: ${message}`, { cause: err });
    }
    // The sandbox is untrusted: validate its answer again here (schema, lengths, plain values).
    metadata = validateMetadata(inspected?.metadata, entry);
    const className = typeof inspected?.className === 'string' && /^[A-Za-z_$][\w$]{0,63}$/.test(inspected.className) ? inspected.className : name;
    gameClass = sandboxedGameClass(className, metadata, entry);
  } else {
    ({ gameClass, metadata } = validateGameClass(evaluateBundle(code, entry), entry));
  }
  const assets = await loadAssets(name, baseDir, metadata.assets, options.assetLimits);
  return {
    loaded: true,
    name,
    gameClass,
    metadata,
    baseDir,
    entry,
    bundle: { code, filename: entry },
    inputs,
    assets,
    evaluatedIn: options.inspect ? 'sandbox' : 'host',
  };
}

/** A stand-in class for a game evaluated in a sandbox: carries its metadata; constructing it throws. */
function sandboxedGameClass(className: string, metadata: ResolvedGameMetadata, entry: string): GameClass {
  class SandboxedGame extends squish.Game {
    static override metadata(): ResolvedGameMetadata {
      return metadata;
    }
    constructor() {
      super();
      throw new GameLoadError(ServerErrorCode.GAME_EVAL_FAILED, entry, `${entry} was loaded for a sandboxed runtime and cannot run in this process`);
    }
    getLayers(): squish.Node[] {
      return [];
    }
  }
  Object.defineProperty(SandboxedGame, 'name', { value: className });
  return SandboxedGame;
}

/**
 * Evaluates a CommonJS game bundle in this process. `require('@parlor/squish')` returns the host's
 * own module object; every other id resolves from the entry's folder. Returns the default export
 * (or `module.exports` when there is none).
 * @throws {GameLoadError} `SERVER_GAME_EVAL_FAILED`.
 */
export function evaluateBundle(code: string, filename: string): unknown {
  const nodeRequire = createRequire(filename);
  const gameRequire = Object.assign(
    (id: string): unknown => (id === '@parlor/squish' ? squish : nodeRequire(id)),
    { resolve: nodeRequire.resolve, cache: nodeRequire.cache },
  );
  const module = { exports: {} as Record<string, unknown> };
  try {
    const fn = compileFunction(code, ['exports', 'require', 'module', '__filename', '__dirname'], { filename });
    fn.call(module.exports, module.exports, gameRequire, module, filename, dirname(filename));
  } catch (err) {
    // Point at the author's line: the thrown error's stack is rewritten through the bundle's source map.
    const at = mapErrorStack(err, { code, filename });
    throw new GameLoadError(ServerErrorCode.GAME_EVAL_FAILED, filename, `${filename} threw while loading: ${safeMessage(err)}${at ? ` (at ${formatLocation(at)})` : ''}`, {
      cause: err,
    });
  }
  const exp = module.exports as unknown;
  if (exp && (typeof exp === 'object' || typeof exp === 'function') && 'default' in (exp as object)) {
    return (exp as { default: unknown }).default;
  }
  return exp;
}

/**
 * Lists the games in a folder without building them: every subfolder with an entry file (see
 * {@link findGameEntry}) and every `.ts`/`.js`/`.mjs`/`.cjs` file (not `.d.ts`, `.test.*`,
 * `.spec.*`, `*.config.*`) is a game, named by its folder or file name (without extension).
 * Hidden entries and `node_modules` are skipped.
 * @throws {GameLoadError} `SERVER_GAME_NOT_FOUND` when `dir` is not a folder.
 */
export async function findGames(dir: string): Promise<Record<string, GameSource>> {
  const root = resolve(dir);
  if (!isDirectory(root)) throw new GameLoadError(ServerErrorCode.GAME_NOT_FOUND, root, `games folder not found: ${root}`);
  const out: Record<string, GameSource> = {};
  const entries = (await readdir(root, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
  for (const e of entries) {
    if (e.name.startsWith('.') || e.name === 'node_modules') continue;
    const full = join(root, e.name);
    if (e.isDirectory()) {
      if (!GAME_NAME_RE.test(e.name)) continue;
      if (findGameEntry(full)) out[e.name] = { dir: full };
    } else if (e.isFile()) {
      const ext = extname(e.name);
      if (!GAME_FILE_EXT.has(ext) || /\.d\.[cm]?ts$|\.(test|spec|config)\.[cm]?[jt]sx?$/.test(e.name)) continue;
      const name = basename(e.name, ext);
      if (!GAME_NAME_RE.test(name) || out[name]) continue;
      out[name] = { file: full };
    }
  }
  return out;
}

/** Options of {@link loadGamesFromDir}. */
export interface LoadGamesOptions {
  /**
   * Called for a game that fails to load; the game is skipped. Without it the first failure
   * rejects the whole call.
   */
  onError?: (name: string, error: GameLoadError | ServerConfigError) => void;
  /** See {@link LoadGameOptions.inspect}. */
  inspect?: LoadGameOptions['inspect'];
  /** See {@link LoadGameOptions.assetLimits}. */
  assetLimits?: AssetLimits;
}

/**
 * Finds ({@link findGames}) and loads ({@link loadGame}) every game in a folder.
 * @returns the loaded games by name.
 * @throws {GameLoadError} the first failure, unless `options.onError` is given.
 */
export async function loadGamesFromDir(dir: string, options: LoadGamesOptions = {}): Promise<Record<string, LoadedGame>> {
  const sources = await findGames(dir);
  const out: Record<string, LoadedGame> = {};
  for (const [name, source] of Object.entries(sources)) {
    try {
      out[name] = await loadGame(name, source, { inspect: options.inspect, assetLimits: options.assetLimits });
    } catch (err) {
      if (!options.onError || !(err instanceof GameLoadError || err instanceof ServerConfigError)) throw err;
      options.onError(name, err);
    }
  }
  return out;
}

/** An error's message if it is a string (never calls `String()` or getters on untrusted values), capped at 500 characters. */
function safeMessage(err: unknown): string {
  try {
    if (err !== null && (typeof err === 'object' || typeof err === 'function')) {
      const d = Object.getOwnPropertyDescriptor(err, 'message') ?? (err instanceof Error ? { value: Error.prototype.message } : undefined);
      const m = d && 'value' in d ? d.value : undefined;
      if (typeof m === 'string') return m.slice(0, 500);
      return 'a non-Error value was thrown';
    }
    if (typeof err === 'string') return err.slice(0, 500);
    return typeof err;
  } catch {
    return 'unknown error';
  }
}

/**
 * Rewrites a thrown error's `stack` to the author's file:line:column (see `mapStack`) when it is
 * an own string property, and returns where in the game it arose; never runs a getter.
 */
function mapErrorStack(err: unknown, bundle: BundleRef): SourceLocation | undefined {
  try {
    if (err === null || typeof err !== 'object') return undefined;
    const d = Object.getOwnPropertyDescriptor(err, 'stack');
    if (!d || !('value' in d) || typeof d.value !== 'string') return undefined;
    const { stack, at } = mapStack(d.value, bundle);
    if (d.writable) (err as { stack: string }).stack = stack;
    return at;
  } catch {
    return undefined;
  }
}

/** A class's own `name` if it is a string (never runs a getter). */
function safeName(cls: unknown): string {
  try {
    const d = Object.getOwnPropertyDescriptor(cls, 'name');
    return d && typeof d.value === 'string' ? d.value.slice(0, 64) : '(class)';
  } catch {
    return '(class)';
  }
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'object') return Object.keys(v as object).length ? `an object with keys ${Object.keys(v as object).join(', ')}` : 'an empty object';
  return typeof v;
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function readFileSyncUtf8(p: string): string {
  return readFileSync(p, 'utf8');
}
