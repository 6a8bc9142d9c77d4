/**
 * Type-checking a game with TypeScript's own checker (the `typescript` package), strict, in a
 * separate low-priority process so that a dev server keeps serving (and a smoke run keeps its
 * timing) while it runs. `@parlor/squish` resolves to
 * the declarations of the squish this server itself uses, wherever the game lives on disk.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { setPriority } from 'node:os';
import { dirname, join, sep } from 'node:path';
import type { SourceLocation } from './locate.js';

/** One type error in a game file. Line and column are 1-based. */
export interface TypeProblem extends SourceLocation {
  /** TypeScript's message (chains flattened to one line) with its code, e.g. `… [TS2322]`. */
  message: string;
}

/** Result of {@link typeCheckGame}: the problems in the game's own files, or why it could not run. */
export interface TypeCheckResult {
  problems: TypeProblem[];
  /** Set when the check could not run (TypeScript or the squish declarations not found); `problems` is then empty. */
  skipped?: string;
  /** How long the check took, ms. */
  ms: number;
}

/** A running check: its result, and `cancel()` (a newer build supersedes it; the result then resolves `null`). */
export interface TypeCheck {
  readonly result: Promise<TypeCheckResult | null>;
  cancel(): void;
}

/** {@link TypeCheckResult.skipped} of a JavaScript game (nothing to check). */
export const JS_GAME = 'the game is JavaScript';

/** Most problems reported per check. */
const MAX_PROBLEMS = 100;

const require = createRequire(import.meta.url);

/** The declaration file of the `@parlor/squish` this server runs with, or `null` when it has none. */
export function squishDeclarations(): string | null {
  let dir: string;
  try {
    dir = dirname(require.resolve('@parlor/squish'));
  } catch {
    return null;
  }
  for (let i = 0; i < 4; i++, dir = dirname(dir)) {
    const pkgFile = join(dir, 'package.json');
    if (!existsSync(pkgFile)) continue;
    try {
      const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as { name?: string; types?: string };
      if (pkg.name !== '@parlor/squish') continue;
      const types = join(dir, typeof pkg.types === 'string' ? pkg.types : 'dist/index.d.ts');
      return existsSync(types) ? types : null;
    } catch {
      return null;
    }
  }
  return null;
}

/** The folder of `@types/node` as the server resolves it, or `null`. */
function nodeTypesRoot(): string | null {
  try {
    return dirname(dirname(require.resolve('@types/node/package.json')));
  } catch {
    return null;
  }
}

