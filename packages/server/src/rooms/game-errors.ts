/**
 * A room's game errors in its log: each at the author's line (the stack mapped through the
 * bundle's source map on this host), throttled so a game throwing on every tick or pointer move
 * does not flood the log, and reported to `parlor dev`'s status when there is one.
 */
import { reportRoomError, roomDiagnostic } from '../dev/diagnostics.js';
import { codeFrame, formatLocation, mapStack } from '../dev/locate.js';
import type { DevStatus } from '../dev/status.js';
import type { EngineErrorMessage } from '../engine/messages.js';
import type { LoadedGame } from '../games/loader.js';
import type { Logger } from '../logger.js';

/** Game error lines logged per room per second before the rest are summarised. */
const ERROR_LINES_PER_SECOND = 5;

/** One room's game error log: see the file's opening comment. */
export class GameErrorLog {
  private windowStart = 0;
  private linesInWindow = 0;
  private suppressed = 0;

  constructor(
    private readonly log: Logger,
    private readonly devStatus: DevStatus | undefined,
  ) {}

  /** Logs a non-fatal engine error (throttled) or a fatal one (always). `game` maps its stack. */
  error(msg: EngineErrorMessage, game: LoadedGame): void {
    const fields = { where: text(msg.where), fatal: msg.fatal === true, error: oneLine(text(msg.message)) };
    if (fields.fatal) {
      this.write(fields, text(msg.stack), game);
      return;
    }
    const now = Date.now();
    if (now - this.windowStart >= 1000) {
      if (this.suppressed > 0) this.log.error({ count: this.suppressed }, 'game errors suppressed');
      this.windowStart = now;
      this.linesInWindow = 0;
      this.suppressed = 0;
    }
    if (this.linesInWindow < ERROR_LINES_PER_SECOND) {
      this.linesInWindow++;
      this.write(fields, text(msg.stack), game);
    } else {
      this.suppressed++;
    }
  }

  /**
   * Logs a game error at the author's line: `at` (file:line:column) and `frame` (the source lines
   * around it), the mapped stack at debug; with a dev status, reports it there (`parlor dev`
   * prints it with its frame).
   */
  private write(fields: { where: string; fatal: boolean; error: string }, rawStack: string, game: LoadedGame): void {
    const { stack, at } = mapStack(rawStack, game.bundle);
    const frame = at ? codeFrame(at) : undefined;
    const dev = this.devStatus;
    this.log.error({ ...fields, ...(at ? { at: formatLocation(at) } : {}), ...(frame && !dev ? { frame } : {}) }, 'game error');
    if (stack) this.log.debug({ stack: oneLine(stack) }, 'game error stack');
    if (dev) reportRoomError(dev, game.name, roomDiagnostic(fields.where, fields.error, at));
  }
}

/** A string field of an engine message ('' when it is not one: never stringify an unknown value). */
export function text(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' | ');
}

/** `s` cut to `n` characters with an ellipsis. */
export function truncate(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}
