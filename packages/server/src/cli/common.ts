/** What every `parlor` command shares: argument parsers, common options, the logger, one-line failures, listening and signals. */
import { readFileSync } from 'node:fs';
import { InvalidArgumentError, Option } from 'commander';
import { ServerError } from '../errors.js';
import type { IdentityOptions } from '../identity/options.js';
import { LOG_LEVELS, createLogger, type Logger, type LogLevel } from '../logger.js';
import { createGameServer, type GameServer, type GameServerOptions } from '../server.js';

/** A commander argument parser for an integer in `min`–`max` (commander reports the error and exits 1). */
export function int(what: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  return (v: string): number => {
    const n = /^\d{1,15}$/.test(v) ? Number(v) : NaN;
    if (!(n >= min && n <= max)) throw new InvalidArgumentError(`${what}: an integer from ${min}${max === Number.MAX_SAFE_INTEGER ? '' : ` to ${max}`}`);
    return n;
  };
}

/** `--cpu-budget`: a fraction of one core, 0–64 (0 disables it). */
export function fraction(v: string): number {
  const f = /^\d+(\.\d+)?$/.test(v) ? Number(v) : NaN;
  if (!(f >= 0 && f <= 64)) throw new InvalidArgumentError('a fraction of one core, e.g. 0.8 (0 disables it)');
  return f;
}

/** `--instance-id`: 1–128 printable characters without spaces. */
export function instanceId(v: string): string {
  if (!/^[\x21-\x7e]{1,128}$/.test(v)) throw new InvalidArgumentError('1–128 printable characters without spaces');
  return v;
}

export const portOption = (): Option => new Option('-p, --port <port>', 'port to listen on').env('PORT').default(8080).argParser(int('a port', 0, 65535));
export const hostOption = (): Option => new Option('--host <host>', 'interface to listen on (default: all)');
/** `parlor dev` runs the game in the host process (no sandbox): only this machine reaches it unless `--host` says otherwise. */
export const devHostOption = (): Option => new Option('--host <host>', 'interface to listen on (dev runs the game unsandboxed, so only this machine by default)').default('127.0.0.1');
export const levelOption = (): Option => new Option('--log-level <level>', 'log level').choices(LOG_LEVELS).default('info');

/**
 * The CLI's logger: pino JSON lines on stdout, except in a terminal, where pino-pretty prints
 * them readably (a dependency, loaded only then; if it cannot load, JSON as well).
 */