/** An import of a Node built-in (`'events'`, `'node:util'`…) in a source text. */
const NODE_IMPORT = /(?:from\s*|require\s*\(\s*|import\s*\(\s*)['"](?:node:)?(?:assert|buffer|events|path|querystring|string_decoder|url|util)(?:\/[a-z]+)?['"]/;

/**
 * The compiler options of the check (tsconfig JSON form): strict, no emit, bundler resolution,
 * `@parlor/squish` mapped to `squishTypes`. With `nodeTypes` (a folder holding `@types/node`'s
 * `node`), Node's types; otherwise only the globals a game has ({@link GAME_GLOBALS}), which is
 * several times faster.
 */
export function checkOptions(squishTypes: string, nodeTypes: string | null): Record<string, unknown> {
  return {
    strict: true,
    noEmit: true,
    target: 'es2022',
    module: 'esnext',
    moduleResolution: 'bundler',
    lib: ['es2022'],
    ...(nodeTypes ? { typeRoots: [nodeTypes], types: ['node'] } : { types: [] }),
    skipLibCheck: true,
    allowImportingTsExtensions: true,
    resolveJsonModule: true,
    esModuleInterop: true,
    forceConsistentCasingInFileNames: true,
    noFallthroughCasesInSwitch: true,
    paths: { '@parlor/squish': [squishTypes] },
  };
}

/** Globals of a game's sandbox beyond ES2022, declared for the check when Node's types are not loaded. */
const GAME_GLOBALS = `
interface ParlorConsole { log(...data: unknown[]): void; info(...data: unknown[]): void; warn(...data: unknown[]): void; error(...data: unknown[]): void; debug(...data: unknown[]): void; trace(...data: unknown[]): void; }
declare var console: ParlorConsole;
declare function setTimeout(callback: (...args: any[]) => void, ms?: number, ...args: any[]): any;
declare function clearTimeout(id: any): void;
declare function setInterval(callback: (...args: any[]) => void, ms?: number, ...args: any[]): any;
declare function clearInterval(id: any): void;
declare function queueMicrotask(callback: () => void): void;
declare function structuredClone<T>(value: T): T;
declare var performance: { now(): number };
declare class TextEncoder { encode(input?: string): Uint8Array; }
declare class TextDecoder { constructor(label?: string); decode(input?: ArrayBuffer | ArrayBufferView): string; }
`;

/**
 * The checker's program, run by a separate Node process (\`node -e\`, so it needs no file of its
 * own in the build): its configuration arrives as the first argument, its problems leave as
 * JSON on stdout.
 */
const CHECKER_SOURCE = `
const cfg = JSON.parse(process.argv[1]);
const ts = require(cfg.typescript);
const { options, errors } = ts.convertCompilerOptionsFromJson(cfg.options, cfg.baseDir);
const out = [];
const text = (d) => ts.flattenDiagnosticMessageText(d.messageText, ' ') + ' [TS' + d.code + ']';
for (const d of errors) out.push({ file: '', line: 0, column: 0, message: text(d) });
const host = ts.createCompilerHost(options);
const roots = [cfg.entry];
if (cfg.globals) {
  const G = cfg.globalsFile;
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (f, lang, ...rest) => (f === G ? ts.createSourceFile(f, cfg.globals, lang) : getSourceFile.call(host, f, lang, ...rest));
  host.fileExists = (f) => f === G || fileExists.call(host, f);
  host.readFile = (f) => (f === G ? cfg.globals : readFile.call(host, f));
  roots.push(G);
}
const program = ts.createProgram({ rootNames: roots, options, host });
for (const d of ts.getPreEmitDiagnostics(program)) {
  if (d.category !== ts.DiagnosticCategory.Error) continue;
  if (!d.file || d.start === undefined) { out.push({ file: '', line: 0, column: 0, message: text(d) }); continue; }
  const p = d.file.getLineAndCharacterOfPosition(d.start);
  out.push({ file: d.file.fileName, line: p.line + 1, column: p.character + 1, message: text(d) });
}
process.stdout.write(JSON.stringify(out));
`;

/** Most bytes of checker output read (its problems are capped when reported). */
const MAX_OUTPUT_BYTES = 4 * 1024 * 1024;

/**
 * Type-checks a game from its entry (TypeScript follows its imports) in a separate Node process
 * at a low CPU priority (`options.nice`, 0–19, default 19: the lowest), so a dev server keeps serving and a smoke run keeps its timing while
 * it runs. Only problems in the game's own files (inside `baseDir`, not `node_modules`, not
 * `.d.ts`) are reported, at most 100. Node's types are loaded only when one of `sources` (default
 * the entry) imports a Node built-in. JavaScript entries are not checked (`skipped`). Never
 * rejects: a checker that fails is a `skipped` result.
 */
export function typeCheckGame(entry: string, baseDir: string, sources: readonly string[] = [entry], options: { nice?: number } = {}): TypeCheck {
  const started = performance.now();
  const ms = (): number => Math.round(performance.now() - started);
  const skip = (why: string): TypeCheck => ({ result: Promise.resolve({ problems: [], skipped: why, ms: ms() }), cancel: () => undefined });
  if (!/\.[cm]?tsx?$/.test(entry)) return skip(JS_GAME);
  let typescript: string;
  try {
    typescript = require.resolve('typescript');
  } catch {
    return skip('the typescript package is not installed');
  }
  const squishTypes = squishDeclarations();
  if (!squishTypes) return skip('the @parlor/squish declarations were not found (build @parlor/squish)');
  const root = real(baseDir);
  const nodeTypes = sources.some(importsNode) ? nodeTypesRoot() : null;
  const cfg = {
    typescript,
    entry,
    baseDir,
    options: checkOptions(squishTypes, nodeTypes),
    globals: nodeTypes ? '' : GAME_GLOBALS,
    globalsFile: join(root, '__parlor_game_globals__.d.ts'),
  };
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, ['-e', CHECKER_SOURCE, JSON.stringify(cfg)], { stdio: ['ignore', 'pipe', 'pipe'], env: {} });
  } catch (err) {
    return skip(`the type checker could not start: ${(err as Error).message}`);
  }
  try {
    if (child.pid) setPriority(child.pid, Math.max(0, Math.min(19, options.nice ?? 19)));
  } catch {
    // not allowed: it runs at normal priority
  }
  let cancelled = false;
  const result = new Promise<TypeCheckResult | null>((resolvePromise) => {
    let out = '';
    let err = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (d: string) => {
      if (out.length < MAX_OUTPUT_BYTES) out += d;
    });
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => {
      if (err.length < 4096) err += d;
    });
    child.once('error', (e: Error) => resolvePromise(cancelled ? null : { problems: [], skipped: `the type checker failed: ${e.message}`, ms: ms() }));
    child.once('close', (code) => {
      if (cancelled) return resolvePromise(null);
      let raw: TypeProblem[];
      try {
        if (code !== 0) throw new Error(err.trim().split('\n').pop() || `exit code ${code}`);
        raw = JSON.parse(out) as TypeProblem[];
      } catch (e) {
        return resolvePromise({ problems: [], skipped: `the type checker failed: ${(e as Error).message}`, ms: ms() });
      }
      const problems = raw
        .filter((p) => p.file === '' || isGameFile(real(p.file), root))
        .slice(0, MAX_PROBLEMS)
        .map((p) => (p.file === '' ? { ...p, file: entry, line: 1, column: 1 } : { ...p, file: real(p.file) }));
      resolvePromise({ problems, ms: ms() });
    });
  });
  return {
    result,
    cancel: () => {
      cancelled = true;
      child.kill('SIGKILL');
    },
  };
}

function importsNode(file: string): boolean {
  try {
    return NODE_IMPORT.test(readFileSync(file, 'utf8'));
  } catch {
    return false;
  }
}

function isGameFile(file: string, root: string): boolean {
  return file.startsWith(root + sep) && !file.slice(root.length).split(sep).includes('node_modules') && !/\.d\.[cm]?ts$/.test(file);
}

function real(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
}
