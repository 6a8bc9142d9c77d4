/**
 * The `docker` runtime: its options, the room containers it runs (their create options, labels,
 * runner image check, instance lock) and the Docker probe. One container's lifecycle is `docker-child.ts`'s.
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server as NetServer } from 'node:net';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import type { ResolvedGameMetadata } from '@parlor/squish';
import Docker from 'dockerode';
import { RuntimeError, ServerErrorCode } from '../errors.js';
import { createLogger, type Logger } from '../logger.js';
import { DEFAULT_MAX_CHANNEL_MESSAGE_BYTES } from './channel.js';
import { ContainerChild } from './docker-child.js';
import { DEFAULT_PROCESS_HEAP_MB, DEFAULT_TICK_TIMEOUT_MS } from './process.js';
import { inspectInSandbox } from './sandbox/inspect.js';
import { processRunnerPath } from './sandbox/runner-file.js';
import { DEFAULT_TURN_TIMEOUT_MS, pickSandboxLimits, superviseSandbox, type SandboxRoomChannel, type SandboxLimits } from './sandbox/supervisor.js';
import type { RoomRuntime, RoomSpec } from './runtime.js';

/** Default runner image (built locally by `docker/build-runner-image.sh`). */
export const DEFAULT_DOCKER_IMAGE = 'parlor-runner:local';

/**
 * The instance id a game server uses by default (see `GameServerOptions.instanceId`):
 * `<hostname>:<port>` for a fixed port (stable across restarts), else `<hostname>:<pid>-<random>`.
 */
