/** Log levels, least to most severe. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

/**
 * The logger the server writes to: one line per event. Reconnect tokens and other secrets are
 * never passed to it.
 */
export interface Logger {
  debug(line: string): void;
  info(line: string): void;
  warn(line: string): void;
  error(line: string): void;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/**
 * A logger writing to `console` (`debug`/`info` to stdout, `warn`/`error` to stderr), each line
 * prefixed with an ISO time and the level; lines below `level` are dropped.
 * @param level minimum level; default `'info'`.
 */
export function createConsoleLogger(level: LogLevel = 'info'): Logger {
  const min = RANK[level] ?? RANK.info;
  const write = (lvl: Exclude<LogLevel, 'silent'>, line: string): void => {
    if (RANK[lvl] < min) return;
    const text = `${new Date().toISOString()} ${lvl.toUpperCase().padEnd(5)} ${line}`;
    if (lvl === 'warn' || lvl === 'error') console.error(text);
    else console.log(text);
  };
  return {
    debug: (l) => write('debug', l),
    info: (l) => write('info', l),
    warn: (l) => write('warn', l),
    error: (l) => write('error', l),
  };
}

/** Formats `key=value` pairs for a log line; values with spaces are JSON-quoted. */
export function kv(fields: Record<string, string | number | boolean | undefined | null>): string {
  const out: string[] = [];
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined || v === null || v === '') continue;
    const s = String(v);
    out.push(`${k}=${/[\s"=]/.test(s) ? JSON.stringify(s) : s}`);
  }
  return out.join(' ');
}
