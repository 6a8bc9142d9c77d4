import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import type { ResolvedGameMetadata } from '@parlor/squish';
import Docker from 'dockerode';
import { RuntimeError, ServerErrorCode } from '../errors.js';
import { createConsoleLogger, kv, type Logger } from '../logger.js';
import { DEFAULT_MAX_CHANNEL_MESSAGE_BYTES } from './channel.js';
import { DEFAULT_PROCESS_HEAP_MB, DEFAULT_TICK_TIMEOUT_MS, processRunnerPath } from './process.js';
import { inspectInSandbox, superviseSandbox, type ProcessRuntimeSession, type SandboxChild } from './sandbox/supervisor.js';
import type { SessionRuntime, SessionSpec } from './runtime.js';

/** Default runner image (built locally by `docker/build-runner-image.sh`). */
export const DEFAULT_DOCKER_IMAGE = 'parlor-runner:local';

/** Options of {@link DockerRuntime}. Sizes in bytes, durations in ms. */
export interface DockerRuntimeOptions {
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
  /** Time from `start()` to the game ticking (container create + start included). Default 15 000. */
  startTimeoutMs?: number;
  /** Largest message from a container. Default 8 MiB. */
  maxMessageBytes?: number;
  /** Value of the `parlor.host` label: identifies this host's containers across restarts. Default: the hostname. */
  hostId?: string;
  /** Where container output and lifecycle lines go. Default: a console logger. */
  logger?: Logger;
  /**
   * Refuse an image whose `parlor.runner.sha256` label is not the SHA-256 of this host's runner
   * (a stale image after an upgrade would otherwise start sessions that never answer). Default true.
   */
  verifyRunner?: boolean;
}

/** Image label holding the SHA-256 (hex) of the runner script the image was built with. */
export const RUNNER_SHA256_LABEL = 'parlor.runner.sha256';

/** Labels every session container carries. */
export const DOCKER_LABELS = { session: 'parlor.session', host: 'parlor.host', game: 'parlor.game' } as const;

/**
 * The `docker` runtime: one container per session (dockerode), hardened: `NetworkMode: 'none'`,
 * read-only root file system, the game folder bind-mounted read-only at `/game`, `CapDrop: ALL`,
 * `no-new-privileges`, pids/memory/CPU limits, a size-capped `noexec` tmpfs at `/tmp`, a non-root
 * user, `AutoRemove`; labels `parlor.session`, `parlor.host`, `parlor.game`. Inside, the same
 * runner as the `process` runtime runs under Node's permission model; the channel is the
 * container's attached stdin/stdout (length-prefixed msgpack), its stderr goes to the host log.
 *
 * Fail closed: it never falls back. If Docker is unreachable or the image is missing, sessions and
 * game loads fail with a clear error. Create it with {@link DockerRuntime.connect} to check the
 * endpoint and image up front and to run the reconcile pass.
 */
export class DockerRuntime implements SessionRuntime {
  readonly name = 'docker';
  /** The dockerode client. */
  readonly docker: Docker;
  readonly image: string;
  readonly hostId: string;
  private readonly opts: Required<Omit<DockerRuntimeOptions, 'docker' | 'logger' | 'hostId' | 'image' | 'verifyRunner'>>;
  private readonly verifyRunner: boolean;
  private readonly logger: Logger;
  private readonly live = new Map<string, ContainerChild>();

  constructor(options: DockerRuntimeOptions = {}) {
    this.docker = new Docker(options.docker);
    this.image = options.image ?? DEFAULT_DOCKER_IMAGE;
    this.hostId = options.hostId ?? hostname();
    this.logger = options.logger ?? createConsoleLogger('info');
    this.verifyRunner = options.verifyRunner ?? true;
    this.opts = {
      memoryBytes: options.memoryBytes ?? 128 * 1024 * 1024,
      nanoCpus: options.nanoCpus ?? 1e9,
      pidsLimit: options.pidsLimit ?? 64,
      tmpfsBytes: options.tmpfsBytes ?? 16 * 1024 * 1024,
      user: options.user ?? '65534:65534',
      maxOldSpaceSizeMb: options.maxOldSpaceSizeMb ?? DEFAULT_PROCESS_HEAP_MB,
      tickTimeoutMs: options.tickTimeoutMs ?? DEFAULT_TICK_TIMEOUT_MS,
      startTimeoutMs: options.startTimeoutMs ?? 15_000,
      maxMessageBytes: options.maxMessageBytes ?? DEFAULT_MAX_CHANNEL_MESSAGE_BYTES,
    };
  }

