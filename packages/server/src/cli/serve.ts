/**
 * `parlor serve --games <dir>` and/or `--catalog-url <url> --env prod`: serve every game in a folder and/or the
 * versions an environment's manifest pins (fetched, verified and cached), in the runtime chosen, optionally as a fleet instance.
 */
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { ENV_RE } from '@parlor/squish';
import type { FleetAgent } from '@parlor/fleet-agent';
import { loadGamesFromDir, type LoadedGame } from '../games/loader.js';
import type { Logger, LogLevel } from '../logger.js';
import type { GameServerOptions } from '../server.js';
import { defaultInstanceId } from '../runtime/docker.js';
import { attachFleet, collectLabel, fleetKey, fleetKeyFile, readFleetKeyFile, type FleetFlags } from '../fleet/fleet-cli.js';
import { ArtifactCache } from '../catalog/artifact-cache.js';
import { CatalogVersions, followManifest } from '../catalog/versions.js';
import { RUNTIME_NAMES, createRuntime, loadOptionsFor, type RuntimeChoice } from '../runtime/policy.js';
import type { RoomRuntime } from '../runtime/runtime.js';
import { cliLogger, describeError, fail, fraction, handleSignals, hostOption, identityFromFlags, identityOptionList, instanceId, int, levelOption, listen, portOption, type IdentityFlags } from './common.js';
import { DEFAULT_DRAIN_TIMEOUT_MS, drainServer } from './drain.js';
import { DEFAULT_RECONCILE_INTERVAL_MS, prepareAndReconcile, startReconcile } from '../runtime/docker-reconcile.js';
import { openRoomStateStore } from '../state/sqlite-store.js';
import type { RoomStateStore } from '../state/store.js';
import { restoreRecordedVersions } from '../state/restore-versions.js';


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

/**
 * Opens `--state-dir` (closed when the process exits; a kill -9 loses nothing acknowledged). Off
 * unless given, for `parlor serve` as for `parlor dev`: a state folder belongs to one host (it is
 * locked, and the host restores every room recorded in it), so there is no default path that two
 * hosts on one machine could share by accident. A refused folder is one line naming it.
 */
function openStateDir(dir: string, logger: Logger): RoomStateStore {
  try {
    const store = openRoomStateStore(dir);
    process.once('exit', () => store.close());
    logger.info({ stateDir: resolve(dir) }, 'rooms are kept in the state folder');
    return store;
  } catch (err) {
    fail(`--state-dir: ${describeError(err)}`);
  }
}

/** `serve` flags of the catalog: which environment's manifest to serve, and where artifacts are cached. */
interface CatalogFlags {
  catalogUrl?: string;
  catalogKeyFile?: string;
  env: string;
  manifestRefresh: number;
  artifactCache: string;
  /** Whether `--env` (or `PARLOR_ENV`) was given rather than defaulted (set by the action). */
  envGiven?: boolean;
}

/** The catalog key: the `--catalog-key-file`, else the agent key of the fleet flags, else none. @throws {Error} naming the file flag. */
function catalogKey(opts: CatalogFlags & FleetFlags): string | undefined {
  if (opts.catalogKeyFile === undefined) return fleetKey(opts);
  try {
    return readFleetKeyFile(opts.catalogKeyFile);
  } catch (err) {
    throw new Error((err as Error).message.replace('--fleet-key-file', '--catalog-key-file'));
  }
}

/** The orchestrator's HTTP origin of a `--fleet-url` (`ws://orch:7070/v1/agent` → `http://orch:7070/`), where its catalog answers. */
function catalogOfFleet(fleetUrl: string): string | undefined {
  try {
    const u = new URL(fleetUrl);
    if (u.protocol !== 'ws:' && u.protocol !== 'wss:' && u.protocol !== 'http:' && u.protocol !== 'https:') return undefined;
    return `${u.protocol === 'wss:' || u.protocol === 'https:' ? 'https:' : 'http:'}//${u.host}/`;
  } catch {
    return undefined;
  }
}

/** The default environment: `prod` when NODE_ENV=production, else `dev`. */
function defaultEnv(): string {
  return process.env.NODE_ENV === 'production' ? 'prod' : 'dev';
}

