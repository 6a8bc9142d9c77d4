#!/usr/bin/env node
/**
 * The `parlor` command line:
 * - `parlor dev <game-file-or-folder> [--port 8080] [--host 127.0.0.1]`: serve one game, rebuild it on
 *   change (on 127.0.0.1 by default: the game runs unsandboxed);
 * - `parlor serve --games <dir> [--port 8080] [--host 0.0.0.0]`: serve every game in a folder.
 *   With `--fleet-url <ws-url> --fleet-key <key> [--name <name>] [--label k=v]… [--endpoint-url <url>]`
 *   it attaches a fleet agent (`@parlor/fleet-agent`) that reports to an orchestrator;
 * - `parlor validate <game> [--runtime auto|docker|process] [--smoke-ms 5000] [--json]`: the publish gate
 *   (a filter, not the security boundary);
 * `PORT` sets the default port. A busy port, a refused one or an unknown interface is one line
 * naming the fix, not a stack.
 */
import { statSync } from 'node:fs';
import { basename, extname, resolve, sep } from 'node:path';
import { watch as watchFiles, type FSWatcher } from 'chokidar';
import { Command, InvalidArgumentError, Option } from 'commander';
import { GAME_NAME_RE, playPath } from '@parlor/squish';
import { GameLoadError, ServerError } from '../errors.js';
import { loadGame, loadGamesFromDir, type GameSource, type LoadedGame } from '../games/loader.js';
import { LOG_LEVELS, createLogger, errText, type Logger, type LogLevel } from '../logger.js';
import { createGameServer, type GameServer, type GameServerOptions } from '../server.js';
import { defaultInstanceId } from '../runtime/docker.js';
import { attachFleet, collectLabel, type FleetFlags } from '../fleet/fleet-cli.js';
import type { FleetAgent } from '@parlor/fleet-agent';
import { RUNTIME_NAMES, createRuntime, loadOptionsFor, type RuntimeChoice } from '../runtime/policy.js';
import type { RoomRuntime } from '../runtime/runtime.js';
import { DEFAULT_SMOKE_MS, GATE_DISCLAIMER, formatGateReport, validateGame, type GateRuntimeChoice } from '../gate/validate.js';

const GATE_RUNTIMES: readonly string[] = ['auto', 'docker', 'process'];

const RUNTIME_CHOICES: readonly string[] = [...RUNTIME_NAMES, 'auto'];

/**
 * Builds the `--runtime` runtime (fail closed: an unavailable or refused runtime exits with its error).
 * `instanceId` labels a docker runtime's containers (see `GameServerOptions.instanceId`).
 */
function runtimeFromFlag(v: string | undefined, logger: Logger, instanceId?: string, sandbox: SandboxFlags = {}): RoomRuntime {
  const limits = sandboxLimits(sandbox);
  const { memoryLimitMb, unsafeWeakSandbox, ...shared } = limits;
  try {
    return createRuntime((v ?? (process.env.NODE_ENV === 'production' ? 'auto' : 'inline')) as RuntimeChoice, {
      logger,
      process: limits,
      docker: {
        ...shared,
        ...(sandbox.image ? { image: sandbox.image } : {}),
        ...(instanceId ? { instanceId } : {}),
        ...(memoryLimitMb !== undefined ? { memoryBytes: memoryLimitMb * 1024 * 1024 } : {}),
      },
    });
  } catch (err) {
    fail(describeError(err));
  }
}

/** Quiet time after the last file change before `parlor dev` rebuilds (editors write in bursts). */
const DEBOUNCE_MS = 150;

/** A commander argument parser for an integer in `min`–`max` (commander reports the error and exits 1). */
function int(what: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  return (v: string): number => {
    const n = /^\d{1,15}$/.test(v) ? Number(v) : NaN;
    if (!(n >= min && n <= max)) throw new InvalidArgumentError(`${what}: an integer from ${min}${max === Number.MAX_SAFE_INTEGER ? '' : ` to ${max}`}`);
    return n;
  };
}

