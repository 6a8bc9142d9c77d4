/**
 * From the `parlor-orchestrator` flags to the autoscaler's options: checks the provisioning flags
 * (one line naming the flag on a bad value), builds the {@link ServerTemplate} (the orchestrator's
 * own agent key and fleet URL) and the provisioner `--provisioner` names, loading the Swarm and
 * Kubernetes ones (and their optional engine clients) only when asked for.
 */
import { join } from 'node:path';
import { OrchestratorConfigError } from '../errors.js';
import { parseBuffer } from './autoscaler.js';
import { ProcessProvisioner } from './process.js';
import type { AutoscalerOptions, Provisioner, ServerTemplate } from './types.js';

/** The provisioners `--provisioner` may name. */
export const PROVISIONER_NAMES = ['process', 'swarm', 'kubernetes'] as const;

/** The provisioning flags of `parlor-orchestrator`, as commander parsed them. */
export interface ProvisionerFlags {
  /** `process`, `swarm` or `kubernetes`; absent: no autoscaler. */
  provisioner?: string;
  /** Image of the instances (Swarm, Kubernetes). */
  serverImage: string;
  /** Arguments appended to `parlor serve` (repeatable `--server-arg`). */
  serverArg?: string[];
  /** Room slots per instance (`--max-rooms` of each). */
  instanceCapacity: number;
  /** Free room slots to keep: `4` or `25%`. */
  buffer: string;
  minInstances: number;
  maxInstances: number;
  /** ms. */
  coolDown: number;
  /** ms. */
  drainTimeout: number;
  swarmService?: string;
  kubeNamespace?: string;
  kubeWorkload?: string;
}

/** What the factory needs of the orchestrator being started. */
export interface ProvisionerContext {
  /** The key the instances' agents present (the orchestrator's first agent key). */
  agentKey: string;
  /** The orchestrator's agent URL as the instances reach it (`ws://127.0.0.1:7070`). */
  fleetUrl: string;
  /** The orchestrator's data dir: the process provisioner keeps its files in `<dataDir>/instances`. */
  dataDir: string;
}

/**
 * The fleet URL instances connect to: the `--public-url` as `ws(s)://`, else the listen address
 * (`127.0.0.1` for a wildcard host).
 * @throws {OrchestratorConfigError} when neither gives a fixed port (`--port 0` without `--public-url`).
 */
export function fleetUrlFor(opts: { host: string; port: number; publicUrl?: string }): string {
  if (opts.publicUrl !== undefined) return opts.publicUrl.replace(/\/+$/, '').replace(/^http/i, 'ws');
  if (opts.port === 0) throw new OrchestratorConfigError('--provisioner needs a fixed --port (the instances it starts connect to it), or --public-url');
  const h = opts.host;
  const host = h === '0.0.0.0' || h === '::' ? '127.0.0.1' : h.includes(':') ? `[${h}]` : h;
  return `ws://${host}:${opts.port}`;
}

/**
 * The autoscaler's options from the flags, or `undefined` without `--provisioner`.
 * @throws {OrchestratorConfigError} (one line naming the flag) on a bad value, or when the
 *   provisioner cannot be built (e.g. its engine client is not installed).
 */
export async function autoscalerFromFlags(flags: ProvisionerFlags, ctx: ProvisionerContext): Promise<AutoscalerOptions | undefined> {
  if (flags.provisioner === undefined) return undefined;
  const kind = flags.provisioner;
  if (!(PROVISIONER_NAMES as readonly string[]).includes(kind)) throw new OrchestratorConfigError(`--provisioner ${JSON.stringify(kind)}: want one of ${PROVISIONER_NAMES.join(', ')}`);
  const buffer = parseBuffer(flags.buffer, '--buffer');
  if (flags.maxInstances < flags.minInstances) throw new OrchestratorConfigError(`--max-instances ${flags.maxInstances} is below --min-instances ${flags.minInstances}`);
  const template: ServerTemplate = {
    image: flags.serverImage,
    args: flags.serverArg ?? [],
    fleetUrl: ctx.fleetUrl,
    agentKey: ctx.agentKey,
    labels: {},
    capacity: flags.instanceCapacity,
    env: {},
  };
  let provisioner: Provisioner;
  try {
    provisioner = await createProvisioner(kind as (typeof PROVISIONER_NAMES)[number], template, flags, ctx);
  } catch (err) {
    if (err instanceof OrchestratorConfigError) throw err;
    throw new OrchestratorConfigError(`--provisioner ${kind}: ${(err as Error)?.message ?? String(err)}`, { cause: err });
  }
  // Asked once before listening: a provisioner that cannot reach its engine at all (no kubeconfig, an
  // engine not in swarm mode, no Docker socket) stops the start with its one line, rather than an
  // orchestrator that runs and logs a failed sync once a minute.
  try {
    await provisioner.list();
  } catch (err) {
    await provisioner.close().catch(() => undefined);
    throw new OrchestratorConfigError(`--provisioner ${kind}: ${(err as Error)?.message ?? String(err)}`, { cause: err });
  }
  return {
    provisioner,
    buffer: typeof buffer === 'number' ? buffer : `${buffer.pct * 100}%`,
    minInstances: flags.minInstances,
    maxInstances: flags.maxInstances,
    coolDownMs: flags.coolDown,
    drainTimeoutMs: flags.drainTimeout,
    instanceCapacity: flags.instanceCapacity,
  };
}

async function createProvisioner(kind: (typeof PROVISIONER_NAMES)[number], template: ServerTemplate, flags: ProvisionerFlags, ctx: ProvisionerContext): Promise<Provisioner> {
  switch (kind) {
    case 'process':
      return new ProcessProvisioner({ template, dir: join(ctx.dataDir, 'instances') });
    case 'swarm': {
      const { SwarmProvisioner } = await import('./swarm.js');
      return new SwarmProvisioner({ template, ...(flags.swarmService !== undefined ? { service: flags.swarmService } : {}) });
    }
    case 'kubernetes': {
      const { KubernetesProvisioner } = await import('./kubernetes.js');
      return new KubernetesProvisioner({
        template,
        ...(flags.kubeNamespace !== undefined ? { namespace: flags.kubeNamespace } : {}),
        ...(flags.kubeWorkload !== undefined ? { workload: flags.kubeWorkload } : {}),
      });
    }
  }
}
