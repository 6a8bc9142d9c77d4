/**
 * The Docker Swarm provisioner: every instance is one Swarm service of one replica running the
 * server image (`parlor serve`, built with no registry by packages/server/docker/build-server-image.sh).
 *
 * Why a service per instance rather than one service scaled to N replicas: the autoscaler stops a
 * chosen instance (the one it drained and found empty), and a replicated service can only be
 * scaled down by count, Swarm picking which task dies. A service of its own also gives each
 * instance its own named volume for `--state-dir` (a replicated service's volume template would
 * be shared or keyed by a slot that moves) and a stable id for {@link PROVISIONED_ID_LABEL}.
 *
 * - Restart policy `any`: a task killed (kill -9, OOM, node reboot) is restarted by Swarm as the
 *   same service with the same volume, so the host restores its rooms from their snapshots (same
 *   ids) and its agent joins again with the same labels.
 * - Host network and `--port 0`: each instance listens on a port the kernel picks (never a
 *   collision with another instance or anything else on the node) and announces it through its
 *   agent; players reach it at the node's address ({@link SwarmProvisionerOptions.advertiseHost},
 *   e.g. `{{.Node.Hostname}}`; `localhost` by default, which fits a single machine).
 * - The agent key is a Swarm secret (content-addressed name, immutable as secrets are), mounted
 *   read-only for uid 65534 at `/run/secrets/<name>` and passed as `--fleet-key-file`.
 * - The engine's services, found by label, are the truth of {@link SwarmProvisioner.list}: a
 *   restarted orchestrator counts what runs, never what it remembers.
 */
import { createHash, randomBytes } from 'node:crypto';
import type Docker from 'dockerode';
import { PROVISIONED_ID_LABEL, PROVISIONER_LABEL, type ProvisionedInstance, type Provisioner, type ServerTemplate } from './types.js';

/** Service label naming the provisioner's service prefix (several prefixes share one swarm). */
export const SWARM_SERVICE_LABEL = 'parlor.swarm-service';

/** A bind mount of the node into every instance (e.g. a folder of games on a single-node swarm). */
export interface SwarmBindMount {
  /** Absolute path on the node. */
  source: string;
  /** Absolute path in the container. */
  target: string;
  /** Default true. */
  readOnly?: boolean;
}

/** Options of {@link SwarmProvisioner}. */
export interface SwarmProvisionerOptions {
  /** What every instance runs; `image` defaults to `parlor-server:local`. */
  template: ServerTemplate;
  /** Prefix of the service, volume and secret names (`<service>-<id>`). Default `parlor-server`. */
  service?: string;
  /** How to reach the engine. Default the local socket (`/var/run/docker.sock`, or DOCKER_HOST). */
  docker?: { socketPath?: string };
  /** Bind mounts of every instance (default none). Needs the same path on every node. */
  mounts?: SwarmBindMount[];
  /** How long Swarm waits after SIGTERM (the host's drain) before it kills a removed task, ms. Default 30 000. */
  stopGracePeriodMs?: number;
  /** Delay before Swarm restarts a task that ended, ms. Default 500. */
  restartDelayMs?: number;
  /**
   * The host players reach an instance at (its `parlor serve --advertise-host`, through the env
   * `PARLOR_ADVERTISE_HOST`): an address, or a Swarm template such as `{{.Node.Hostname}}` that
   * the engine expands per node. Default the env `PARLOR_SWARM_ADVERTISE_HOST` of this process,
   * else none: join URLs say `localhost` (right for a single machine only).
   */
  advertiseHost?: string;
}

/** Where the server image keeps `--state-dir` and the artifact cache (a named volume per instance). */
const DATA_DIR = '/data';
const DEFAULT_IMAGE = 'parlor-server:local';
const ID_RE = /^[a-z0-9]{1,32}$/;


/** Loads dockerode (an optional peer dependency). @throws Error naming the package to install. */
async function loadDockerode(): Promise<typeof Docker> {
  try {
    return (await import('dockerode')).default;
  } catch {
    throw new Error('the swarm provisioner needs the dockerode package: npm install dockerode (beside @parlor/orchestrator)');
  }
}

/**
 * Starts and stops `parlor serve` instances as Docker Swarm services (see the file's opening
 * comment for the shape). The engine must be a swarm manager.
 */
