import { statSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { Game, type GameClass, type Node, type ResolvedGameMetadata } from '@parlor/squish';
import type { EngineToHostMessage } from '../engine/messages.js';
import type { AssetLimits } from '../games/assets.js';
import { GAME_NAME_RE, findGameEntry } from '../games/loader.js';
import { createConsoleLogger, type Logger } from '../logger.js';
import { ALLOWED_BUILTINS } from '../runner/builtins.js';
import type { DockerRuntimeOptions } from '../runtime/docker.js';
import type { ProcessRuntimeOptions } from '../runtime/process.js';
import type { RuntimeSession, SessionRuntime } from '../runtime/runtime.js';
import { SmokePlayer, joinSchedule, plausibleName, plausibleSessionId } from './bots.js';
import { defaultExportLocation, examineAssets, loadInSandbox } from './checks.js';
import { describeUntrusted, errorText, ownData, stringOr, truncate } from './describe.js';
import { finishReport as finish, type GateFinding, type GateReport, type SmokeResult } from './report.js';
import { selectGateRuntime, settle, type GateRuntimeChoice } from './runtime.js';
import { insideFolder, isFileSafe, scanGameSources } from './sources.js';

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
   * (`RUNTIME_UNAVAILABLE`), run it anyway with the runtime's `unsafeWeakSandbox` instead of
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
  /** Where the runtime logs the game's output. Default: a console logger at `warn`. */
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
 * 4. **Smoke run** of `smokeMs` (default 5 s) with synthetic players that look like people
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
  const logger = options.logger ?? createConsoleLogger('warn');
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
  if (!bundle || findings.some((f) => f.severity === 'error')) return finish(report);

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
    return finish(report);
  }
  const runtime = selected.runtime;
  report.runtime = selected.info;
  const where = defaultExportLocation(entry);
  const gameName = gameNameOf(root, isDir);
  try {
    // 4. Load in the sandbox; validate the metadata and assets like the server does.
    const metadata = await loadInSandbox(runtime, bundle, baseDir, entry, where, startTimeoutMs, findings);
    if (!metadata) return finish(report);
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
  return finish(report);
}

/** Route name the server would give the game (folder or file name), as in `parlor dev`. */
function gameNameOf(path: string, isDir: boolean): string {
  const raw = isDir ? basename(path) : basename(path, extname(path));
  const name = raw.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 64);
  return GAME_NAME_RE.test(name) ? name : 'game';
}

/** What the smoke run needs. */
interface SmokeSpec {
  bundle: { code: string; filename: string };
  baseDir: string;
  metadata: ResolvedGameMetadata;
  durationMs: number;
  startTimeoutMs: number;
  wantPlayers: number;
  entry: string;
  where: { line: number; column: number };
  gameName: string;
  findings: GateFinding[];
  logger: Logger;
}

/** Most tick samples kept (a flood of frames cannot grow the gate's memory without bound). */
const MAX_TICK_SAMPLES = 100_000;
/** A smoke run with fewer ticks than this fraction of `tickRate × time` FAILS (`smoke-tick-rate`): the loop stalls. Generous, for busy machines. */
const MIN_TICK_RATE_FRACTION = 0.3;
/** … and one with more than this factor (plus 10) FAILS too: the engine's timers were tampered with. */
const MAX_TICK_RATE_FACTOR = 1.5;
/** Frame bytes per second (averaged over the run) above which a game FAILS as a flood (`smoke-flood`). */
const MAX_FRAME_BYTES_PER_SECOND = 4 * 1024 * 1024;
/** Most distinct game errors reported as findings. */
const MAX_SMOKE_ERRORS = 20;

/** The stand-in class a sandboxed runtime's spec carries (the game only ever runs in the sandbox). */
function standInClass(metadata: ResolvedGameMetadata): GameClass {
  class SandboxedGame extends Game {
    static override metadata(): ResolvedGameMetadata {
      return metadata;
    }
    constructor() {
      super();
      throw new Error('the gate runs games in a sandbox only');
    }
    getLayers(): Node[] {
      return [];
    }
  }
  return SandboxedGame;
}

