/** Log levels, most verbose first; `silent` logs nothing. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

/** Where the orchestrator's log lines go. Never receives keys (only fingerprints). */
export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/** A logger that writes `<ISO time> <level> <msg>` lines to stdout (debug, info) and stderr (warn, error) at `level` and above. */
export function createConsoleLogger(level: LogLevel = 'info'): Logger {
  const min = ORDER[level] ?? 20;
  const line = (l: Exclude<LogLevel, 'silent'>, msg: string): void => {
    if (ORDER[l] < min) return;
    const s = `${new Date().toISOString()} ${l} [orchestrator] ${msg}\n`;
    if (l === 'warn' || l === 'error') process.stderr.write(s);
    else process.stdout.write(s);
  };
  return { debug: (m) => line('debug', m), info: (m) => line('info', m), warn: (m) => line('warn', m), error: (m) => line('error', m) };
}

/** `k=v` pairs for log lines (values with spaces are JSON-quoted). */
export function kv(fields: Record<string, unknown>): string {
  return Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => {
      const s = String(v);
      return `${k}=${/[\s"=]/.test(s) || s === '' ? JSON.stringify(s) : s}`;
    })
    .join(' ');
}
