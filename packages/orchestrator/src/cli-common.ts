/**
 * What the two command lines (`parlor-orchestrator`, `parlor-catalog`) share: the one-line
 * failure, number and list parsing, the logger (pretty in a terminal), key files (read at start,
 * re-read on SIGHUP) and the catalog's gate.
 */
import { readKeyFile } from './auth/keys.js';
import type { PublishGate } from './catalog/types.js';
import { OrchestratorError } from './errors.js';
import { createLogger, type Logger, type LogLevel } from './logger.js';

export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error', 'silent'];

/** Prints `<name>: <message>` on stderr and exits 1. */
export function failWith(name: string): (message: string) => never {
  return (message: string): never => {
    console.error(`${name}: ${message}`);
    process.exit(1);
  };
}

/** A commander parser of an integer ≥ `min`. */
export function intArg(fail: (m: string) => never, name: string, min: number): (v: string) => number {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) fail(`invalid ${name}: ${v}`);
    return n;
  };
}

/** A repeatable flag whose values (and its env list) are comma-separated. */
export const collect = (v: string, prev: string[] = []): string[] => [...prev, ...v.split(',').map((s) => s.trim()).filter(Boolean)];

/** An error as one line (`message [CODE]` for the orchestrator's). */
export const oneLine = (err: unknown): string => (err instanceof OrchestratorError ? `${err.message} [${err.code}]` : ((err as Error)?.message ?? String(err)));

/** JSON lines, except in a terminal: there pino-pretty (loaded only then; if it cannot load, JSON as well). */
export async function cliLogger(level: LogLevel): Promise<Logger> {
  if (!process.stdout.isTTY) return createLogger({ level });
  try {
    const { default: pretty } = await import('pino-pretty');
    return createLogger({ level, destination: pretty({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,name' }) });
  } catch {
    return createLogger({ level });
  }
}

/** The key flags of a command line: lists (flags and env) and files, per class. */
export interface KeyFlags {
  agentKey?: string[];
  adminKey?: string[];
  publisherKey?: string[];
  agentKeyFile?: string;
  adminKeyFile?: string;
  publisherKeyFile?: string;
}

/** Each class's keys: its flags / env list plus the lines of its key file (read now). @throws {OrchestratorConfigError} for an unreadable or empty file. */
export function keysFromFiles(opts: KeyFlags): { agentKey?: string[]; adminKey?: string[]; publisherKey?: string[] } {
  const merge = (listed: string[] | undefined, file: string | undefined, what: string): string[] | undefined => (file === undefined ? listed : [...(listed ?? []), ...readKeyFile(file, what)]);
  return {
    agentKey: merge(opts.agentKey, opts.agentKeyFile, '--agent-key-file'),
    adminKey: merge(opts.adminKey, opts.adminKeyFile, '--admin-key-file'),
    publisherKey: merge(opts.publisherKey, opts.publisherKeyFile, '--publisher-key-file'),
  };
}

/**
 * SIGHUP: re-reads the key files and sets the lists that have one. Never exits: a failed reload
 * changes nothing and logs why.
 */
export function reloadKeyFiles(logger: Logger, opts: KeyFlags, setKeys: (keys: { agentKey?: string[]; adminKey?: string[]; publisherKey?: string[] }) => void): void {
  if (opts.agentKeyFile === undefined && opts.adminKeyFile === undefined && opts.publisherKeyFile === undefined) {
    logger.warn({ signal: 'SIGHUP' }, 'no key file to reload (--agent-key-file, --admin-key-file, --publisher-key-file); keys unchanged');
    return;
  }
  try {
    const keys = keysFromFiles(opts);
    setKeys({
      ...(opts.agentKeyFile !== undefined ? { agentKey: keys.agentKey } : {}),
      ...(opts.adminKeyFile !== undefined ? { adminKey: keys.adminKey } : {}),
      ...(opts.publisherKeyFile !== undefined ? { publisherKey: keys.publisherKey ?? [] } : {}),
    });
  } catch (err) {
    logger.error({ signal: 'SIGHUP', error: oneLine(err) }, 'key reload failed; keys unchanged');
  }
}

/** Where the publish gate smoke-runs games (`--gate-runtime`): as `parlor validate --runtime`. */
export const GATE_RUNTIMES = ['auto', 'docker', 'process'] as const;

/**
 * The publish gate of `@parlor/server/gate` (the same checks as `parlor validate`), loaded only when a
 * catalog runs here. `runtime` as `parlor validate --runtime`: `auto` (default) is docker when an engine
 * answers (its runner image must exist), else process; the gate never falls back to a weaker one.
 */
export async function publishGate(runtime: (typeof GATE_RUNTIMES)[number] = 'auto'): Promise<PublishGate> {
  const mod = (await import('@parlor/server/gate')) as unknown as { createPublishGate?: (o: { runtime: string }) => PublishGate };
  if (typeof mod.createPublishGate !== 'function') throw new Error('@parlor/server/gate has no createPublishGate: rebuild @parlor/server (npm run build)');
  return mod.createPublishGate({ runtime });
}

/** Default folder of the catalog (relative to the working directory). */
export const DEFAULT_CATALOG_DIR = './parlor-data/catalog';

/** Default folder of the orchestrator's own database, orchestrator.db (relative to the working directory). */
export const DEFAULT_DATA_DIR = './parlor-data/orchestrator';
