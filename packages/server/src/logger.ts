/**
 * The server's logs: pino, one JSON object per line on stdout (pretty only in the `parlor` CLI,
 * in a terminal). Each event is an object with a short `msg` (`'room created'`, `'client
 * rejected'`…) and its fields (`game`, `room`, `player`, `reason`, `code`…); parts that log for
 * one room or game use a child logger carrying those fields. Reconnect tokens, tickets and keys
 * are never passed to the logger; {@link LOG_REDACT_PATHS} is the second line.
 */
import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';
import { ServerConfigError } from './errors.js';

/**
 * The logger the server writes to: a pino logger (`pino()` or a child of one). Every part of
 * the server calls `logger.<level>(fields, msg)` and `logger.child(fields)`.
 */
export type Logger = PinoLogger;

/** Log levels, most verbose first; `silent` logs nothing. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

/** The levels of {@link LogLevel}, for option parsers. */
export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error', 'silent'];

/** The log fields written as `[redacted]`, at the top level and one level down (`*.token`). */
export const LOG_REDACT_PATHS: readonly string[] = ['token', 'reconnectToken', 'ticket', 'tickets', 'key', 'fleetKey', 'agentKey', 'adminKey', 'authorization', 'cookie'].flatMap((p) => [
  p,
  `*.${p}`,
]);

const redact = { paths: [...LOG_REDACT_PATHS], censor: '[redacted]' };

/** Options of {@link createLogger}. */
export interface CreateLoggerOptions {
  /** Minimum level written. Default `'info'`. */
  level?: LogLevel;
  /** Where the JSON lines go (anything with `write(line)`, e.g. `pino.destination(2)` or `pino-pretty`). Default: stdout. */
  destination?: DestinationStream;
  /** The `name` field of every line. Default `'parlor'`. */
  name?: string;
}

/**
 * A pino logger for the server: JSON lines to `destination` (default stdout), level `level`
 * (default `'info'`), {@link LOG_REDACT_PATHS} redacted, `name: 'parlor'`.
 */
export function createLogger(options: CreateLoggerOptions = {}): Logger {
  const opts = { name: options.name ?? 'parlor', level: options.level ?? 'info', redact };
  return options.destination ? pino(opts, options.destination) : pino(opts);
}

/**
 * The logger the server uses for its `logger` / `logLevel` options: a given pino logger gets a
 * child with the redaction paths; without one, {@link createLogger}'s at `level` (default `'info'`).
 * @throws {ServerConfigError} `SERVER_CONFIG` when `logger` is given but is not a pino logger (no `child` method).
 */
export function resolveLogger(logger: Logger | undefined, level: LogLevel = 'info'): Logger {
  if (logger === undefined) return createLogger({ level });
  if (typeof logger !== 'object' || logger === null || typeof logger.child !== 'function') throw new ServerConfigError('logger must be a pino logger (pino() or a child of one)');
  return logger.child({}, { redact });
}

/** A short text for a thrown value (its `message`, else its string form), capped at `max` characters. */
export function errText(err: unknown, max = 500): string {
  let s: string;
  try {
    s = err instanceof Error ? err.message : String(err);
  } catch {
    s = 'unknown error';
  }
  return s.length > max ? `${s.slice(0, max)}…` : s;
}
