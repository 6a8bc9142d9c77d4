import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../logger.js';
import { DEFAULT_DOCKER_IMAGE, DockerRuntime, type DockerRuntimeOptions } from '../runtime/docker.js';
import { ProcessRuntime, type ProcessRuntimeOptions } from '../runtime/process.js';
import { processRunnerPath } from '../runtime/sandbox/runner-file.js';
import type { RoomRuntime } from '../runtime/runtime.js';
import { errorText } from './describe.js';

/** Runtimes the gate runs games in. There is no `inline`: the gate never runs a game in its own process. */
export type GateRuntimeChoice = 'docker' | 'process' | 'auto';

/** Which runtime the gate used and why (part of the {@link GateReport}). */
export interface GateRuntimeInfo {
  /** `'docker'` or `'process'`. */
  name: 'docker' | 'process';
  /** Why this runtime, e.g. `'auto: Docker engine reachable, image parlor-runner:local present'`. */
  reason: string;
  /** `true` when the process runtime ran without kernel isolation because `unsafeWeakSandbox` allowed it. */
  unsafe: boolean;
}

/** What {@link selectGateRuntime} needs. */
export interface GateRuntimeOptions {
  runtime: GateRuntimeChoice;
  docker?: DockerRuntimeOptions;
  process?: ProcessRuntimeOptions;
  unsafeWeakSandbox: boolean;
  startTimeoutMs: number;
  logger: Logger;
}

/** A usable runtime, or why there is none (a gate FAIL). */
export type GateRuntimeSelection = { ok: true; runtime: RoomRuntime; info: GateRuntimeInfo } | { ok: false; problem: string };

const DOCKER_PROBE_MS = 5000;

/**
 * Picks the runtime of the gate, never weaker than a server's and never silently weaker than asked:
 * - `'docker'`: the Docker engine must answer, the runner image must exist and carry this host's
 *   runner; otherwise no runtime (the problem says how to fix it);
 * - `'process'`: the hardened process runtime; where the kernel cannot isolate it
 *   (`SERVER_RUNTIME_UNAVAILABLE`) there is no runtime unless `unsafeWeakSandbox`;
 * - `'auto'`: `docker` when a Docker engine answers (a missing image is a problem naming the
 *   command that builds it, never a reason to fall back), else `process` as above.
 * Never throws.
 */
export async function selectGateRuntime(opts: GateRuntimeOptions): Promise<GateRuntimeSelection> {
  const choice = opts.runtime as string;
  if (choice !== 'docker' && choice !== 'process' && choice !== 'auto') {
    return {
      ok: false,
      problem: `runtime ${JSON.stringify(choice).slice(0, 40)} is not a gate runtime (use docker, process or auto): the gate never runs a game in its own process`,
    };
  }
  if (choice === 'process') return processRuntime(opts, 'requested');

  // Its own instance id: the reconcile of prepare() then touches no server's containers.
  const docker = new DockerRuntime({
    logger: opts.logger,
    startTimeoutMs: Math.max(opts.startTimeoutMs, 15_000),
    ...opts.docker,
    instanceId: opts.docker?.instanceId ?? opts.docker?.hostId ?? `parlor-gate-${process.pid}-${randomBytes(4).toString('hex')}`,
  });
  const image = docker.image;
  const reachable = await withTimeout(docker.docker.ping().then(() => true), DOCKER_PROBE_MS, false).catch(() => false);
  if (!reachable) {
    if (choice === 'docker') return { ok: false, problem: `runtime docker: no Docker engine answers (${dockerEndpoint(opts.docker)}); the gate does not fall back to a weaker runtime` };
    return processRuntime(opts, `auto: no Docker engine answers (${dockerEndpoint(opts.docker)})`);
  }
  const hasImage = await withTimeout(
    docker.docker
      .getImage(image)
      .inspect()
      .then(() => true),
    DOCKER_PROBE_MS,
    false,
  ).catch(() => false);
  if (!hasImage) {
    return {
      ok: false,
      problem:
        `runtime ${choice}: a Docker engine is reachable but the runner image ${image} is missing, and the gate does not fall back to a weaker runtime. ` +
        `Build it with: ${buildImageCommand(image)}`,
    };
  }
  try {
    const prepared = await withTimeout(docker.prepare().then(() => true), DOCKER_PROBE_MS * 2, false);
    if (!prepared) return { ok: false, problem: `runtime ${choice}: the Docker engine did not answer within ${DOCKER_PROBE_MS * 2} ms` };
  } catch (err) {
    const why = errorText(err, 1000);
    // e.g. an image built from another runner: say how to build the right one from here.
    return { ok: false, problem: `runtime ${choice}: ${why}${/runner|image/.test(why) ? ` — build it for this host with: ${buildImageCommand(image)}` : ''}` };
  }
  return {
    ok: true,
    runtime: docker,
    info: { name: 'docker', reason: `${choice === 'auto' ? 'auto: ' : 'requested, '}Docker engine reachable, image ${image} present`, unsafe: false },
  };
}

