import { RuntimeError, ServerConfigError, ServerErrorCode } from '../errors.js';
import type { LoadGameOptions } from '../games/loader.js';
import { createLogger, type Logger } from '../logger.js';
import { spawnSync } from 'node:child_process';
import { buildImageCommand } from '../gate/runtime.js';
import { DEFAULT_DOCKER_IMAGE, DockerRuntime, type DockerRuntimeOptions } from './docker.js';
import { InlineRuntime } from './inline.js';
import { ProcessRuntime, type ProcessRuntimeOptions } from './process.js';
import type { RoomChannel, RoomRuntime, RoomSpec } from './runtime.js';

/** Runtime names, weakest isolation first. */
export const RUNTIME_NAMES = ['inline', 'process', 'docker'] as const;
/** A runtime by name. */
export type RuntimeName = (typeof RUNTIME_NAMES)[number];
/** What a server (or a game) may be configured with: a name, `'auto'`, or a runtime instance. */
export type RuntimeChoice = RuntimeName | 'auto' | RoomRuntime;

/** Options of {@link createRuntime}. */
export interface RuntimePolicyOptions {
  /**
   * Production mode: `inline` is refused (`SERVER_RUNTIME_REFUSED`) and `auto` never picks it.
   * Default: `process.env.NODE_ENV === 'production'`.
   */
  production?: boolean;
  /** Options of the `process` runtime when it is created by name. */
  process?: ProcessRuntimeOptions;
  /** Options of the `docker` runtime when it is created by name. */
  docker?: DockerRuntimeOptions;
  /** Where the choice of `auto` is logged. Default: {@link createLogger} (pino JSON lines on stdout, `info`). */
  logger?: Logger;
}

/** Whether `NODE_ENV=production`. */
export function isProduction(): boolean {
  return process.env.NODE_ENV === 'production';
}

/**
 * Builds the runtime for a choice, failing closed:
 * - `'inline'`: in-process (refused in production);
 * - `'process'`: {@link ProcessRuntime}; throws `SERVER_RUNTIME_UNAVAILABLE` where its OS sandbox cannot be
 *   set up (unless `process.unsafeWeakSandbox`) or Node has no permission model;
 * - `'docker'`: {@link DockerRuntime}; never falls back — if Docker is unreachable or the image is
 *   missing, its `prepare()` (run by the server before loading games) throws `SERVER_RUNTIME_UNAVAILABLE`;
 * - `'auto'`: the strongest available, logged, never a weaker one by accident: `docker` when a
 *   Docker engine answers and the runner image is there; when an engine answers but the image is
 *   missing it throws `SERVER_RUNTIME_UNAVAILABLE` with the command that builds the image (it does not
 *   fall back); with no engine, `process` when its OS sandbox works here (see {@link ProcessRuntime});
 *   else `inline` outside production, and in production it throws;
 * - a {@link RoomRuntime} instance is used as is (one named `'inline'` is refused in production).
 * @throws {RuntimeError} `SERVER_RUNTIME_REFUSED` or `SERVER_RUNTIME_UNAVAILABLE`.
 * @throws {ServerConfigError} for an unknown name.
 */
