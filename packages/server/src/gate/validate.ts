/**
 * The publish gate's orchestration ({@link validateGame}): the static scan (`sources.ts`,
 * `scan.ts`), the runtime (`runtime.ts`), the load, metadata and asset checks (`checks.ts`), the
 * smoke run (`smoke.ts`), and the report (`report.ts`). The gate's public names are re-exported here.
 */
import { statSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import type { AssetLimits } from '../games/assets.js';
import { GAME_NAME_RE } from '@parlor/squish';
import { findGameEntry } from '../games/loader.js';
import { createLogger, type Logger } from '../logger.js';
import { typeCheckGame, type TypeCheck } from '../dev/typecheck.js';
import { ALLOWED_BUILTINS } from '../runner/builtins.js';
import type { DockerRuntimeOptions } from '../runtime/docker.js';
import type { ProcessRuntimeOptions } from '../runtime/process.js';
import { defaultExportLocation, examineAssets, loadInSandbox } from './checks.js';
import { errorText } from './describe.js';
import { finishReport as finish, type GateFinding, type GateReport } from './report.js';
import { settle } from '../runtime/settle.js';
import { selectGateRuntime, type GateRuntimeChoice } from './runtime.js';
import { insideFolder, isFileSafe, scanGameSources } from './sources.js';
import { smokeRun } from './smoke.js';

export type { GateRuntimeChoice, GateRuntimeInfo } from './runtime.js';
export { GATE_DISCLAIMER, formatGateReport, type GateFinding, type GateReport, type SmokeResult } from './report.js';
export { scanSource } from './scan.js';

/** Options of {@link validateGame}. Sizes in bytes, durations in ms. */
export interface ValidateOptions {
  /**
   * Runtime for loading and the smoke run. Default `'auto'`: `docker` when a Docker engine answers
   * (its runner image must exist: a missing image FAILS the gate with the command that builds it,
   * it never falls back), else `process`. `'process'` and `'docker'` use that runtime or FAIL. The
   * gate never runs a game in its own process (`inline` is refused). Pick at least the runtime of
   * the servers the game will be published to: the gate must not be weaker than they are.
   */
  runtime?: GateRuntimeChoice;
  /** Options of the `docker` runtime (e.g. `image`, default `parlor-runner:local`). */
  docker?: DockerRuntimeOptions;
  /** Options of the `process` runtime (limits etc.; default: the server's defaults, so a game cannot tell the gate from a server). */
  process?: ProcessRuntimeOptions;
  /**
   * Development only: when the `process` runtime cannot isolate the game on this kernel
   * (`SERVER_RUNTIME_UNAVAILABLE`), run it anyway with the runtime's `unsafeWeakSandbox` instead of
   * failing the gate. Logged loudly and marked `unsafe` in {@link GateReport.runtime}. Default `false`.
   */
  unsafeWeakSandbox?: boolean;
  /** Length of the smoke run; `0` skips it. Default {@link DEFAULT_SMOKE_MS} (5000). */
  smokeMs?: number;
  /** Time the game gets to load (module, `metadata()`) and to start ticking. Default 10 000. */
  startTimeoutMs?: number;
  /** Synthetic players in the smoke run (capped by `maxPlayers`). Default 2. */
  players?: number;
  /** Largest source file. Default 1 MiB. */
  maxFileBytes?: number;
  /** Largest total of the game's source files. Default 5 MiB. */
  maxTotalBytes?: number;
  /** Largest bundle. Default 5 MiB. */
  maxBundleBytes?: number;
  /** Most source files. Default 500. */
  maxFiles?: number;
  /** Size caps of the game's assets; defaults as the server's (8 MiB per asset, 64 MiB per game). */
  assetLimits?: AssetLimits;
  /** Built-ins the game may import. Default {@link ALLOWED_BUILTINS}. */
  allowedBuiltins?: readonly string[];
  /**
   * Type-check the game's TypeScript with TypeScript's own checker (strict; `@parlor/squish` typed
   * by the declarations of the squish this package runs with): each type error is an error finding
   * (rule `type`). Skipped for JavaScript games. Default `true`.
   */
  typeCheck?: boolean;
  /** Where the runtime logs the game's output. Default: {@link createLogger} at `warn` (pino JSON lines on stdout). */
  logger?: Logger;
}

/** Default of {@link ValidateOptions.smokeMs}, ms. */
export const DEFAULT_SMOKE_MS = 5000;

/**
 * The publish gate: decides whether a game folder may be published.
 *
 * **The gate is a filter, not the security boundary.** It rejects what it can see — banned
 * constructs in the source, bad metadata and assets, a game that crashes, floods or stalls while
 * synthetic players use it — but a game that passes can still be hostile (it can wait longer than
 * the smoke run, or behave only for real players). The runtime a server runs the game in
 * (`docker`, or the hardened `process`) is what contains it; the report says so
 * ({@link GATE_DISCLAIMER}).
 *
 * 1. **Static scan** of every JS/TS file of the folder (not `node_modules`) and every file the
 *    bundle pulls in (the game's own `node_modules` included): each is transformed with esbuild (TS → JS, source map kept) and parsed with
 *    acorn. Rejected: imports/requires of Node built-ins outside the allow-list (`fs`, `net`,
 *    `http`, `child_process`, `worker_threads`, `vm`, `inspector`, …), `eval`, `Function`/`new
 *    Function`, `x.constructor(…)`, non-literal `import()`/`require()`, `process.binding` and other
 *    process internals, `fetch`/`WebSocket`; file, total and bundle size limits; any import that
 *    resolves outside the game folder (a host `.json`/`.txt`, the host's `node_modules`), as the
 *    server's bundler refuses it.
 * 2. **Runtime**: the strongest available and never weaker than asked (see
 *    {@link ValidateOptions.runtime}); no runtime strong enough is a FAIL (`runtime` finding).
 * 3. **Load** in that runtime's sandbox (the host never evaluates the game); the metadata it
 *    reports is validated like the server does (`validateMetadata`: types and lengths of every
 *    field), every asset is checked like the server loads it (`loadAssets`: relative path inside
 *    the folder after symlinks, regular file, size caps, MIME allow-list matching its type) — one
 *    finding per bad asset.
 * 4. **Type check** of the game's TypeScript (on the host, alongside 2–3 and 5 at a lower CPU
 *    priority: it only reads the sources): TypeScript's checker with strict settings; each type
 *    error FAILS (rule `type`).
 * 5. **Smoke run** of `smokeMs` (default 5 s) with synthetic players that look like people
 *    (ordinary names, spread-out joins, human-rate input): no uncaught errors, frames produced,
 *    p99 tick time within the tick interval, a tick rate close to `tickRate` (at least 30 %, at
 *    most 150 %), at most 4 MiB/s of frames, no crash of the sandbox.
 *
 * Whatever the game outputs (errors whose `message` is not a string, huge strings, floods), the
 * validator neither crashes nor hangs: text from the game is never converted with `String()`,
 * is truncated, and the whole run is bounded by about `startTimeoutMs + smokeMs` plus a few
 * seconds of clean-up.
 *
 * Every finding carries file:line:column. Never throws for a bad game or a missing runtime; the
 * report says why.
 */
export async function validateGame(dir: string, options: ValidateOptions = {}): Promise<GateReport> {
  const root = resolve(dir);
  const logger = options.logger ?? createLogger({ level: 'warn' });
  const findings: GateFinding[] = [];
  const report: GateReport = { ok: false, dir: root, entry: null, files: [], findings, metadata: null, runtime: null, smoke: null };
  const limits = {
    file: options.maxFileBytes ?? 1024 * 1024,
    total: options.maxTotalBytes ?? 5 * 1024 * 1024,
    bundle: options.maxBundleBytes ?? 5 * 1024 * 1024,
    files: options.maxFiles ?? 500,
  };
  const allowed = new Set((options.allowedBuiltins ?? ALLOWED_BUILTINS).map((m) => m.replace(/^node:/, '')));
  const smokeMs = Math.max(0, options.smokeMs ?? DEFAULT_SMOKE_MS);
  const startTimeoutMs = Math.max(1000, options.startTimeoutMs ?? 10_000);

  let isDir = false;
  try {
    isDir = statSync(root).isDirectory();
  } catch {
    // handled below
  }
  const entry = isDir ? findGameEntry(root) : isFileSafe(root) ? root : null;
  report.entry = entry;
  if (!entry) {
    findings.push({ severity: 'error', rule: 'no-entry', message: 'no entry file (package.json "main", index.ts, index.js or index.mjs)', file: root, line: 1, column: 1 });
    return finish(report);
  }
  const baseDir = isDir ? root : resolve(root, '..');
  if (!insideFolder(baseDir, entry)) {
    // e.g. package.json "main": "../../etc/…": the game folder is all a game may bring.
    findings.push({ severity: 'error', rule: 'outside-import', message: `the entry ${entry} resolves outside the game folder`, file: join(root, 'package.json'), line: 1, column: 1 });
    return finish(report);
  }

  // 1.–2. Static scan and bundle.
  const scannedSources = await scanGameSources(root, entry, baseDir, isDir, limits, allowed, findings);
  const bundle = scannedSources.bundle;
  report.files = scannedSources.files;
  if (!bundle || findings.some((f) => f.severity === 'error')) return finish(report);

  // TypeScript's checker, strict, on the host (it only reads the sources), alongside the sandboxed
  // runs at a lower CPU priority (nice 10) so that it disturbs the smoke run's tick timing little,
  // yet is not starved on a busy machine.
  const typeCheck = options.typeCheck === false ? null : typeCheckGame(entry, baseDir, report.files, { nice: 10 });
  try {
    await runInSandbox(report, options, { entry, baseDir, root, isDir, bundle, smokeMs, startTimeoutMs, logger });
  } finally {
    if (typeCheck) await addTypeFindings(typeCheck, TYPE_CHECK_TIMEOUT_MS, findings, logger);
  }
  return finish(report);
}

/** Longest the gate waits for the type check (ms); then it is skipped with a warning. */
const TYPE_CHECK_TIMEOUT_MS = 120_000;

/** Type errors as `type` findings (errors); a check that could not run is logged, not a finding. */
async function addTypeFindings(check: TypeCheck, timeoutMs: number, findings: GateFinding[], logger: Logger): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const result = await Promise.race([check.result, new Promise<null>((r) => (timer = setTimeout(() => r(null), timeoutMs)))]);
  clearTimeout(timer);
  if (!result) {
    check.cancel();
    logger.warn({ timeoutMs }, 'type check skipped: it took too long');
    return;
  }
  if (result.skipped) {
    logger.warn({ reason: result.skipped }, 'type check skipped');
    return;
  }
  for (const p of result.problems) findings.push({ severity: 'error', rule: 'type', message: p.message, file: p.file, line: p.line, column: p.column });
}