async function processRuntime(opts: GateRuntimeOptions, why: string): Promise<GateRuntimeSelection> {
  // The server's defaults (pool included): the game should not be able to tell the gate from a server.
  const base: ProcessRuntimeOptions = { logger: opts.logger, startTimeoutMs: opts.startTimeoutMs, ...opts.process };
  let first: string;
  try {
    return { ok: true, runtime: await readyProcessRuntime(base), info: { name: 'process', reason: why, unsafe: false } };
  } catch (err) {
    first = errorText(err, 1000);
  }
  if (!opts.unsafeWeakSandbox) {
    return {
      ok: false,
      problem: `runtime process: ${first}. The gate does not run games where the kernel cannot isolate them (unsafeWeakSandbox / --unsafe-weak-sandbox runs them anyway, for development only)`,
    };
  }
  try {
    const runtime = await readyProcessRuntime({ ...base, ...UNISOLATED_PROCESS_OPTIONS });
    const weak = (runtime as { weaknesses?: unknown }).weaknesses;
    const missing = Array.isArray(weak) && weak.length ? weak.filter((w): w is string => typeof w === 'string').join('; ') : first;
    opts.logger.warn({ runtime: 'process', unsafe: true, missing }, 'gate: UNSAFE: running the game in the process runtime without kernel isolation');
    return { ok: true, runtime, info: { name: 'process', reason: `${why}; UNSAFE: without kernel isolation (missing ${missing})`, unsafe: true } };
  } catch (err) {
    return { ok: false, problem: `runtime process: ${errorText(err, 1000)}` };
  }
}

/** A process runtime that passed its own checks (constructor and `prepare()`), closed again if they fail. */
async function readyProcessRuntime(options: ProcessRuntimeOptions): Promise<RoomRuntime> {
  const runtime: RoomRuntime = new ProcessRuntime(options);
  try {
    await runtime.prepare?.();
  } catch (err) {
    await runtime.close?.().catch(() => {});
    throw err;
  }
  return runtime;
}

/** The process runtime's explicit development switch for running where the kernel cannot isolate the game. */
const UNISOLATED_PROCESS_OPTIONS: ProcessRuntimeOptions = { unsafeWeakSandbox: true };

function dockerEndpoint(o: DockerRuntimeOptions | undefined): string {
  const d = o?.docker as { socketPath?: unknown; host?: unknown } | undefined;
  if (typeof d?.socketPath === 'string') return d.socketPath;
  if (typeof d?.host === 'string') return d.host;
  return process.env.DOCKER_HOST ?? '/var/run/docker.sock';
}

/** The shell command that builds the runner image `image` on this machine. */
export function buildImageCommand(image = DEFAULT_DOCKER_IMAGE): string {
  const candidates = ['../../docker/build-runner-image.sh', '../docker/build-runner-image.sh'].map((p) => fileURLToPath(new URL(p, import.meta.url)));
  const script = candidates.find((p) => existsSync(p));
  if (!script) return `bash packages/server/docker/build-runner-image.sh ${image}`;
  const rel = relative(process.cwd(), script);
  let runner = '';
  try {
    runner = processRunnerPath(); // the runner this host verifies images against
  } catch {
    // not built: the script's default
  }
  return `bash ${rel && !rel.startsWith('..') ? rel : script} ${image}${runner ? ` ${runner}` : ''}`;
}

function withTimeout<T>(p: Promise<T>, ms: number, onTimeout: T): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((resolveTimeout) => {
      timer = setTimeout(() => resolveTimeout(onTimeout), ms);
      timer.unref?.();
    }),
  ]);
}