async function smokeRun(runtime: SessionRuntime, s: SmokeSpec): Promise<SmokeResult> {
  const { metadata, durationMs, entry, where, findings } = s;
  const players = Math.max(1, Math.min(s.wantPlayers, metadata.maxPlayers));
  const tickMs: number[] = [];
  const tickAt: number[] = [];
  let ticks = 0;
  let framesToPlayers = 0;
  let frameBytes = 0;
  let errors = 0;
  let inputs = 0;
  let fatal = false;
  let stopped = false;
  let firstFrameAt = -1;
  const seen = new Set<string>();
  const bundleRe = new RegExp(`${escapeRe(s.bundle.filename)}:(\\d+):(\\d+)`);
  const locate = (stack: string): { file: string; line: number; column: number } => {
    // Stack frames of the bundle point at the entry's file name; use them when present.
    const m = bundleRe.exec(stack);
    return m ? { file: entry, line: Number(m[1]), column: Number(m[2]) } : { file: entry, ...where };
  };
  const started = performance.now();
  const elapsed = (): number => performance.now() - started;
  let session: RuntimeSession;
  try {
    session = runtime.start({
      sessionId: plausibleSessionId(),
      game: s.gameName,
      gameClass: standInClass(metadata),
      bundle: s.bundle,
      baseDir: s.baseDir,
      logger: s.logger,
      maxConsecutiveErrors: 50,
    });
  } catch (err) {
    findings.push({ severity: 'error', rule: 'smoke-crash', message: `the runtime could not start the game: ${errorText(err)}`, file: entry, ...where });
    return { runtime: runtime.name, startMs: null, durationMs: 0, players, inputsSent: 0, ticks: 0, framesToPlayers: 0, frameBytes: 0, p99TickMs: 0, maxTickMs: 0, tickBudgetMs: Number((1000 / metadata.tickRate).toFixed(3)), errors: 1 };
  }
  const onMessage = (msg: EngineToHostMessage): void => {
    const type = ownData(msg, 'type');
    if (type === 'frames') {
      ticks++;
      if (firstFrameAt < 0) firstFrameAt = elapsed();
      const t = ownData(msg, 'tickMs');
      const sends = ownData(msg, 'sends');
      if (tickMs.length < MAX_TICK_SAMPLES && typeof t === 'number' && Number.isFinite(t)) {
        tickMs.push(t);
        tickAt.push(elapsed());
      }
      if (Array.isArray(sends)) framesToPlayers += sends.length;
      const parts = ownData(msg, 'parts');
      if (Array.isArray(parts)) for (const p of parts) if (p instanceof Uint8Array) frameBytes += p.byteLength;
    } else if (type === 'error') {
      errors++;
      if (ownData(msg, 'fatal') === true) fatal = true;
      const whereText = stringOr(ownData(msg, 'where'), 'unknown', 64);
      const raw = ownData(msg, 'message');
      const message = typeof raw === 'string' ? truncate(raw, 1000) : `an error whose message is ${describeUntrusted(raw)}`;
      const stack = stringOr(ownData(msg, 'stack'), '', 8000);
      const key = `${whereText}:${message}`;
      if (seen.has(key) || seen.size >= MAX_SMOKE_ERRORS) return;
      seen.add(key);
      const rule = whereText === 'watchdog' || whereText === 'process' || whereText === 'channel' ? 'smoke-crash' : 'smoke-error';
      findings.push({ severity: 'error', rule, message: `${whereText}: ${message}`, ...locate(stack) });
    } else if (type === 'stopped') {
      stopped = true;
    }
  };
  session.onMessage((msg) => {
    try {
      onMessage(msg);
    } catch {
      // nothing the game sends may break the gate
    }
  });

  // Players arrive like people: the first at once (the server starts a session on its first
  // join), the others spread over the first part of the run; one watcher now and then.
  // Players arrive like people: the first at once (the server starts a session on its first
  // join), the others spread out after the game is up; a watcher now and then. Nobody acts
  // before the first frame (there is nothing to see), as a real client does.
  const joinAt = joinSchedule(players, Math.min(1500, durationMs / 3));
  const names = new Set<string>();
  const bots: Array<{ id: number; at: number; name: string; joined: boolean; player: SmokePlayer | null }> = joinAt.map((at, i) => {
    const name = plausibleName(i + 1, names);
    names.add(name);
    return { id: i + 1, at, name, joined: false, player: null };
  });
  const watcher = Math.random() < 0.5 ? { id: players + 1, at: Math.min(durationMs / 2, 400 + Math.random() * 1500), joined: false } : null;
  const send = (msg: Parameters<RuntimeSession['send']>[0]): void => {
    try {
      session.send(msg);
    } catch {
      // a dead session: its end is reported through onMessage
    }
  };

  // The run lasts durationMs from the game's first frame, so a slow start (a container booting
  // on a busy machine) does not shorten it; a game that never sends a frame is given up on after
  // the start timeout.
  const over = (now: number): boolean => (firstFrameAt >= 0 ? now - firstFrameAt >= durationMs : now >= s.startTimeoutMs + 2000);
  while (!stopped && !over(elapsed())) {
    const now = elapsed();
    const live = firstFrameAt >= 0;
    for (const b of bots) {
      const due = b.id === 1 ? 0 : live ? firstFrameAt + b.at : Infinity;
      if (!b.joined && now >= due) {
        b.joined = true;
        send({ type: 'join', playerId: b.id, name: b.name, spectator: false });
      }
      if (b.joined && live) {
        b.player ??= new SmokePlayer(now);
        for (const event of b.player.step(now)) {
          send({ type: 'input', playerId: b.id, event });
          inputs++;
        }
      }
    }
    if (watcher && !watcher.joined && live && now >= firstFrameAt + watcher.at) {
      watcher.joined = true;
      send({ type: 'join', playerId: watcher.id, name: plausibleName(watcher.id, names), spectator: true });
    }
    await new Promise((r) => setTimeout(r, 8 + Math.random() * 8));
  }
  const endAt = elapsed();
  const ticksAtEnd = ticks;
  // The last player to arrive leaves first, as people do at the end of a game.
  const leaver = bots[bots.length - 1];
  if (leaver.player && !stopped) {
    for (const event of leaver.player.release()) send({ type: 'input', playerId: leaver.id, event });
    send({ type: 'leave', playerId: leaver.id });
    await new Promise((r) => setTimeout(r, 100));
  }
  await settle(session.terminate(), 10_000);

  // The first 500 ms after the first frame are warm-up (JIT, first full frames): judge the budget
  // on the rest; in a run too short for that, on all but the first 5 ticks; with fewer than 10
  // samples, not at all (one slow tick on a busy machine is not a verdict).
  const warmFrom = (firstFrameAt < 0 ? 0 : firstFrameAt) + 500;
  const warm = tickMs.filter((_, i) => tickAt[i] >= warmFrom);
  const judged = warm.length >= 10 ? warm : tickMs.length > 15 ? tickMs.slice(5) : tickMs.slice(1);
  const sorted = [...judged].sort((a, b) => a - b);
  const p99 = sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] : 0;
  const budget = 1000 / metadata.tickRate;
  if (!fatal && framesToPlayers === 0) {
    findings.push({ severity: 'error', rule: 'smoke-no-frames', message: `no frames reached the ${players} synthetic player(s) in ${Math.round(endAt)} ms`, file: entry, ...where });
  }
  // The tick rate itself: a game whose loop stalls (timers swallowed, CPU burnt between ticks) or
  // runs faster than its rate (timers replaced to flood the channel) is visible here.
  const expectedTicks = firstFrameAt < 0 ? 0 : Math.floor(((endAt - firstFrameAt) * metadata.tickRate) / 1000);
  if (!fatal && expectedTicks >= 10 && ticksAtEnd < expectedTicks * MIN_TICK_RATE_FRACTION) {
    findings.push({
      severity: 'error',
      rule: 'smoke-tick-rate',
      message: `the game ticked ${ticksAtEnd} times in ${Math.round(endAt - firstFrameAt)} ms at ${metadata.tickRate} Hz (expected about ${expectedTicks}): its tick loop stalls`,
      file: entry,
      ...where,
    });
  } else if (expectedTicks >= 10 && ticksAtEnd > expectedTicks * MAX_TICK_RATE_FACTOR + 10) {
    findings.push({
      severity: 'error',
      rule: 'smoke-tick-rate',
      message: `the game ticked ${ticksAtEnd} times in ${Math.round(endAt - firstFrameAt)} ms at ${metadata.tickRate} Hz (expected about ${expectedTicks}): it runs faster than its tick rate`,
      file: entry,
      ...where,
    });
  }
  const bytesPerSecond = endAt > 0 ? (frameBytes * 1000) / endAt : 0;
  if (bytesPerSecond > MAX_FRAME_BYTES_PER_SECOND) {
    findings.push({
      severity: 'error',
      rule: 'smoke-flood',
      message: `the game sent ${(bytesPerSecond / 1048576).toFixed(1)} MiB of frames per second to ${players} player(s) (limit ${MAX_FRAME_BYTES_PER_SECOND / 1048576} MiB/s)`,
      file: entry,
      ...where,
    });
  }
  if (p99 > budget) {
    findings.push({ severity: 'error', rule: 'smoke-tick-budget', message: `p99 tick time ${p99.toFixed(2)} ms exceeds the tick interval ${budget.toFixed(2)} ms`, file: entry, ...where });
  }
  return {
    runtime: runtime.name,
    startMs: firstFrameAt < 0 ? null : Math.round(firstFrameAt),
    durationMs: Math.round(endAt - Math.max(0, firstFrameAt)),
    players,
    inputsSent: inputs,
    ticks,
    framesToPlayers,
    frameBytes,
    p99TickMs: Number(p99.toFixed(3)),
    maxTickMs: Number(tickMs.reduce((m, t) => Math.max(m, t), 0).toFixed(3)),
    tickBudgetMs: Number(budget.toFixed(3)),
    errors,
  };
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