export function createRuntime(choice: RuntimeChoice, options: RuntimePolicyOptions = {}): RoomRuntime {
  const production = options.production ?? isProduction();
  const logger = options.logger ?? createLogger();
  const processOptions = { logger, ...options.process };
  if (typeof choice === 'object' && choice !== null && typeof choice.start === 'function') {
    if (production && choice.name === 'inline') throw refusedInline();
    return choice;
  }
  switch (choice) {
    case 'inline':
      if (production) throw refusedInline();
      return new InlineRuntime();
    case 'process':
      return new ProcessRuntime(processOptions);
    case 'docker':
      return new DockerRuntime({ logger, ...options.docker });
    case 'auto': {
      const image = options.docker?.image ?? DEFAULT_DOCKER_IMAGE;
      const engine = dockerEngineStatus(image, options.docker?.docker?.socketPath);
      let picked: RoomRuntime;
      let why: string;
      if (engine === 'ready') {
        picked = new DockerRuntime({ logger, ...options.docker });
        why = `Docker engine reachable, image ${image} present`;
      } else if (engine === 'no-image') {
        throw new RuntimeError(
          ServerErrorCode.RUNTIME_UNAVAILABLE,
          'auto',
          `a Docker engine is reachable but the runner image ${image} is missing, and auto does not fall back to a weaker runtime. Build it with: ${buildImageCommand(image)}`,
        );
      } else {
        try {
          picked = new ProcessRuntime(processOptions);
          why = 'no Docker engine; the process sandbox works here';
        } catch (err) {
          const reason = err instanceof Error ? err.message : 'unknown error';
          if (production) {
            throw new RuntimeError(ServerErrorCode.RUNTIME_UNAVAILABLE, 'auto', `no sandboxed runtime is available (no Docker engine; process: ${reason}) and inline is refused in production`);
          }
          picked = new InlineRuntime();
          why = `no Docker engine and no process sandbox (${reason})`;
        }
      }
      logger.info({ runtime: picked.name, docker: engine, production, why }, 'runtime auto-selected');
      return picked;
    }
    default:
      throw new ServerConfigError(`unknown runtime ${JSON.stringify(choice)} (use inline, process, docker, auto or a RoomRuntime)`);
  }
}

function refusedInline(): RuntimeError {
  return new RuntimeError(
    ServerErrorCode.RUNTIME_REFUSED,
    'inline',
    'the inline runtime runs game code with the host\'s privileges and is refused when NODE_ENV=production (use process, docker or auto)',
  );
}

/**
 * A runtime that routes each room to the runtime of its game (per-game overrides), falling back
 * to the server's default runtime. Its `name` lists the runtimes, e.g. `'process+inline'`.
 */
export class RoutingRuntime implements RoomRuntime {
  readonly name: string;
  constructor(
    private readonly fallback: RoomRuntime,
    private readonly byGame: ReadonlyMap<string, RoomRuntime>,
  ) {
    this.name = [...new Set([fallback.name, ...[...byGame.values()].map((r) => r.name)])].join('+');
  }

  /** The runtime of a game. */
  runtimeOf(game: string): RoomRuntime {
    return this.byGame.get(game) ?? this.fallback;
  }

  start(spec: RoomSpec): RoomChannel {
    return this.runtimeOf(spec.game).start(spec);
  }

  async prepare(): Promise<void> {
    const all = new Set([this.fallback, ...this.byGame.values()]);
    for (const r of all) await r.prepare?.();
  }

  async close(): Promise<void> {
    const all = new Set([this.fallback, ...this.byGame.values()]);
    await Promise.all([...all].map((r) => r.close?.()));
  }
}

/** Loader options for a game served by `runtime`: sandboxed runtimes evaluate the game themselves. */
export function loadOptionsFor(runtime: RoomRuntime): LoadGameOptions {
  return runtime.inspect ? { inspect: (bundle, baseDir) => runtime.inspect!(bundle, baseDir) } : {};
}

/**
 * Whether a Docker engine answers on `socketPath` (`/_ping`) and has `image`: `'ready'`,
 * `'no-image'` (engine up, image missing) or `'unreachable'`. Synchronous (a short-lived child
 * process, at most ~5 s).
 */
export function dockerEngineStatus(image = DEFAULT_DOCKER_IMAGE, socketPath = '/var/run/docker.sock'): 'ready' | 'no-image' | 'unreachable' {
  const get = `(p,cb)=>{const r=require('http').request({socketPath:${JSON.stringify(socketPath)},path:p},(res)=>{res.resume();cb(res.statusCode)});r.on('error',()=>process.exit(3));r.setTimeout(3000,()=>process.exit(3));r.end()}`;
  const script = `const get=${get};get('/_ping',(s)=>{if(s!==200)process.exit(3);get('/images/'+encodeURIComponent(${JSON.stringify(image)})+'/json',(s2)=>process.exit(s2===200?0:2))})`;
  const r = spawnSync(process.execPath, ['-e', script], { timeout: 5000, env: {} });
  return r.status === 0 ? 'ready' : r.status === 2 ? 'no-image' : 'unreachable';
}