export async function cliLogger(level: LogLevel): Promise<Logger> {
  if (!process.stdout.isTTY) return createLogger({ level });
  try {
    const { default: pretty } = await import('pino-pretty');
    return createLogger({ level, destination: pretty({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,name' }) });
  } catch {
    return createLogger({ level });
  }
}

/** The identity flags of `parlor serve` and `parlor dev` (see `GameServerOptions.identity`), as commander parses them. */
export interface IdentityFlags {
  identitySecretFile?: string;
  identityJwksUrl?: string;
  identityIssuer?: string;
  identityAudience?: string;
}

/** `--identity-secret-file`, `--identity-jwks-url`, `--identity-issuer`, `--identity-audience`. */
export const identityOptionList = (): Option[] => [
  new Option('--identity-secret-file <path>', 'verify players\' identity tokens (JWT, HS256) with the secret(s) in this file, one per line, each at least 32 bytes').env('PARLOR_IDENTITY_SECRET_FILE'),
  new Option('--identity-jwks-url <url>', 'verify players\' identity tokens (RS256, ES256, EdDSA…) with the keys of this JWKS URL').env('PARLOR_IDENTITY_JWKS_URL'),
  new Option('--identity-issuer <iss>', 'identity tokens must have this issuer (iss)').env('PARLOR_IDENTITY_ISSUER'),
  new Option('--identity-audience <aud>', 'identity tokens must have this audience (aud)').env('PARLOR_IDENTITY_AUDIENCE'),
];

/**
 * Reads a key file as the commands that talk to an orchestrator take it (`--key-file`): the key is
 * its first line that is not blank or a `#` comment.
 * @returns the key, or the one-line error naming the flag, the file and the fix
 */
export function readKeyFile(file: string): { key: string } | { error: string } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { error: `--key-file ${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'not readable (permissions)' : (err as Error).message}` };
  }
  const key = text.split('\n').map((l) => l.trim()).find((l) => l !== '' && !l.startsWith('#'));
  if (!key || /\s/.test(key)) return { error: `--key-file ${file}: no key in the file (its first line that is not blank or a # comment is the key)` };
  return { key };
}

/**
 * `GameServerOptions.identity` from the identity flags; `undefined` when none is set (every player
 * anonymous). A secret file that cannot be read, or holds no secret, ends the process with one line.
 */
export function identityFromFlags(f: IdentityFlags): IdentityOptions | undefined {
  if (!f.identitySecretFile && !f.identityJwksUrl) {
    if (f.identityIssuer || f.identityAudience) fail('--identity-issuer / --identity-audience need keys to check tokens with: --identity-secret-file <path> or --identity-jwks-url <url>');
    return undefined;
  }
  const out: IdentityOptions = {};
  if (f.identitySecretFile) {
    let text: string;
    try {
      text = readFileSync(f.identitySecretFile, 'utf8');
    } catch (err) {
      fail(`--identity-secret-file ${f.identitySecretFile}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    const secrets = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
    if (secrets.length === 0) fail(`--identity-secret-file ${f.identitySecretFile}: no secret in it (one per line, at least 32 bytes, e.g. from openssl rand -base64 48)`);
    const short = secrets.findIndex((x) => Buffer.byteLength(x) < 32);
    if (short >= 0) fail(`--identity-secret-file ${f.identitySecretFile}: secret #${short + 1} is ${Buffer.byteLength(secrets[short])} bytes; an HS256 secret needs at least 32 (e.g. openssl rand -base64 48)`);
    out.secrets = secrets;
  }
  if (f.identityJwksUrl) out.jwksUrl = f.identityJwksUrl;
  if (f.identityIssuer) out.issuer = f.identityIssuer;
  if (f.identityAudience) out.audience = f.identityAudience;
  return out;
}

export function fail(message: string): never {
  console.error(`parlor: ${message}`);
  process.exit(1);
}

/**
 * `createGameServer`, with listen errors as one line that says what to do (a busy port is the
 * common case: another `parlor` still running), instead of a stack.
 */
export async function listen(options: GameServerOptions): Promise<GameServer> {
  try {
    return await createGameServer(options);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException)?.code;
    const where = `port ${options.port}${options.host ? ` on ${options.host}` : ''}`;
    if (code === 'EADDRINUSE') fail(`${where} is already in use: stop what holds it, or choose another port with --port <n> (or PORT=<n>)`);
    if (code === 'EACCES') fail(`not allowed to listen on ${where}: choose a port above 1023 with --port <n>`);
    if (code === 'EADDRNOTAVAIL') fail(`cannot listen on ${where}: no such interface on this machine (see --host)`);
    fail(describeError(err));
  }
}

export function describeError(err: unknown): string {
  if (err instanceof ServerError) return `${err.message} [${err.code}]`;
  return (err as Error)?.stack ?? String(err);
}

/** Extra signal handling of a command (see {@link handleSignals}). */
export interface SignalOptions {
  /**
   * Runs on the first SIGTERM/SIGINT before `onClose` and `server.close()`: e.g. `parlor serve`'s
   * drain, which waits for its rooms to empty. A rejection is logged and the close goes on.
   */
  drain?: (signal: string) => Promise<void>;
  /** SIGHUP: called instead of Node's default (which ends the process), e.g. to re-read a key file. */
  onReload?: () => void;
}

/**
 * Closes the server on SIGINT/SIGTERM, after `opts.drain` when given; a second signal exits at
 * once (code 1). With `opts.onReload`, SIGHUP calls it and the process keeps running.
 */
export function handleSignals(server: GameServer, logger: Logger, onClose?: () => void, opts: SignalOptions = {}): void {
  let closing = false;
  const shutdown = (signal: string): void => {
    if (closing) {
      logger.info({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    closing = true;
    logger.info({ signal }, 'signal received');
    const drained = opts.drain ? opts.drain(signal).catch((err: unknown) => logger.error({ error: describeError(err) }, 'drain failed; closing')) : Promise.resolve();
    drained
      .then(() => {
        onClose?.();
        return server.close();
      })
      .then(
        () => process.exit(0),
        (err: unknown) => {
          logger.error({ error: describeError(err) }, 'shutdown failed');
          process.exit(1);
        },
      );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  const reload = opts.onReload;
  if (reload) process.on('SIGHUP', () => reload());
}
