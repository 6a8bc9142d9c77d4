/**
 * The orchestrator's logs: pino, one JSON object per line (pretty only in the CLI, in a
 * terminal). Every component logs through a child with its fields (`instance`, `room`, `game`);
 * keys and tickets are redacted wherever they would appear (the code logs key fingerprints,
 * `keyFp`, never keys: redaction is the second line).
 */
import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';
import { OrchestratorConfigError } from './errors.js';

/** A pino logger (what `OrchestratorOptions.logger` accepts besides a level). */
export type Logger = PinoLogger;

/** Log levels, most verbose first; `silent` logs nothing. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

/** The log fields written as `[redacted]` (at the top level and one level down). */
export const LOG_REDACT_PATHS: readonly string[] = ['key', 'agentKey', 'adminKey', 'fleetKey', 'token', 'ticket', 'tickets', 'authorization', 'headers.authorization', 'req.headers.authorization'].flatMap(
  (p) => (p.includes('.') ? [p] : [p, `*.${p}`]),
);

const redact = { paths: [...LOG_REDACT_PATHS], censor: '[redacted]' };

/**
 * A pino logger for the orchestrator: level `level` (default `'info'`), JSON lines to
 * `destination` (default stdout), {@link LOG_REDACT_PATHS} redacted, `name: 'orchestrator'`.
 * @throws {OrchestratorConfigError} for a level that is not a {@link LogLevel} (pino's error as `cause`).
 */
export function createLogger(options: { level?: LogLevel; destination?: DestinationStream } = {}): Logger {
  const opts = { name: 'orchestrator', level: options.level ?? 'info', redact };
  try {
    return options.destination ? pino(opts, options.destination) : pino(opts);
  } catch (err) {
    throw new OrchestratorConfigError(`invalid log level ${JSON.stringify(String(opts.level)).slice(0, 40)}: ${(err as Error)?.message ?? String(err)}`, { cause: err });
  }
}

/**
 * The logger the orchestrator uses for an option value: a given pino logger gets a child with
 * the redaction paths; a level (or nothing: `fallbackLevel`, default `'info'`) gets
 * {@link createLogger}'s logger.
 * @throws {OrchestratorConfigError} for a level that is not a {@link LogLevel}.
 */
export function resolveLogger(option: Logger | LogLevel | undefined, fallbackLevel: LogLevel = 'info'): Logger {
  if (typeof option === 'object' && option !== null && typeof option.child === 'function') return option.child({}, { redact });
  return createLogger({ level: typeof option === 'string' ? option : fallbackLevel });
}