export class SwarmProvisioner implements Provisioner {
  readonly name = 'swarm';
  private readonly prefix: string;
  private docker: Docker | null = null;
  private ready: Promise<Docker> | null = null;
  private readonly stopping = new Set<string>();
  private lastSweep = 0;
  private secret: { id: string; name: string } | null = null;

  /** @throws Error when the `service` prefix is not a valid Docker name. */
  constructor(private readonly opts: SwarmProvisionerOptions) {
    this.prefix = opts.service ?? 'parlor-server';
    if (!/^[a-zA-Z0-9][a-zA-Z0-9-]{0,30}$/.test(this.prefix)) throw new Error(`--swarm-service ${JSON.stringify(this.prefix)}: want letters, digits and "-" (at most 31), e.g. parlor-server`);
  }

  /** Connects once: dockerode loaded, the engine reachable and a swarm manager. @throws Error with the fix. */
  private engine(): Promise<Docker> {
    this.ready ??= (async () => {
      const Dockerode = await loadDockerode();
      const docker = new Dockerode(this.opts.docker?.socketPath ? { socketPath: this.opts.docker.socketPath } : undefined);
      let info: { Swarm?: { LocalNodeState?: string; ControlAvailable?: boolean } };
      try {
        info = (await docker.info()) as typeof info;
      } catch (err) {
        throw new Error(`the swarm provisioner cannot reach the Docker engine (${(err as Error).message}): start dockerd, or point DOCKER_HOST at it`);
      }
      if (info.Swarm?.LocalNodeState !== 'active') throw new Error('the Docker engine is not in swarm mode: run docker swarm init (e.g. docker swarm init --advertise-addr 127.0.0.1 on one machine)');
      if (info.Swarm.ControlAvailable === false) throw new Error('this Docker engine is a swarm worker: point the swarm provisioner at a manager node');
      this.docker = docker;
      return docker;
    })();
    this.ready.catch(() => (this.ready = null)); // a later call tries again
    return this.ready;
  }

  /** The secret holding the agent key (created once per key: secrets are immutable). */
  private async keySecret(docker: Docker): Promise<{ id: string; name: string }> {
    if (this.secret) return this.secret;
    this.secret = await this.findOrCreateSecret(docker);
    return this.secret;
  }

  /** The name of the current key's secret. */
  private secretName(): string {
    return `${this.prefix}-agent-key-${createHash('sha256').update(this.opts.template.agentKey).digest('hex').slice(0, 12)}`;
  }