/** Steps 3–5 of {@link validateGame}: the runtime, the load in its sandbox with the metadata and asset checks, the smoke run. */
async function runInSandbox(
  report: GateReport,
  options: ValidateOptions,
  c: { entry: string; baseDir: string; root: string; isDir: boolean; bundle: { code: string; filename: string }; smokeMs: number; startTimeoutMs: number; logger: Logger },
): Promise<void> {
  const { entry, baseDir, root, isDir, bundle, smokeMs, startTimeoutMs, logger } = c;
  const findings = report.findings;
  // 3. The runtime: the strongest available, never weaker than asked, never inline.
  const selected = await selectGateRuntime({
    runtime: options.runtime ?? 'auto',
    docker: options.docker,
    process: options.process,
    unsafeWeakSandbox: options.unsafeWeakSandbox === true,
    startTimeoutMs,
    logger,
  });
  if (!selected.ok) {
    findings.push({ severity: 'error', rule: 'runtime', message: selected.problem, file: root, line: 1, column: 1 });
    return;
  }
  const runtime = selected.runtime;
  report.runtime = selected.info;
  const where = defaultExportLocation(entry);
  const gameName = gameNameOf(root, isDir);
  try {
    // 4. Load in the sandbox; validate the metadata and assets like the server does.
    const metadata = await loadInSandbox(runtime, bundle, baseDir, entry, where, startTimeoutMs, findings);
    if (!metadata) return;
    report.metadata = metadata;
    await examineAssets(gameName, baseDir, metadata, options.assetLimits ?? {}, [...report.files], entry, findings);

    // 5. Smoke run.
    if (smokeMs > 0) {
      report.smoke = await smokeRun(runtime, { bundle, baseDir, metadata, durationMs: smokeMs, startTimeoutMs, wantPlayers: options.players ?? 2, entry, where, gameName, findings, logger });
    }
  } catch (err) {
    // The gate's own failure (never the game's doing, but never a crash either).
    findings.push({ severity: 'error', rule: 'load', message: `the gate could not finish: ${errorText(err)}`, file: entry, ...where });
  } finally {
    await settle(runtime.close?.(), 10_000);
  }
}

/** Route name the server would give the game (folder or file name), as in `parlor dev`. */
function gameNameOf(path: string, isDir: boolean): string {
  const raw = isDir ? basename(path) : basename(path, extname(path));
  const name = raw.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 64);
  return GAME_NAME_RE.test(name) ? name : 'game';
}