export function defaultInstanceId(port?: number): string {
  return port !== undefined && Number.isInteger(port) && port > 0 ? `${hostname()}:${port}` : `${hostname()}:${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** Options of {@link DockerRuntime}. Sizes in bytes, durations in ms. */
export interface DockerRuntimeOptions extends SandboxLimits {
  /** Runner image (see `docker/Dockerfile` and `docker/build-runner-image.sh`). Default `parlor-runner:local`. */
  image?: string;
  /** Docker endpoint (dockerode options: `socketPath`, or `host`/`port`/`protocol`). Default: `/var/run/docker.sock` or `DOCKER_HOST`. */
  docker?: Docker.DockerOptions;
  /** Container memory limit. Default 128 MiB. */
  memoryBytes?: number;
  /** CPU limit in units of 1e-9 CPUs. Default 1e9 (one CPU). */
  nanoCpus?: number;
  /** Most processes/threads in a container. Default 64. */
  pidsLimit?: number;
  /** Size of the `noexec` tmpfs at `/tmp`. Default 16 MiB. */
  tmpfsBytes?: number;
  /** User the runner runs as (uid:gid). Default `65534:65534` (nobody). */
  user?: string;
  /** V8 heap cap inside the container (`--max-old-space-size`), MiB. Default 64. */
  maxOldSpaceSizeMb?: number;
  /** CPU watchdog (see `ProcessRuntimeOptions.tickTimeoutMs`). Default 1000. */
  tickTimeoutMs?: number;
  /** A turn's allowance (see `ProcessRuntimeOptions.turnTimeoutMs`). Default 10 000. */
  turnTimeoutMs?: number;
  /** Time from `start()` to the game ticking (container create + start included). Default 15 000. */
  startTimeoutMs?: number;
  /** Largest message from a container. Default 8 MiB. */
  maxMessageBytes?: number;
  /**
   * This runtime's instance id, the value of the `parlor.instance` label of its containers:
   * {@link DockerRuntime.reconcile} removes only containers carrying it, so several servers can
   * share one Docker engine without touching each other's rooms. Give a stable id (the game server
   * passes `GameServerOptions.instanceId`, default `<hostname>:<port>`) for a restarted server to
   * remove what its previous run left behind. One runtime on a machine may reconcile under an id
   * at a time (held from the first reconcile until {@link DockerRuntime.close}); a second one gets
   * `SERVER_RUNTIME_UNAVAILABLE`. Default: a random id per runtime (`<hostname>:<pid>-<random>`).
   */
  instanceId?: string;
  /** @deprecated Former name of {@link instanceId} (used when `instanceId` is not given). */
  hostId?: string;
  /** Where container output and lifecycle lines go. Default: {@link createLogger} (pino JSON lines on stdout, `info`). */
  logger?: Logger;
  /**
   * Refuse an image whose `parlor.runner.sha256` label is not the SHA-256 of this host's runner
   * (a stale image after an upgrade would otherwise start rooms that never answer). Default true.
   */
  verifyRunner?: boolean;
}

/** Image label holding the SHA-256 (hex) of the runner script the image was built with. */
export const RUNNER_SHA256_LABEL = 'parlor.runner.sha256';

/**
 * Labels every room container carries: `parlor.room` (room id), `parlor.instance` (the
 * runtime's instance id, the only label reconcile selects on), `parlor.host` (the machine's
 * hostname, informational) and `parlor.game` (game name).
 */
export const DOCKER_LABELS = { room: 'parlor.room', instance: 'parlor.instance', host: 'parlor.host', game: 'parlor.game' } as const;

/**
 * The `docker` runtime: one container per room (dockerode), hardened: `NetworkMode: 'none'`,
 * read-only root file system, the game folder bind-mounted read-only at `/game`, `CapDrop: ALL`,
 * `no-new-privileges`, pids/memory/CPU limits, a size-capped `noexec` tmpfs at `/tmp`, a non-root
 * user; labels {@link DOCKER_LABELS}. A container is removed by the runtime once it exited and was
 * inspected (a kernel out-of-memory kill reaches players as "the game exceeded its memory limit");
 * the room's CPU time is read from the container's cgroup (`cpuacct`, or `cpu.stat` on cgroup v2).
 * Inside, the same
 * runner as the `process` runtime runs under Node's permission model; the channel is the
 * container's attached stdin/stdout (length-prefixed msgpack), its stderr goes to the host log.
 *
 * Fail closed: it never falls back. If Docker is unreachable or the image is missing, rooms and
 * game loads fail with a clear error. Create it with {@link DockerRuntime.connect} to check the
 * endpoint and image up front and to run the reconcile pass.
 */
export class DockerRuntime implements RoomRuntime {
  readonly name = 'docker';
  /** The dockerode client. */
  readonly docker: Docker;
  readonly image: string;
  /** The instance id (see {@link DockerRuntimeOptions.instanceId}). */
  readonly instanceId: string;
  private readonly opts: Required<Omit<DockerRuntimeOptions, 'docker' | 'logger' | 'hostId' | 'instanceId' | 'image' | 'verifyRunner' | keyof SandboxLimits>>;
  private readonly limits: SandboxLimits;
  private readonly verifyRunner: boolean;
  private readonly logger: Logger;
  private readonly live = new Map<string, ContainerChild>();
  private instanceLock: NetServer | null = null;

  constructor(options: DockerRuntimeOptions = {}) {
    this.docker = new Docker(options.docker);
    this.image = options.image ?? DEFAULT_DOCKER_IMAGE;
    const id = options.instanceId ?? options.hostId;
    if (id !== undefined && !(typeof id === 'string' && id.length > 0 && id.length <= 128)) {
      throw new RuntimeError(ServerErrorCode.RUNTIME_UNAVAILABLE, 'docker', 'instanceId must be a string of 1–128 characters');
    }
    this.instanceId = id ?? defaultInstanceId();
    this.logger = options.logger ?? createLogger();
    this.verifyRunner = options.verifyRunner ?? true;
    this.limits = pickSandboxLimits(options);
    this.opts = {
      memoryBytes: options.memoryBytes ?? 128 * 1024 * 1024,
      nanoCpus: options.nanoCpus ?? 1e9,
      pidsLimit: options.pidsLimit ?? 64,
      tmpfsBytes: options.tmpfsBytes ?? 16 * 1024 * 1024,
      user: options.user ?? '65534:65534',
      maxOldSpaceSizeMb: options.maxOldSpaceSizeMb ?? DEFAULT_PROCESS_HEAP_MB,
      tickTimeoutMs: options.tickTimeoutMs ?? DEFAULT_TICK_TIMEOUT_MS,
      turnTimeoutMs: options.turnTimeoutMs ?? DEFAULT_TURN_TIMEOUT_MS,
      startTimeoutMs: options.startTimeoutMs ?? 15_000,
      maxMessageBytes: options.maxMessageBytes ?? DEFAULT_MAX_CHANNEL_MESSAGE_BYTES,
    };
  }

  /**
   * Connects: pings the Docker endpoint, checks that the image exists, then runs {@link reconcile}.
   * @throws {RuntimeError} `SERVER_RUNTIME_UNAVAILABLE` when Docker is unreachable or the image is missing.
   */
  static async connect(options: DockerRuntimeOptions = {}): Promise<DockerRuntime> {
    const rt = new DockerRuntime(options);
    await rt.check();
    await rt.reconcile();
    return rt;
  }

  /** {@link check}, then {@link reconcile} (called by the server before it loads games). */
  async prepare(): Promise<void> {
    await this.check();
    await this.reconcile();
  }

  /**
   * Checks the endpoint, that the image exists, and that it carries this host's runner (see
   * {@link DockerRuntimeOptions.verifyRunner}).
   * @throws {RuntimeError} `SERVER_RUNTIME_UNAVAILABLE`.
   */
  async check(): Promise<void> {
    try {
      await this.docker.ping();
    } catch (err) {
      throw new RuntimeError(ServerErrorCode.RUNTIME_UNAVAILABLE, 'docker', `Docker is unreachable (${(err as Error).message}); refusing to run rooms in a weaker runtime`, { cause: err });
    }
    let labels: Record<string, string> = {};
    try {
      const info = await this.docker.getImage(this.image).inspect();
      labels = info.Config?.Labels ?? {};
    } catch (err) {
      throw new RuntimeError(
        ServerErrorCode.RUNTIME_UNAVAILABLE,
        'docker',
        `runner image ${this.image} not found (build it with packages/server/docker/build-runner-image.sh or docker/Dockerfile)`,
        { cause: err },
      );
    }
    if (this.verifyRunner) {
      const want = createHash('sha256').update(readFileSync(processRunnerPath())).digest('hex');
      const have = labels[RUNNER_SHA256_LABEL];
      if (have !== want) {
        throw new RuntimeError(
          ServerErrorCode.RUNTIME_UNAVAILABLE,
          'docker',
          `runner image ${this.image} was built from ${have ? `another runner (${have.slice(0, 12)})` : 'an unlabelled runner'}, not this host's (${want.slice(0, 12)}): ` +
            `rebuild it with \`bash packages/server/docker/build-runner-image.sh ${this.image}\` after \`npm run build\``,
        );
      }
    }
  }

  /** @deprecated The instance id ({@link instanceId}); kept for callers of the former `hostId`. */
  get hostId(): string {
    return this.instanceId;
  }

  /**
   * Removes the containers labelled with this runtime's `parlor.instance` id that it does not
   * know (left over by a previous run under the same id); never touches another instance's.
   * Returns the ids removed.
   * @throws {RuntimeError} `SERVER_RUNTIME_UNAVAILABLE` when another runtime on this machine holds the same instance id.
   */
  async reconcile(): Promise<string[]> {
    await this.holdInstanceId();
    const list = await this.docker.listContainers({ all: true, filters: { label: [`${DOCKER_LABELS.instance}=${this.instanceId}`] } });
    const known = new Set([...this.live.values()].map((c) => c.containerId).filter(Boolean));
    const removed: string[] = [];
    for (const c of list) {
      if (known.has(c.Id)) continue;
      try {
        await this.docker.getContainer(c.Id).remove({ force: true });
        removed.push(c.Id);
        this.logger.info({ container: c.Id.slice(0, 12), instance: this.instanceId, room: c.Labels?.[DOCKER_LABELS.room], game: c.Labels?.[DOCKER_LABELS.game] }, 'removed stale room container');
      } catch {
        // already gone (AutoRemove)
      }
    }
    return removed;
  }

  /**
   * Makes the instance id exclusive on this machine (network namespace) for this runtime's life:
   * binds an abstract unix socket named after it (released by the kernel when the process dies).
   * So a second server started with the same id (e.g. on a port already taken) refuses instead of
   * removing the first one's containers. No-op off Linux.
   */
  private async holdInstanceId(): Promise<void> {
    if (this.instanceLock || process.platform !== 'linux') return;
    const name = `\0parlor-docker-instance-${createHash('sha256').update(this.instanceId).digest('hex').slice(0, 40)}`;
    const lock = createServer();
    await new Promise<void>((resolveLock, reject) => {
      lock.once('error', (err: Error & { code?: string }) => {
        reject(
          err.code === 'EADDRINUSE'
            ? new RuntimeError(
                ServerErrorCode.RUNTIME_UNAVAILABLE,
                'docker',
                `docker instance id ${JSON.stringify(this.instanceId)} is held by another Parlor server on this machine: give each server its own instance id (--instance-id)`,
              )
            : err,
        );
      });
      lock.listen(name, () => resolveLock());
    });
    lock.unref();
    this.instanceLock = lock;
  }

  /** Starts a room container. The container is created asynchronously; failures end the room with a fatal error. */
  start(spec: RoomSpec): SandboxRoomChannel {
    const bundle = spec.bundle;
    if (!bundle) {
      throw new RuntimeError(ServerErrorCode.RUNTIME_START_FAILED, 'docker', `game ${spec.game} was given as an in-process class; the docker runtime needs a game file or folder`);
    }
    const child = this.container(spec.roomId, spec.game, spec.baseDir ?? resolve(bundle.filename, '..'), spec.logger ?? this.logger.child({ game: spec.game, room: spec.roomId }));
    return superviseSandbox(child, spec, bundle, {
      ...this.limits,
      logger: this.logger,
      maxMessageBytes: this.opts.maxMessageBytes,
      startTimeoutMs: this.opts.startTimeoutMs,
      tickTimeoutMs: this.opts.tickTimeoutMs,
      turnTimeoutMs: this.opts.turnTimeoutMs,
      heapMb: this.opts.maxOldSpaceSizeMb,
    });
  }

  /** Evaluates a game bundle in a container and returns its metadata (see `RoomRuntime.inspect`). */
  inspect(bundle: { code: string; filename: string }, baseDir?: string): Promise<{ metadata: ResolvedGameMetadata; className: string }> {
    const child = this.container(`inspect-${process.pid}-${Date.now().toString(36)}`, 'inspect', baseDir ?? resolve(bundle.filename, '..'), this.logger);
    return inspectInSandbox(child, bundle, { startTimeoutMs: this.opts.startTimeoutMs, maxMessageBytes: this.opts.maxMessageBytes, runtime: 'docker' });
  }

  /** The create options of a room container (for tests and audits). */
  containerOptions(roomId: string, game: string, gameDir: string): Docker.ContainerCreateOptions {
    return {
      Image: this.image,
      Cmd: [`--max-old-space-size=${this.opts.maxOldSpaceSizeMb}`, '/opt/parlor/process-runner.mjs'],
      User: this.opts.user,
      Env: [],
      AttachStdin: true,
      AttachStdout: true,
      AttachStderr: true,
      OpenStdin: true,
      StdinOnce: true,
      Tty: false,
      NetworkDisabled: true,
      Labels: { [DOCKER_LABELS.room]: roomId, [DOCKER_LABELS.instance]: this.instanceId, [DOCKER_LABELS.host]: hostname(), [DOCKER_LABELS.game]: game },
      HostConfig: {
        NetworkMode: 'none',
        ReadonlyRootfs: true,
        Binds: [`${resolve(gameDir)}:/game:ro`],
        CapDrop: ['ALL'],
        SecurityOpt: ['no-new-privileges'],
        PidsLimit: this.opts.pidsLimit,
        Memory: this.opts.memoryBytes,
        MemorySwap: this.opts.memoryBytes,
        NanoCpus: this.opts.nanoCpus,
        Tmpfs: { '/tmp': `rw,noexec,nosuid,nodev,size=${this.opts.tmpfsBytes}` },
        // Removed by the runtime after the exit was inspected (OOMKilled), not by the engine.
        AutoRemove: false,
        IpcMode: 'none',
      },
    };
  }

  /** Kills (and removes) every room container of this runtime and releases its instance id. */
  async close(): Promise<void> {
    const all = [...this.live.values()];
    for (const c of all) c.kill();
    await Promise.all(all.map((c) => c.closed));
    const lock = this.instanceLock;
    this.instanceLock = null;
    if (lock) await new Promise<void>((r) => lock.close(() => r()));
  }

  private container(roomId: string, game: string, gameDir: string, log: Logger): ContainerChild {
    const key = `${roomId}#${Math.random().toString(36).slice(2)}`;
    const child = new ContainerChild(this.docker, this.containerOptions(roomId, game, gameDir), log, this.opts.memoryBytes);
    this.live.set(key, child);
    void child.closed.then(() => this.live.delete(key));
    return child;
  }
}

/** Whether a Docker engine answers at the default endpoint and has `image` (sync probe, for `auto`). */
export function dockerAvailable(image = DEFAULT_DOCKER_IMAGE, socketPath = '/var/run/docker.sock'): boolean {
  const script = `const http=require('http');const r=http.request({socketPath:${JSON.stringify(socketPath)},path:'/images/'+encodeURIComponent(${JSON.stringify(image)})+'/json'},(res)=>process.exit(res.statusCode===200?0:2));r.on('error',()=>process.exit(3));r.setTimeout(3000,()=>process.exit(4));r.end();`;
  const r = spawnSync(process.execPath, ['-e', script], { timeout: 5000, env: {} });
  return r.status === 0;
}
