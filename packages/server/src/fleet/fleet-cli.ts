import { readFileSync } from 'node:fs';
import { FleetAgent } from '@parlor/fleet-agent';
import type { CatalogVersions } from '../catalog/versions.js';
import { createFleetHost } from './fleet-host.js';
import type { Logger } from '../logger.js';
import type { GameServer } from '../server.js';

/** `parlor serve` flags that attach a fleet agent. */
export interface FleetFlags {
  /** Orchestrator agent URL, e.g. `ws://localhost:7070` (path `/v1/agent` by default). */
  fleetUrl?: string;
  /** Agent key; default env `PARLOR_FLEET_KEY`. Visible in `ps`: prefer `fleetKeyFile`. */
  fleetKey?: string;
  /** File holding the agent key (its first line that is not blank or a `#` comment); default env `PARLOR_FLEET_KEY_FILE`. Re-read on SIGHUP. */
  fleetKeyFile?: string;
  /** Instance name. */
  name?: string;
  /** `k=v` labels (repeatable). */
  label?: string[];
  /** Public base URL of this server for join URLs; default the server's own URL. */
  endpointUrl?: string;
}

/**
 * Capacity the agent declares to the orchestrator (see `InstanceCapacity` of `@parlor/fleet-agent`;
 * its defaults when absent). `parlor serve` passes its `--max-rooms` / `--max-connections` here
 * (capped at the agent's defaults) so the orchestrator never places more than the server admits.
 */
export interface FleetCapacity {
  maxConnections?: number;
  maxRooms?: number;
}

/** Collects repeatable `--label k=v` flags. */
export function collectLabel(v: string, prev: string[] = []): string[] {
  return [...prev, v];
}

/** The `--fleet-key-file` in force: the flag, else env `PARLOR_FLEET_KEY_FILE`, else none. */
export function fleetKeyFile(flags: FleetFlags): string | undefined {
  return flags.fleetKeyFile ?? (process.env.PARLOR_FLEET_KEY_FILE || undefined);
}

/**
 * The agent key in a key file: its first line that is not blank or a `#` comment, trimmed.
 * @throws {Error} naming `--fleet-key-file` and the path when the file cannot be read or holds no key.
 */
export function readFleetKeyFile(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(`--fleet-key-file ${path}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'not readable (permissions)' : (err as Error).message}`);
  }
  const key = text.split('\n').map((l) => l.trim()).find((l) => l !== '' && !l.startsWith('#'));
  if (!key) throw new Error(`--fleet-key-file ${path}: no key in the file (the first line that is not blank or a # comment is the key)`);
  return key;
}

/**
 * The agent key the flags give: `--fleet-key`, else the `--fleet-key-file` (or `PARLOR_FLEET_KEY_FILE`), else
 * `PARLOR_FLEET_KEY`; `undefined` when none.
 * @throws {Error} naming `--fleet-key-file` when that file cannot be read or holds no key.
 */
export function fleetKey(flags: FleetFlags): string | undefined {
  const file = fleetKeyFile(flags);
  return flags.fleetKey ?? (file !== undefined ? readFleetKeyFile(file) : process.env.PARLOR_FLEET_KEY) ?? undefined;
}

/**
 * Creates a {@link FleetAgent} for `server` from CLI flags and starts connecting (in the
 * background: it reconnects forever and never throws network errors into the server).
 * The key: `--fleet-key`, else the `--fleet-key-file` (or `PARLOR_FLEET_KEY_FILE`), else `PARLOR_FLEET_KEY`.
 * With `versions`, the host runs the catalog versions the orchestrator places on it (see `createFleetHost`).
 * @throws {Error} on a missing or unreadable key, or a malformed label (the CLI reports it and exits).
 */
export function attachFleet(server: GameServer, flags: FleetFlags, logger: Logger, capacity?: FleetCapacity, versions?: CatalogVersions): FleetAgent {
  const key = fleetKey(flags);
  if (!key) throw new Error('--fleet-url needs --fleet-key-file <path> (or PARLOR_FLEET_KEY_FILE), --fleet-key or PARLOR_FLEET_KEY');
  const labels: Record<string, string> = {};
  for (const l of flags.label ?? []) {
    const i = l.indexOf('=');
    if (i <= 0) throw new Error(`invalid --label ${JSON.stringify(l)} (want k=v)`);
    labels[l.slice(0, i)] = l.slice(i + 1);
  }
  const agent = new FleetAgent(createFleetHost(server, { versions }), {
    url: flags.fleetUrl as string,
    key,
    name: flags.name,
    labels,
    endpointUrl: flags.endpointUrl ?? server.url,
    capacity,
    logger: logger.child({ component: 'fleet' }),
  });
  agent.on('connected', ({ instanceId }) => logger.info({ component: 'fleet', fleetUrl: flags.fleetUrl, instance: instanceId }, 'fleet: connected'));
  agent.on('disconnected', ({ code }) => logger.warn({ component: 'fleet', code }, 'fleet: disconnected; reconnecting'));
  agent.connect().catch((err: Error) => logger.error({ component: 'fleet', error: err.message }, 'fleet: cannot connect'));
  // The lobby's "New room (fleet)": placed by the orchestrator over the agent's own room (no admin key here).
  server.setFleetRooms((game) => agent.requestRoom(game, undefined, { timeoutMs: 10_000 }));
  return agent;
}
