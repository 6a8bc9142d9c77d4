/**
 * The gate's report: what {@link GateReport} holds (findings with file:line:column, the smoke run's
 * numbers), how it is bounded ({@link finishReport}), and how it reads for people
 * ({@link formatGateReport}, ending with {@link GATE_DISCLAIMER}).
 */
import { relative } from 'node:path';
import type { ResolvedGameMetadata } from '@parlor/squish';
import { codeFrame } from '../dev/locate.js';
import { truncate } from './describe.js';
import type { GateRuntimeInfo } from './runtime.js';

/** One problem found by `validateGame`. Lines are 1-based, columns 1-based. */
export interface GateFinding {
  /** `'error'` fails the gate; `'warning'` does not. */
  severity: 'error' | 'warning';
  /**
   * Stable rule id: `builtin-import`, `dynamic-import`, `dynamic-require`, `eval`,
   * `function-constructor`, `process-internals`, `prototype-pollution`, `network`, `syntax`, `size`,
   * `build`, `outside-import` (an import resolving outside the game folder), `no-entry`,
   * `no-game-class`, `load` (the game failed to load in the sandbox), `metadata` (schema, types,
   * lengths), `asset` (path absolute/`..`/outside the folder, not a regular file, too large, MIME
   * not allowed, missing), `runtime` (no runtime strong enough; see `ValidateOptions.runtime`),
   * `type` (a TypeScript type error, strict settings), `smoke-error`, `smoke-crash`, `smoke-no-frames`, `smoke-tick-budget`, `smoke-tick-rate` (far fewer
   * or far more ticks than `tickRate` × time: a stalled or tampered tick loop), `smoke-flood` (over 4 MiB/s of frames).
   */
  rule: string;
  /** What is wrong, for people (bounded: text from the game is truncated). */
  message: string;
  /** Absolute path of the file. */
  file: string;
  line: number;
  column: number;
  /**
   * The source lines around `line` with a marker under `column` (plain text), when the file could
   * be read; set by {@link finishReport}.
   */
  codeFrame?: string;
}

/** Result of the smoke run. Durations in ms. */
export interface SmokeResult {
  /** Runtime the smoke run used: `'docker'` or `'process'`. */
  runtime: string;
  /** From starting the room to the game's first frame (sandbox start, module, constructor); `null` if none came. */
  startMs: number | null;
  /** Length of the run, from the first frame (or from the start when no frame came). */
  durationMs: number;
  players: number;
  inputsSent: number;
  /** Tick messages (`frames`) received from the engine. */
  ticks: number;
  /** Frames addressed to players (sum over ticks of recipients). */
  framesToPlayers: number;
  /** Bytes of frame parts the game sent over the run. */
  frameBytes: number;
  /**
   * 99th percentile of the engine's tick time (game `tick` + encoding) after a 500 ms warm-up (in
   * a shorter run: after the first 5 ticks); `0` when fewer than 10 ticks could be judged.
   */
  p99TickMs: number;
  /** Slowest tick of the whole run, warm-up included. */
  maxTickMs: number;
  /** Budget the p99 was checked against: the tick interval (1000 / tickRate). */
  tickBudgetMs: number;
  /** Game errors reported during the run. */
  errors: number;
}

/** The gate's verdict on a game folder. */
export interface GateReport {
  /** `true` when there is no `error` finding. */
  ok: boolean;
  /** The game folder (absolute). */
  dir: string;
  /** The entry file, or `null` if none was found. */
  entry: string | null;
  /** Files scanned (absolute paths). */
  files: string[];
  findings: GateFinding[];
  /** The game's metadata, validated (see `validateMetadata`), when it loaded. */
  metadata: ResolvedGameMetadata | null;
  /** The runtime the game was loaded and run in, and why; `null` when the gate stopped before (static errors, no runtime). */
  runtime: GateRuntimeInfo | null;
  /** The smoke run, when it ran (it is skipped after static, load or metadata errors). */
  smoke: SmokeResult | null;
}

/** The report's statement of what the gate is (also printed by {@link formatGateReport}). */
export const GATE_DISCLAIMER =
  'The gate is a filter, not the security boundary: it catches what it can see in a short run, and a game that passes can still be hostile ' +
  '(e.g. wait longer than the smoke run). The runtime the game is served in is the boundary.';