/** `--cpu-budget`: a fraction of one core, 0–64 (0 disables it). */
function fraction(v: string): number {
  const f = /^\d+(\.\d+)?$/.test(v) ? Number(v) : NaN;
  if (!(f >= 0 && f <= 64)) throw new InvalidArgumentError('a fraction of one core, e.g. 0.8 (0 disables it)');
  return f;
}

/** `--instance-id`: 1–128 printable characters without spaces. */
function instanceId(v: string): string {
  if (!/^[\x21-\x7e]{1,128}$/.test(v)) throw new InvalidArgumentError('1–128 printable characters without spaces');
  return v;
}

const portOption = (): Option => new Option('-p, --port <port>', 'port to listen on').env('PORT').default(8080).argParser(int('a port', 0, 65535));
const hostOption = (): Option => new Option('--host <host>', 'interface to listen on (default: all)');
/** `parlor dev` runs the game in the host process (no sandbox): only this machine reaches it unless `--host` says otherwise. */
const devHostOption = (): Option => new Option('--host <host>', 'interface to listen on (dev runs the game unsandboxed, so only this machine by default)').default('127.0.0.1');
const levelOption = (): Option => new Option('--log-level <level>', 'log level').choices(LOG_LEVELS).default('info');

/**
 * The CLI's logger: pino JSON lines on stdout, except in a terminal, where pino-pretty prints
 * them readably (a dependency, loaded only then; if it cannot load, JSON as well).
 */