/** What commander hands `serve`. */
type ServeFlags = { games?: string; port: number; host?: string; logLevel: LogLevel; runtime?: string; drainTimeout: number; stateDir?: string; snapshotInterval?: number; reconcileInterval: number; advertiseHost?: string } & FleetFlags & CapacityFlags & SandboxFlags & CatalogFlags & IdentityFlags;

/**
 * SIGHUP: re-reads the `--fleet-key-file` and hands a changed key to the agent (which reconnects
 * with it). Never ends the process; a file that cannot be read keeps the key in use.
 */
function reloadFleetKey(agent: FleetAgent | null, flags: FleetFlags, logger: Logger): void {
  const file = fleetKeyFile(flags);
  if (!agent || file === undefined || flags.fleetKey !== undefined) {
    logger.info({ signal: 'SIGHUP' }, 'SIGHUP: nothing to reload (only a --fleet-key-file is re-read)');
    return;
  }
  try {
    if (!agent.setKey(readFleetKeyFile(file))) logger.info({ signal: 'SIGHUP', file }, 'fleet key file re-read: key unchanged');
  } catch (err) {
    logger.error({ signal: 'SIGHUP', error: (err as Error).message }, 'fleet key reload failed; the key in use is kept');
  }
}

async function serve(opts: ServeFlags): Promise<void> {
  const logger = await cliLogger(opts.logLevel);
  const port = opts.port;
  const capacity = capacityOptions(opts, port);
  const identity = identityFromFlags(opts); // a flag mistake ends here, before anything loads
  // Before the runtime's reconcile: a state folder held by another host is refused before anything is touched.
  const stateStore = opts.stateDir === undefined ? undefined : openStateDir(opts.stateDir, logger);
  const runtime = runtimeFromFlag(opts.runtime, logger, capacity.instanceId, opts);
  if (opts.games === undefined && !opts.catalogUrl && !opts.fleetUrl) fail('give a folder of games (--games <dir>), a catalog (--catalog-url <url> --env <env>) or a fleet (--fleet-url <url>), or several');
  let catalogUrl: string | undefined;
  if (opts.catalogUrl) {
    try {
      catalogUrl = new URL(opts.catalogUrl).href;
      if (!/^https?:$/.test(new URL(catalogUrl).protocol)) throw new Error('not http');
    } catch {
      fail(`--catalog-url ${JSON.stringify(opts.catalogUrl.slice(0, 100))}: want the catalog's http(s) base URL, e.g. http://localhost:7070`);
    }
  }
  // A fleet instance given an environment follows that environment's manifest at its orchestrator (the catalog runs there by default).
  if (!catalogUrl && opts.fleetUrl && opts.envGiven) catalogUrl = catalogOfFleet(opts.fleetUrl);
  if (catalogUrl && !ENV_RE.test(opts.env)) fail(`--env ${JSON.stringify(opts.env.slice(0, 40))}: an environment is a lower-case letter then letters, digits or "-" (e.g. prod)`);
  let key: string | undefined;
  try {
    key = catalogKey(opts);
  } catch (err) {
    fail((err as Error).message);
  }
  if (catalogUrl && !key) fail('--catalog-url needs a key: --catalog-key-file <path>, or the agent key (--fleet-key-file, PARLOR_FLEET_KEY)');
  // The key is read again at each fetch (a rotated key file is picked up); an unreadable file keeps the last key.
  const keyNow = (): string | undefined => {
    try {
      key = catalogKey(opts) ?? key;
    } catch {
      // keep the last key
    }
    return key;
  };
  let games: Record<string, LoadedGame> = {};
  try {
    await prepareAndReconcile(runtime, stateStore, logger); // fail closed: e.g. --runtime docker with Docker unreachable exits here
    if (opts.games !== undefined) {
      games = await loadGamesFromDir(resolve(opts.games), {
        onError: (name, err) => logger.error({ game: name, error: err.message }, 'game not served'),
        ...loadOptionsFor(runtime),
      });
    }
  } catch (err) {
    fail(describeError(err));
  }
  if (opts.games !== undefined && !catalogUrl && Object.keys(games).length === 0) fail(`no games found in ${resolve(opts.games)}`);
  const server = await listen({ ...capacity, games, port, host: opts.host, logger, runtime, ...(identity ? { identity } : {}), ...(stateStore ? { stateStore } : {}), ...(opts.snapshotInterval !== undefined ? { snapshotIntervalMs: opts.snapshotInterval } : {}) });
  // Catalog versions (a manifest's, or the ones the fleet places here) are fetched, verified and cached here.
  let versions: CatalogVersions | undefined;
  if (catalogUrl || opts.fleetUrl) {
    const cache = new ArtifactCache({ dir: resolve(opts.artifactCache), key: keyNow, logger });
    process.once('exit', () => cache.closeSync());
    versions = new CatalogVersions(server, cache, logger);
  }
  let follower: { stop(): void } | null = null;
  if (catalogUrl && versions) {
    const f = followManifest(versions, { catalogUrl, env: opts.env, key: keyNow, intervalMs: opts.manifestRefresh, logger });
    const applied = await f.refresh();
    if (applied) console.log(`  Parlor: ${opts.env} manifest of ${catalogUrl}: ${applied.current.join(', ') || 'no games'}${applied.failed.length ? ` (not loaded: ${applied.failed.map((x) => x.game).join(', ')})` : ''}`);
    else console.log(`  Parlor: the ${opts.env} manifest of ${catalogUrl} could not be fetched yet (see the log); retrying every ${opts.manifestRefresh} ms`);
    follower = f;
  } else if (versions) {
    // Without a manifest, versions the fleet placed here are unloaded once no room runs them.
    const v = versions;
    const timer = setInterval(() => void v.prune().catch(() => undefined), opts.manifestRefresh);
    timer.unref?.();
    follower = { stop: () => clearInterval(timer) };
  }
  // The rooms recorded live in --state-dir come back (same ids, last snapshots; their catalog versions loaded again), then a periodic reconcile keeps what runs and what is recorded in step.
  const catalogBase = catalogUrl ?? (opts.fleetUrl ? catalogOfFleet(opts.fleetUrl) : undefined);
  const restoreRooms = async (): Promise<unknown> => {
    if (stateStore && versions && catalogBase) await restoreRecordedVersions(stateStore, server, versions, { url: catalogBase, key: keyNow }, logger);
    return server.restoreRooms();
  };
  if (stateStore) await restoreRooms();
  const reconcileHost = { rooms: () => server.rooms(), restoreRooms, get draining() { return server.draining; } };
  const reconcile = stateStore || runtime.name === 'docker' ? startReconcile(runtime, { store: stateStore, host: reconcileHost, logger, intervalMs: opts.reconcileInterval }) : null;
  console.log(`\n  Parlor: serving ${server.games().map((g) => (g.version ? `${g.name}@${g.version}` : g.name)).join(', ') || '(no games yet)'}\n  Open ${server.url}/\n`);
  let agent: FleetAgent | null = null;
  if (opts.fleetUrl) {
    // --advertise-host: the address players reach, with the port the kernel gave (--port 0)
    if (opts.endpointUrl === undefined && opts.advertiseHost) opts.endpointUrl = `http://${opts.advertiseHost.includes(':') ? `[${opts.advertiseHost}]` : opts.advertiseHost}:${server.port}`;
    try {
      // The agent declares what this server enforces (GameServer.capacity: --max-connections, --max-rooms or their defaults).
      agent = attachFleet(server, opts, logger, undefined, versions);
    } catch (err) {
      follower?.stop();
      await server.close();
      fail((err as Error).message);
    }
  }
  // SIGTERM/SIGINT drain (the orchestrator sees the instance draining, players finish), SIGHUP re-reads the key file.
  handleSignals(server, logger, undefined, {
    drain: () => {
      follower?.stop();
      reconcile?.stop();
      return drainServer(server, logger, agent, opts.drainTimeout);
    },
    onReload: () => reloadFleetKey(agent, opts, logger),
  });
}