/** Most findings kept per rule (the rest are counted in one last finding). */
const MAX_FINDINGS_PER_RULE = 50;
/** Longest finding message kept (characters). */
const MAX_MESSAGE_CHARS = 500;

/**
 * Bounds and settles `report` in place: at most 50 findings per rule (the rest counted in one
 * last finding), every message truncated, findings sorted by file:line:column, each with the code
 * frame of its file (when readable), and `ok` set.
 */
export function finishReport(report: GateReport): GateReport {
  // Bound the report: at most MAX_FINDINGS_PER_RULE findings per rule, every message truncated.
  const perRule = new Map<string, number>();
  const kept: GateFinding[] = [];
  for (const f of report.findings) {
    const n = (perRule.get(f.rule) ?? 0) + 1;
    perRule.set(f.rule, n);
    if (n <= MAX_FINDINGS_PER_RULE) kept.push({ ...f, message: truncate(f.message, MAX_MESSAGE_CHARS) });
  }
  for (const [rule, n] of perRule) {
    if (n > MAX_FINDINGS_PER_RULE) {
      const severity = report.findings.some((f) => f.rule === rule && f.severity === 'error') ? 'error' : 'warning';
      kept.push({ severity, rule, message: `${n - MAX_FINDINGS_PER_RULE} more [${rule}] findings not shown`, file: report.dir, line: 1, column: 1 });
    }
  }
  kept.sort((a, b) => (a.file === b.file ? a.line - b.line || a.column - b.column : a.file.localeCompare(b.file)));
  for (const f of kept) {
    if (f.codeFrame !== undefined) continue;
    const frame = codeFrame({ file: f.file, line: f.line, column: f.column });
    if (frame) f.codeFrame = frame;
  }
  report.findings.splice(0, report.findings.length, ...kept);
  report.ok = !report.findings.some((f) => f.severity === 'error');
  return report;
}

/** A code frame indented under its finding's line. */
function indent(frame: string): string {
  return frame
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}

/**
 * Formats a {@link GateReport} for people: one `file:line:col: severity [rule] message` per
 * finding (followed by its code frame, indented), the game and runtime lines, the smoke run, the verdict, and {@link GATE_DISCLAIMER}
 * (the gate is a filter; the runtime is the boundary).
 */
export function formatGateReport(report: GateReport, cwd = process.cwd()): string {
  const rel = (f: string) => {
    const r = relative(cwd, f);
    return r && !r.startsWith('..') ? r : f;
  };
  const out: string[] = [];
  for (const f of report.findings) {
    out.push(`${rel(f.file)}:${f.line}:${f.column}: ${f.severity} [${f.rule}] ${truncate(f.message, MAX_MESSAGE_CHARS)}`);
    if (f.codeFrame) out.push(indent(f.codeFrame));
  }
  if (report.metadata) out.push(`game: ${truncate(report.metadata.name, 80)} (tick rate ${report.metadata.tickRate} Hz, ${report.metadata.maxPlayers} players max)`);
  if (report.runtime) out.push(`runtime: ${report.runtime.name} (${report.runtime.reason})${report.runtime.unsafe ? ' — UNSAFE: no kernel isolation' : ''}`);
  if (report.smoke) {
    const s = report.smoke;
    out.push(
      `smoke run (${s.runtime}, started in ${s.startMs ?? '—'} ms, ran ${s.durationMs} ms, ${s.players} players, ${s.inputsSent} inputs): ${s.ticks} ticks, ${s.framesToPlayers} frames to players, p99 tick ${s.p99TickMs} ms (budget ${s.tickBudgetMs} ms), ${s.errors} game errors`,
    );
  }
  const errors = report.findings.filter((f) => f.severity === 'error').length;
  out.push(report.ok ? `PASS ${rel(report.dir)}: ${report.files.length} files checked` : `FAIL ${rel(report.dir)}: ${errors} error${errors === 1 ? '' : 's'}`);
  out.push(`note: ${GATE_DISCLAIMER}`);
  return out.join('\n');
}
