/**
 * A game's problems as {@link GameDiagnostic}s at the author's file:line:column with a code
 * frame: from a failed build or load (`GameLoadError`), from a room's engine error, and how they
 * read in a terminal. Reporting room errors to a {@link DevStatus} is here too.
 */
import { dirname, resolve } from 'node:path';
import type { Message } from 'esbuild';
import { GameLoadError, ServerErrorCode } from '../errors.js';
import { codeFrame, formatLocation, type SourceLocation } from './locate.js';
import type { DevStatus, GameDiagnostic } from './status.js';

/** Longest diagnostic message kept (characters). */
const MAX_MESSAGE_CHARS = 1000;

/** `(at <file>:<line>:<col>)` that the loader and the sandbox's `inspect` append to a load error's message. */
const AT_SUFFIX = /\s*\(at (.+):(\d+):(\d+)\)$/;

/** The location a load error's message names (its first line's `(at file:line:col)` suffix), and that line without it (the whole message when it names none). */
export function locationInMessage(message: string): { message: string; at?: SourceLocation } {
  const firstLine = message.split('\n')[0];
  const m = AT_SUFFIX.exec(firstLine);
  if (!m) return { message };
  return { message: firstLine.slice(0, m.index), at: { file: m[1], line: Number(m[2]), column: Number(m[3]) } };
}

/** A diagnostic at `at` (when known) with its code frame read from the author's file. */
export function diagnosticAt(kind: GameDiagnostic['kind'], severity: GameDiagnostic['severity'], message: string, at?: SourceLocation): GameDiagnostic {
  const text = message.length > MAX_MESSAGE_CHARS ? `${message.slice(0, MAX_MESSAGE_CHARS - 1)}…` : message;
  if (!at) return { kind, severity, message: text };
  const frame = codeFrame(at);
  return { kind, severity, message: text, file: at.file, line: at.line, column: at.column, ...(frame ? { codeFrame: frame } : {}) };
}

/**
 * The diagnostics of a game that failed to build or load: one per esbuild error (kind `build`),
 * else one `load` diagnostic at the line the module threw (mapped through the source map), or at
 * `fallback` (e.g. its `export default`) for an export that is not a game or bad metadata.
 */
export function loadErrorDiagnostics(err: unknown, entry: string, fallback?: SourceLocation): GameDiagnostic[] {
  if (err instanceof GameLoadError && err.code === ServerErrorCode.GAME_BUILD_FAILED) {
    const errors = (err.cause as { errors?: Message[] } | undefined)?.errors;
    if (Array.isArray(errors) && errors.length > 0) {
      return errors.slice(0, 50).map((m) => {
        const at = m.location ? { file: resolve(dirname(entry), m.location.file), line: m.location.line, column: m.location.column + 1 } : undefined;
        return diagnosticAt('build', 'error', m.text, at);
      });
    }
    return [diagnosticAt('build', 'error', err.message.split('\n').slice(0, 2).join(' '))];
  }
  const raw = err instanceof Error ? err.message : String(err);
  const { message, at } = locationInMessage(raw);
  const clean = message.split('\n')[0].split(`${entry}: `).join('').replace(`${entry} `, '');
  return [diagnosticAt('load', 'error', clean, at ?? (err instanceof GameLoadError && err.code !== ServerErrorCode.GAME_NOT_FOUND ? fallback : undefined))];
}

/** A room's engine error as a diagnostic (kind `room`): `<where>: <message>` at the game's frame, if any. */
export function roomDiagnostic(where: string, message: string, at: SourceLocation | undefined): GameDiagnostic {
  return diagnosticAt('room', 'error', `${where ? `${where}: ` : ''}${message}`, at);
}

/**
 * Adds a room error to a game's dev status, replacing the previous room error (the build's
 * diagnostics stay). The same error at the same place again is not reported again.
 */
export function reportRoomError(status: DevStatus, game: string, diagnostic: GameDiagnostic): void {
  const current = status.get(game);
  const previous = current?.diagnostics.find((d) => d.kind === 'room');
  if (previous && previous.message === diagnostic.message && previous.file === diagnostic.file && previous.line === diagnostic.line && previous.column === diagnostic.column) return;
  status.report(game, current?.ok ?? true, [...(current?.diagnostics ?? []).filter((d) => d.kind !== 'room'), diagnostic]);
}

/**
 * A diagnostic for a terminal: `<file>:<line>:<col>: <severity> [<kind>] <message>`, then its
 * code frame (coloured when `color`, re-read from the file so the colours match the text).
 */
export function formatDiagnostic(d: GameDiagnostic, options: { color?: boolean } = {}): string {
  const at: SourceLocation | undefined = d.file && d.line ? { file: d.file, line: d.line, column: d.column ?? 1 } : undefined;
  const head = `${at ? `${formatLocation(at)}: ` : ''}${d.severity} [${d.kind}] ${d.message}`;
  const frame = at && options.color ? (codeFrame(at, { color: true }) ?? d.codeFrame) : d.codeFrame;
  return frame ? `${head}\n${frame}` : head;
}