/** The `serve` command. */
export function serveCommand(): Command {
  const cmd = new Command('serve')
    .description('serve every game in a folder (each subfolder with an index file, and each .ts/.js file) and/or the games of a catalog environment')
    .option('-g, --games <dir>', 'folder of games (optional with --catalog-url)')
    .addOption(new Option('--catalog-url <url>', "serve the versions the catalog's manifest of --env pins, e.g. http://localhost:7070 (default with --fleet-url and --env: the orchestrator's)").env('PARLOR_CATALOG_URL'))
    .option('--catalog-key-file <path>', 'file holding the key for --catalog-url (first line not blank or #); default the agent key (--fleet-key-file, PARLOR_FLEET_KEY)')
    .addOption(new Option('--env <env>', 'the catalog environment served (default prod when NODE_ENV=production, else dev)').env('PARLOR_ENV').default(defaultEnv()))
    .addOption(new Option('--manifest-refresh <ms>', 'how often the manifest is fetched again (new rooms run a promoted version; running rooms keep theirs)').default(30_000).argParser(int('milliseconds', 100)))
    .option('--artifact-cache <dir>', 'where verified artifacts are cached', './parlor-data/artifacts')
    .addOption(portOption())
    .addOption(hostOption())
    .addOption(levelOption())
    .addOption(new Option('--runtime <runtime>', 'where rooms run (default inline; auto when NODE_ENV=production)').choices(RUNTIME_CHOICES))
    .option('--fleet-url <ws-url>', 'attach a fleet agent: the orchestrator URL, e.g. ws://localhost:7070')
    .option('--fleet-key <key>', 'agent key for --fleet-url (env PARLOR_FLEET_KEY); visible in ps: prefer --fleet-key-file')
    .option('--fleet-key-file <path>', 'file holding the agent key (first line not blank or #; env PARLOR_FLEET_KEY_FILE); re-read on SIGHUP, the agent then reconnects with the new key')
    .addOption(
      new Option('--drain-timeout <ms>', 'on SIGTERM/SIGINT, how long rooms may keep playing until empty before they are ended (0: end at once; a second signal ends at once)')
        .env('PARLOR_DRAIN_TIMEOUT_MS')
        .default(DEFAULT_DRAIN_TIMEOUT_MS)
        .argParser(int('milliseconds', 0)),
    )
    .option('--name <name>', 'instance name shown by the orchestrator (default <hostname>-<pid>)')
    .option('--label <k=v>', 'instance label for placement selectors (repeatable)', collectLabel)
    .option('--endpoint-url <url>', 'public base URL of this server for join URLs (default: its own URL)')
    .addOption(new Option('--advertise-host <host>', 'without --endpoint-url: the host name or address players reach this server at; join URLs are http://<host>:<the port it listens on> (for --port 0 on a host network, e.g. a Swarm task)').env('PARLOR_ADVERTISE_HOST'))
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
    .option(
      '--state-dir <dir>',
      'keep rooms here (SQLite: rooms, snapshots, members) so they come back after a restart or kill -9, same ids; one host per folder; needs the better-sqlite3 package beside @parlor/server (default: none, rooms live as long as the process)',
    )
    .option('--snapshot-interval <ms>', 'with --state-dir: how often a real-time room whose game has save() is snapshotted (default 30000)', int('milliseconds', 100))
    .addOption(
      new Option('--reconcile-interval <ms>', 'how often rooms recorded in --state-dir and docker room containers are reconciled with what runs (restored, removed, marked ended; logged)')
        .default(DEFAULT_RECONCILE_INTERVAL_MS)
        .argParser(int('milliseconds', 1000)),
    )
    .option('--unsafe-weak-sandbox', 'development only: let --runtime process start where the kernel cannot isolate rooms (bubblewrap, cgroups missing); logged loudly')
    .action((opts: ServeFlags, cmd: Command) => {
      opts.envGiven = cmd.getOptionValueSource('env') !== 'default';
      serve(opts).catch((err: unknown) => fail(describeError(err)));
    });
  for (const o of identityOptionList()) cmd.addOption(o);
  return cmd;
}