  private async findOrCreateSecret(docker: Docker): Promise<{ id: string; name: string }> {
    const name = this.secretName();
    const found = (await docker.listSecrets({ filters: { name: [name] } })) as Array<{ ID: string; Spec?: { Name?: string } }>;
    const same = found.find((s) => s.Spec?.Name === name);
    if (same) return { id: same.ID, name };
    try {
      const created = (await docker.createSecret({
        Name: name,
        Labels: { [PROVISIONER_LABEL]: this.name, [SWARM_SERVICE_LABEL]: this.prefix },
        Data: Buffer.from(`${this.opts.template.agentKey}\n`).toString('base64'),
      })) as { id?: string; ID?: string };
      return { id: (created.id ?? created.ID) as string, name };
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode !== 409) throw err;
      const again = (await docker.listSecrets({ filters: { name: [name] } })) as Array<{ ID: string; Spec?: { Name?: string } }>;
      const s = again.find((x) => x.Spec?.Name === name);
      if (!s) throw err;
      return { id: s.ID, name };
    }
  }

  /** The service spec of instance `id`. */
  private spec(id: string, secret: { id: string; name: string }): Record<string, unknown> {
    const t = this.opts.template;
    const name = `${this.prefix}-${id}`;
    const labels = { ...t.labels, [PROVISIONER_LABEL]: this.name, [PROVISIONED_ID_LABEL]: id };
    const command = t.command && t.command.length > 0 ? (t.command[0] === 'parlor' ? t.command.slice(1) : t.command) : ['serve', '--runtime', 'inline'];
    // the orchestrator's --server-arg (ServerTemplate.args), between the command and the fleet flags
    const extra = t.args ?? [];
    const args = [
      ...command,
      ...extra,
      '--host', '0.0.0.0',
      '--port', '0',
      '--fleet-url', t.fleetUrl,
      '--fleet-key-file', `/run/secrets/${secret.name}`,
      '--name', name,
      '--instance-id', name,
      '--max-rooms', String(t.capacity),
      '--state-dir', `${DATA_DIR}/state`,
      '--artifact-cache', `${DATA_DIR}/artifacts`,
      ...Object.entries(labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]),
    ];
    const serviceLabels = { [PROVISIONER_LABEL]: this.name, [PROVISIONED_ID_LABEL]: id, [SWARM_SERVICE_LABEL]: this.prefix };
    const advertise = this.opts.advertiseHost ?? process.env.PARLOR_SWARM_ADVERTISE_HOST;
    return {
      Name: name,
      Labels: serviceLabels,
      TaskTemplate: {
        ContainerSpec: {
          Image: t.image ?? DEFAULT_IMAGE,
          Args: args,
          Env: Object.entries({ ...(advertise ? { PARLOR_ADVERTISE_HOST: advertise } : {}), ...t.env }).map(([k, v]) => `${k}=${v}`),
          Labels: serviceLabels,
          StopGracePeriod: (this.opts.stopGracePeriodMs ?? 30_000) * 1e6,
          Secrets: [{ SecretID: secret.id, SecretName: secret.name, File: { Name: secret.name, UID: '65534', GID: '65534', Mode: 0o400 } }],
          Mounts: [
            { Type: 'volume', Source: `${name}-data`, Target: DATA_DIR, VolumeOptions: { Labels: serviceLabels } },
            ...(this.opts.mounts ?? []).map((m) => ({ Type: 'bind', Source: m.source, Target: m.target, ReadOnly: m.readOnly ?? true })),
          ],
        },
        RestartPolicy: { Condition: 'any', Delay: (this.opts.restartDelayMs ?? 500) * 1e6, MaxAttempts: 0 },
        Networks: [{ Target: 'host' }],
      },
      Mode: { Replicated: { Replicas: 1 } },
    };
  }

  /** @inheritDoc */
  async start(count: number): Promise<ProvisionedInstance[]> {
    if (!Number.isInteger(count) || count < 0) throw new Error(`start(${count}): want an integer ≥ 0`);
    if (count === 0) return [];
    const docker = await this.engine();
    const secret = await this.keySecret(docker);
    const out: ProvisionedInstance[] = [];
    for (let i = 0; i < count; i++) {
      const id = randomBytes(5).toString('hex');
      try {
        await docker.createService(this.spec(id, secret) as Docker.CreateServiceOptions);
      } catch (err) {
        this.secret = null; // e.g. the secret was removed by hand: found or made again next time
        throw err;
      }
      out.push({ id, state: 'starting', startedAt: Date.now() });
    }
    return out;
  }

  /** @inheritDoc Removes the service (its task gets SIGTERM: the host drains and saves); its volume is removed once the task is gone. */
  async stop(id: string): Promise<void> {
    if (!ID_RE.test(id)) throw new Error(`swarm provisioner: ${JSON.stringify(id)} is not one of its instances`);
    const docker = await this.engine();
    const services = await this.services(docker);
    const svc = services.find((s) => s.Spec?.Labels?.[PROVISIONED_ID_LABEL] === id);
    if (!svc) throw new Error(`swarm provisioner: no service ${this.prefix}-${id} (not one of its instances, or already stopped)`);
    this.stopping.add(id);
    try {
      await docker.getService(svc.ID).remove();
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode !== 404) {
        this.stopping.delete(id);
        throw err;
      }
    }
    void this.removeVolume(docker, `${this.prefix}-${id}-data`).finally(() => this.stopping.delete(id));
  }

  /** Removes an instance's volume once its container is gone (the engine refuses while it is in use). */
  private async removeVolume(docker: Docker, name: string): Promise<void> {
    const until = Date.now() + (this.opts.stopGracePeriodMs ?? 30_000) + 10_000;
    while (Date.now() < until) {
      try {
        await docker.getVolume(name).remove();
        return;
      } catch (err) {
        if ((err as { statusCode?: number }).statusCode === 404) return;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  /** This provisioner's services (by label and prefix). */
  private async services(docker: Docker): Promise<Docker.Service[]> {
    const all = await docker.listServices({ filters: { label: [`${PROVISIONER_LABEL}=${this.name}`, `${SWARM_SERVICE_LABEL}=${this.prefix}`] } });
    return all.filter((s) => ID_RE.test(s.Spec?.Labels?.[PROVISIONED_ID_LABEL] ?? ''));
  }

  /**
   * Removes the state volumes of this prefix whose service is gone (a stop whose volume removal
   * was cut short by an orchestrator exit, a service removed by hand), and the secrets of earlier
   * agent keys no service uses any more. At most every 30 s; best effort.
   */
  private async sweepVolumes(docker: Docker, services: Docker.Service[]): Promise<void> {
    if (Date.now() - this.lastSweep < 30_000) return;
    this.lastSweep = Date.now();
    const live = new Set(services.map((s) => s.Spec?.Labels?.[PROVISIONED_ID_LABEL]));
    const { Volumes } = (await docker.listVolumes({ filters: { label: [`${SWARM_SERVICE_LABEL}=${this.prefix}`] } })) as { Volumes?: Array<{ Name: string; Labels?: Record<string, string> | null }> };
    for (const v of Volumes ?? []) {
      const id = v.Labels?.[PROVISIONED_ID_LABEL] ?? '';
      if (ID_RE.test(id) && !live.has(id) && !this.stopping.has(id)) await docker.getVolume(v.Name).remove().catch(() => undefined);
    }
    // agent key secrets of this prefix no service uses (an earlier key): the engine refuses while one does
    const secrets = (await docker.listSecrets({ filters: { label: [`${SWARM_SERVICE_LABEL}=${this.prefix}`] } })) as Array<{ ID: string; Spec?: { Name?: string } }>;
    for (const x of secrets) if (x.Spec?.Name !== this.secretName()) await docker.getSecret(x.ID).remove().catch(() => undefined);
  }

  /**
   * Moves services started with another agent key (an orchestrator restarted with a rotated or
   * newly generated key) to the current key's secret: their agents would be refused forever, yet
   * counted as booting. Swarm restarts the task on the update, with the same volume, so the rooms
   * come back from their snapshots; the old secret is removed once no service uses it.
   */
  private async moveToCurrentKey(docker: Docker, services: Docker.Service[]): Promise<void> {
    const current = await this.keySecret(docker);
    const stale = new Set<string>();
    for (const svc of services) {
      const spec = svc.Spec as { TaskTemplate?: { ContainerSpec?: { Args?: string[]; Secrets?: Array<{ SecretID: string; SecretName: string }> } } } & Record<string, unknown>;
      const cs = spec.TaskTemplate?.ContainerSpec;
      const secret = cs?.Secrets?.find((x) => x.SecretName.startsWith(`${this.prefix}-agent-key-`));
      if (!cs || !secret || secret.SecretName === current.name) continue;
      stale.add(secret.SecretID);
      const fresh = this.spec(svc.Spec!.Labels![PROVISIONED_ID_LABEL], current) as { TaskTemplate: { ContainerSpec: { Args: string[]; Secrets: unknown[] } } };
      cs.Secrets = fresh.TaskTemplate.ContainerSpec.Secrets as typeof cs.Secrets;
      cs.Args = (cs.Args ?? []).map((a) => (a === `/run/secrets/${secret.SecretName}` ? `/run/secrets/${current.name}` : a));
      await docker.getService(svc.ID).update({ ...spec, version: svc.Version?.Index });
    }
    for (const id of stale) await docker.getSecret(id).remove().catch(() => undefined); // still in use while tasks roll: the sweep retries
  }

  /** @inheritDoc */
  async list(): Promise<ProvisionedInstance[]> {
    const docker = await this.engine();
    const services = await this.services(docker);
    await this.sweepVolumes(docker, services).catch(() => undefined);
    await this.moveToCurrentKey(docker, services);
    if (services.length === 0) return [];
    const tasks = (await docker.listTasks({ filters: { 'desired-state': ['running'] } })) as Array<{ ServiceID: string; DesiredState?: string; Status?: { State?: string } }>;
    return services.map((s) => {
      const id = s.Spec!.Labels![PROVISIONED_ID_LABEL];
      const live = tasks.filter((t) => t.ServiceID === s.ID && t.DesiredState === 'running');
      // Never `exited`: while its service exists Swarm restarts its task (restart policy any), so
      // between a task's end and its replacement the instance counts as starting, not as gone
      // (an autoscaler would otherwise start another one beside it).
      let state: ProvisionedInstance['state'] = 'starting';
      if (this.stopping.has(id)) state = 'stopping';
      else if (live.some((t) => t.Status?.State === 'running')) state = 'running';
      return { id, state, startedAt: Date.parse(s.CreatedAt ?? '') || 0 };
    });
  }

  /** @inheritDoc */
  async close(): Promise<void> {
    this.docker = null;
    this.ready = null;
    this.secret = null;
  }
}