async function cliLogger(level: LogLevel): Promise<Logger> {
  if (!process.stdout.isTTY) return createLogger({ level });
  try {
    const { default: pretty } = await import('pino-pretty');
    return createLogger({ level, destination: pretty({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,name' }) });
  } catch {
    return createLogger({ level });
  }
}

function fail(message: string): never {
  console.error(`parlor: ${message}`);
  process.exit(1);
}

/**
 * `createGameServer`, with listen errors as one line that says what to do (a busy port is the
 * common case: another `parlor` still running), instead of a stack.
 */
async function listen(options: GameServerOptions): Promise<GameServer> {
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

function describeError(err: unknown): string {
  if (err instanceof ServerError) return `${err.message} [${err.code}]`;
  return (err as Error)?.stack ?? String(err);
}

/** Closes the server on SIGINT/SIGTERM (a second signal exits at once). */
function handleSignals(server: GameServer, logger: Logger, onClose?: () => void): void {
  let closing = false;
  const shutdown = (signal: string): void => {
    if (closing) process.exit(1);
    closing = true;
    logger.info({ signal }, 'signal received');
    onClose?.();
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ error: describeError(err) }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

/** Route name for a game path: the folder name, or the file name without extension, made URL-safe. */
function gameNameOf(path: string, isDir: boolean): string {
  const raw = isDir ? basename(path) : basename(path, extname(path));
  const name = raw.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 64);
  return GAME_NAME_RE.test(name) ? name : 'game';
}

async function dev(target: string, opts: { port: number; host?: string; logLevel: LogLevel }): Promise<void> {
  try {
    process.setSourceMapsEnabled?.(true);
  } catch {
    // older Node: stack traces point into the bundle
  }
  const path = resolve(target);
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch {
    fail(`no such game file or folder: ${path}`);
  }
  const logger = await cliLogger(opts.logLevel);
  const name = gameNameOf(path, isDir);
  const source: GameSource = isDir ? { dir: path } : { file: path };
  let game: LoadedGame;
  try {
    game = await loadGame(name, source);
  } catch (err) {
    fail(describeError(err));
  }
  const server = await listen({ games: { [name]: game }, port: opts.port, host: opts.host, logger });
  console.log(`\n  Parlor dev: ${game.metadata.name}\n  Play:   ${server.url}${playPath(name)}\n  Lobby:  ${server.url}/\n  Watching ${isDir ? path : game.inputs.join(', ')} for changes.\n`);

  let watcher: FSWatcher | null = null;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let building = false;
  let again = false;

  const rebuild = async (): Promise<void> => {
    if (building) {
      again = true;
      return;
    }
    building = true;
    try {
      const started = Date.now();
      game = await server.replaceGame(name, source);
      logger.info({ game: name, ms: Date.now() - started }, 'rebuilt; live rooms redirected to the new build');
      if (!isDir) rewatch();
    } catch (err) {
      if (err instanceof GameLoadError) logger.error({ game: name, error: err.message }, 'rebuild failed (still serving the previous build)');
      else logger.error({ game: name, error: describeError(err) }, 'rebuild failed');
    } finally {
      building = false;
      if (again) {
        again = false;
        void rebuild();
      }
    }
  };
  const schedule = (): void => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      void rebuild();
    }, DEBOUNCE_MS);
  };
  /**
   * Watches the game (chokidar): a folder recursively, without `node_modules` and dot-files; a
   * single file together with every source file and asset of its last build (re-watched after
   * each rebuild, as its imports may change). Any change schedules one debounced rebuild.
   */
  const rewatch = (): void => {
    void watcher?.close();
    const targets = isDir ? [path] : [...new Set([...game.inputs, path, ...game.assets.map((a) => a.file)])];
    watcher = watchFiles(targets, {
      ignoreInitial: true,
      ignored: isDir ? (p: string) => p.slice(path.length).split(/[\\/]/).some((seg) => seg === 'node_modules' || seg.startsWith('.')) : undefined,
    });
    watcher.on('all', () => schedule());
    watcher.on('error', (err: unknown) => logger.warn({ error: errText(err), watching: isDir ? `${path}${sep}` : path }, 'cannot watch'));
  };
  rewatch();
  handleSignals(server, logger, () => {
    if (timer) clearTimeout(timer);
    void watcher?.close();
  });
}

/** Flags of `parlor serve` for the server's capacity limits (see `GameServerOptions`), parsed by commander. */
interface CapacityFlags {
  maxConnections?: number;
  maxConnectionsPerAddress?: number;
  maxRooms?: number;
  roomsPerAddressPerMinute?: number;
  maxSpectators?: number;
  maxBufferedBytes?: number;
  instanceId?: string;
}

/** `serve` flags of the sandboxed runtimes (process, docker). */
interface SandboxFlags {
  unsafeWeakSandbox?: boolean;
  image?: string;
  memoryMb?: number;
  cpuBudget?: number;
}

/** The sandbox options shared by the process and docker runtimes, from the `serve` flags. */
function sandboxLimits(opts: SandboxFlags): { unsafeWeakSandbox?: boolean; memoryLimitMb?: number; cpuBudget?: number } {
  const out: { unsafeWeakSandbox?: boolean; memoryLimitMb?: number; cpuBudget?: number } = {};
  if (opts.unsafeWeakSandbox) out.unsafeWeakSandbox = true;
  if (opts.memoryMb !== undefined) out.memoryLimitMb = opts.memoryMb;
  if (opts.cpuBudget !== undefined) out.cpuBudget = opts.cpuBudget;
  return out;
}

/** The capacity options of `createGameServer` from the `serve` flags (unset flags keep the defaults). */
function capacityOptions(opts: CapacityFlags, port: number): Partial<GameServerOptions> & { instanceId: string } {
  const out: Partial<GameServerOptions> = {
    maxConnections: opts.maxConnections,
    maxConnectionsPerAddress: opts.maxConnectionsPerAddress,
    maxRooms: opts.maxRooms,
    roomsPerAddressPerMinute: opts.roomsPerAddressPerMinute,
    maxSpectatorsPerRoom: opts.maxSpectators,
    maxBufferedBytes: opts.maxBufferedBytes,
  };
  for (const k of Object.keys(out) as Array<keyof typeof out>) if (out[k] === undefined) delete out[k];
  return { ...out, instanceId: opts.instanceId ?? defaultInstanceId(port) };
}

/** What commander hands `serve`. */
type ServeFlags = { games: string; port: number; host?: string; logLevel: LogLevel; runtime?: string } & FleetFlags & CapacityFlags & SandboxFlags;

async function serve(opts: ServeFlags): Promise<void> {
  const logger = await cliLogger(opts.logLevel);
  const port = opts.port;
  const capacity = capacityOptions(opts, port);
  const runtime = runtimeFromFlag(opts.runtime, logger, capacity.instanceId, opts);
  let games: Record<string, LoadedGame>;
  try {
    await runtime.prepare?.(); // fail closed: e.g. --runtime docker with Docker unreachable exits here
    games = await loadGamesFromDir(resolve(opts.games), {
      onError: (name, err) => logger.error({ game: name, error: err.message }, 'game not served'),
      ...loadOptionsFor(runtime),
    });
  } catch (err) {
    fail(describeError(err));
  }
  if (Object.keys(games).length === 0) fail(`no games found in ${resolve(opts.games)}`);
  const server = await listen({ ...capacity, games, port, host: opts.host, logger, runtime });
  console.log(`\n  Parlor: serving ${Object.keys(games).join(', ')}\n  Open ${server.url}/\n`);
  let agent: FleetAgent | null = null;
  if (opts.fleetUrl) {
    try {
      // Never declare more to the orchestrator than this server admits (agent defaults: 1000 connections, 100 rooms).
      agent = attachFleet(server, opts, logger, {
        maxConnections: capacity.maxConnections === undefined ? undefined : Math.min(1000, capacity.maxConnections),
        maxRooms: capacity.maxRooms === undefined ? undefined : Math.min(100, capacity.maxRooms),
      });
    } catch (err) {
      await server.close();
      fail((err as Error).message);
    }
  }
  handleSignals(server, logger, agent ? () => void agent?.disconnect() : undefined);
}

const program = new Command();
program
  .name('parlor')
  .version('0.1.0')
  .description('Parlor: serve server-authoritative multiplayer browser games.');

program
  .command('dev <game>')
  .description('serve one game (a .ts/.js file or a folder) and rebuild it when its files change')
  .addOption(portOption())
  .addOption(devHostOption())
  .addOption(levelOption())
  .action((game: string, opts: { port: number; host?: string; logLevel: LogLevel }) => {
    dev(game, opts).catch((err: unknown) => fail(describeError(err)));
  });

program
  .command('serve')
  .description('serve every game in a folder (each subfolder with an index file, and each .ts/.js file)')
  .requiredOption('-g, --games <dir>', 'folder of games')
  .addOption(portOption())
  .addOption(hostOption())
  .addOption(levelOption())
  .addOption(new Option('--runtime <runtime>', 'where rooms run (default inline; auto when NODE_ENV=production)').choices(RUNTIME_CHOICES))
  .option('--fleet-url <ws-url>', 'attach a fleet agent: the orchestrator URL, e.g. ws://localhost:7070')
  .option('--fleet-key <key>', 'agent key for --fleet-url (env PARLOR_FLEET_KEY)')
  .option('--name <name>', 'instance name shown by the orchestrator (default <hostname>-<pid>)')
  .option('--label <k=v>', 'instance label for placement selectors (repeatable)', collectLabel)
  .option('--endpoint-url <url>', 'public base URL of this server for join URLs (default: its own URL)')
  .option('--max-connections <n>', 'most open TCP connections; over it HTTP 503 at accept (default 10000, or half the open-file limit)', int('a positive integer', 1))
  .option('--max-connections-per-address <n>', 'most open TCP connections per source address (IPv6: per /64); over it HTTP 429 (default 64)', int('a positive integer', 1))
  .option('--max-rooms <n>', 'most live rooms; a join that would create one more gets close code 4503 (default 200)', int('a positive integer', 1))
  .option('--rooms-per-address-per-minute <n>', 'rooms one source address may create per minute by joining; over it 4429 (default 10)', int('a positive integer', 1))
  .option('--max-spectators <n>', 'most spectators per room; over it 4409 (default 100)', int('an integer', 0))
  .option('--max-buffered-bytes <n>', 'bytes queued for one socket before a client that does not read is dropped with 4413 (default 4194304)', int('a positive integer', 1))
  .option('--instance-id <id>', 'this server\'s instance id: labels its docker containers; reconcile touches only its own (default <hostname>:<port>)', instanceId)
  .option('--image <image>', 'runner image of the docker runtime (default parlor-runner:local; build it with packages/server/docker/build-runner-image.sh)')
  .option('--memory-mb <mb>', 'memory limit of each sandboxed room, heap and everything else, enforced by the kernel (default 128)', int('megabytes', 32))
  .option('--cpu-budget <fraction>', 'CPU budget of one sandboxed room as a fraction of one core over 5 s; over it the room ends (default 0.8, 0 disables)', fraction)
  .option('--unsafe-weak-sandbox', 'development only: let --runtime process start where the kernel cannot isolate rooms (bubblewrap, cgroups missing); logged loudly')
  .action((opts: ServeFlags) => {
    serve(opts).catch((err: unknown) => fail(describeError(err)));
  });

program
  .command('validate <game>')
  .description(
    'publish gate: static scan, load in the sandbox, metadata and asset checks, and a smoke run with synthetic players; exit code 0 = pass, 1 = fail. ' +
      'The gate is a filter, not the security boundary: the runtime the game is served in is.',
  )
  .option('--json', 'print the report as JSON')
  .addOption(new Option('--smoke-ms <ms>', 'length of the smoke run in ms (0 skips it)').default(DEFAULT_SMOKE_MS).argParser(int('milliseconds', 0, 600_000)))
  .addOption(
    new Option('--runtime <runtime>', 'runtime for loading and the smoke run (auto: docker when an engine answers, else process; never weaker than your servers; never inline)')
      .choices(GATE_RUNTIMES)
      .default('auto'),
  )
  .option('--image <image>', 'runner image of the docker runtime (default parlor-runner:local)')
  .option('--unsafe-weak-sandbox', 'development only: run in the process runtime even where the kernel cannot isolate it (loudly reported)')
  .action((game: string, opts: { json?: boolean; smokeMs: number; runtime: string; image?: string; unsafeWeakSandbox?: boolean }) => {
    validateGame(resolve(game), {
      smokeMs: opts.smokeMs,
      runtime: opts.runtime as GateRuntimeChoice,
      docker: opts.image ? { image: opts.image } : undefined,
      unsafeWeakSandbox: opts.unsafeWeakSandbox === true,
      // warnings and errors as JSON lines on stderr, so stdout stays the report
      logger: createLogger({ level: opts.json ? 'silent' : 'error', destination: process.stderr }),
    }).then(
      (report) => {
        console.log(opts.json ? JSON.stringify({ ...report, note: GATE_DISCLAIMER }, null, 2) : formatGateReport(report));
        process.exit(report.ok ? 0 : 1);
      },
      (err: unknown) => fail(describeError(err)),
    );
  });

program.showHelpAfterError();
program.addHelpText('after', `
Examples:
  parlor dev ./my-game            serve ./my-game (folder or file) at http://localhost:8080/play/my-game
  parlor dev pong.ts --port 3000  serve one file on port 3000
  parlor serve --games examples   serve every game in ./examples (lobby at /)
  parlor serve --games examples --runtime process   every room in a sandboxed child process
  parlor validate ./my-game       publish gate report (add --json for machines)
`);

program.parse(process.argv);
if (process.argv.length <= 2) program.help();