  /**
   * Connects: pings the Docker endpoint, checks that the image exists, then runs {@link reconcile}.
   * @throws {RuntimeError} `RUNTIME_UNAVAILABLE` when Docker is unreachable or the image is missing.
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
   * @throws {RuntimeError} `RUNTIME_UNAVAILABLE`.
   */
  async check(): Promise<void> {
    try {
      await this.docker.ping();
    } catch (err) {
      throw new RuntimeError(ServerErrorCode.RUNTIME_UNAVAILABLE, 'docker', `Docker is unreachable (${(err as Error).message}); refusing to run sessions in a weaker runtime`, { cause: err });
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

  /**
   * Removes the containers labelled with this host's `parlor.host` that this runtime does not know
   * (left over by a previous run of the host). Returns the ids removed.
   */
  async reconcile(): Promise<string[]> {
    const list = await this.docker.listContainers({ all: true, filters: { label: [`${DOCKER_LABELS.host}=${this.hostId}`] } });
    const known = new Set([...this.live.values()].map((c) => c.containerId).filter(Boolean));
    const removed: string[] = [];
    for (const c of list) {
      if (known.has(c.Id)) continue;
      try {
        await this.docker.getContainer(c.Id).remove({ force: true });
        removed.push(c.Id);
        this.logger.info(`removed stale session container: ${kv({ container: c.Id.slice(0, 12), session: c.Labels?.[DOCKER_LABELS.session], game: c.Labels?.[DOCKER_LABELS.game] })}`);
      } catch {
        // already gone (AutoRemove)
      }
    }
    return removed;
  }

  /** Starts a session container. The container is created asynchronously; failures end the session with a fatal error. */
  start(spec: SessionSpec): ProcessRuntimeSession {
    const bundle = spec.bundle;
    if (!bundle) {
      throw new RuntimeError(ServerErrorCode.RUNTIME_START_FAILED, 'docker', `game ${spec.game} was given as an in-process class; the docker runtime needs a game file or folder`);
    }
    const child = this.container(spec.sessionId, spec.game, spec.baseDir ?? resolve(bundle.filename, '..'), spec.logger ?? this.logger);
    return superviseSandbox(child, spec, bundle, {
      logger: this.logger,
      maxMessageBytes: this.opts.maxMessageBytes,
      startTimeoutMs: this.opts.startTimeoutMs,
      tickTimeoutMs: this.opts.tickTimeoutMs,
      heapMb: this.opts.maxOldSpaceSizeMb,
    });
  }

  /** Evaluates a game bundle in a container and returns its metadata (see `SessionRuntime.inspect`). */
  inspect(bundle: { code: string; filename: string }, baseDir?: string): Promise<{ metadata: ResolvedGameMetadata; className: string }> {
    const child = this.container(`inspect-${process.pid}-${Date.now().toString(36)}`, 'inspect', baseDir ?? resolve(bundle.filename, '..'), this.logger);
    return inspectInSandbox(child, bundle, { startTimeoutMs: this.opts.startTimeoutMs, maxMessageBytes: this.opts.maxMessageBytes, runtime: 'docker' });
  }

  /** The create options of a session container (for tests and audits). */
  containerOptions(sessionId: string, game: string, gameDir: string): Docker.ContainerCreateOptions {
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
      Labels: { [DOCKER_LABELS.session]: sessionId, [DOCKER_LABELS.host]: this.hostId, [DOCKER_LABELS.game]: game },
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
        AutoRemove: true,
        IpcMode: 'none',
      },
    };
  }

  /** Kills every session container of this runtime. */
  async close(): Promise<void> {
    const all = [...this.live.values()];
    for (const c of all) c.kill();
    await Promise.all(all.map((c) => c.closed));
  }

  private container(sessionId: string, game: string, gameDir: string, log: Logger): ContainerChild {
    const key = `${sessionId}#${Math.random().toString(36).slice(2)}`;
    const child = new ContainerChild(this.docker, this.containerOptions(sessionId, game, gameDir), log);
    this.live.set(key, child);
    void child.closed.then(() => this.live.delete(key));
    return child;
  }
}

/** A session container seen as a {@link SandboxChild}: created, attached and started asynchronously. */
class ContainerChild extends EventEmitter implements SandboxChild {
  readonly stdin = new PassThrough();
  readonly stdout = new PassThrough();
  readonly stderr = new PassThrough();
  readonly pid = undefined;
  containerId = '';
  readonly closed: Promise<void>;
  private container: Docker.Container | null = null;
  private killed = false;
  private finished = false;

  constructor(
    private readonly docker: Docker,
    private readonly options: Docker.ContainerCreateOptions,
    private readonly log: Logger,
  ) {
    super();
    this.closed = new Promise((r) => this.once('close', () => r()));
    void this.run();
  }

  private async run(): Promise<void> {
    try {
      const c = await this.docker.createContainer(this.options);
      this.container = c;
      this.containerId = c.id;
      if (this.killed) {
        await c.remove({ force: true }).catch(() => {});
        this.finish(null, 'SIGKILL');
        return;
      }
      const stream = await c.attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true });
      this.docker.modem.demuxStream(stream, this.stdout, this.stderr);
      this.stdin.pipe(stream);
      const waiting = c.wait({ condition: 'next-exit' });
      await c.start();
      const res = (await waiting) as { StatusCode?: number };
      this.finish(res?.StatusCode ?? null, this.killed ? 'SIGKILL' : null);
    } catch (err) {
      if (!this.killed) this.log.error(`session container failed: ${(err as Error).message}`);
      this.stderr.write(`container error: ${(err as Error).message}\n`);
      this.finish(null, this.killed ? 'SIGKILL' : null);
    }
  }

  kill(): void {
    if (this.killed) return;
    this.killed = true;
    this.container?.remove({ force: true }).catch(() => {});
  }

  private finish(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.finished) return;
    this.finished = true;
    // Let demuxed output drain before reporting the end.
    setTimeout(() => {
      this.stdout.end();
      this.stderr.end();
      this.emit('close', code, signal);
    }, 20);
  }
}

/** Whether a Docker engine answers at the default endpoint and has `image` (sync probe, for `auto`). */
export function dockerAvailable(image = DEFAULT_DOCKER_IMAGE, socketPath = '/var/run/docker.sock'): boolean {
  const script = `const http=require('http');const r=http.request({socketPath:${JSON.stringify(socketPath)},path:'/images/'+encodeURIComponent(${JSON.stringify(image)})+'/json'},(res)=>process.exit(res.statusCode===200?0:2));r.on('error',()=>process.exit(3));r.setTimeout(3000,()=>process.exit(4));r.end();`;
  const r = spawnSync(process.execPath, ['-e', script], { timeout: 5000, env: {} });
  return r.status === 0;
}
