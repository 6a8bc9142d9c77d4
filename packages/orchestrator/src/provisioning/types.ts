/**
 * The provisioner contract: how the orchestrator asks an engine it already trusts (Docker Swarm,
 * Kubernetes, or plain child processes on this machine) for more game server instances, and gives
 * them back. A provisioner only starts and stops `parlor serve` processes; the instances it starts
 * join the fleet like any other (their agent connects to `/v1/agent` with the agent key) and carry
 * the label {@link PROVISIONER_LABEL} naming it and {@link PROVISIONED_ID_LABEL} naming its own id
 * for them, which is how the autoscaler matches a fleet instance to what it started.
 *
 * The buffer autoscaler (`autoscaler.ts`) follows Agones' FleetAutoscaler buffer policy: keep at
 * least `buffer` free room slots (or a percentage of all slots) between `minInstances` and
 * `maxInstances`; scale down only instances that drained and emptied.
 */

/** Label every provisioned instance carries: the provisioner's {@link Provisioner.name}. */
export const PROVISIONER_LABEL = 'parlor.provisioner';

/** Label every provisioned instance carries: its {@link ProvisionedInstance.id}. */
export const PROVISIONED_ID_LABEL = 'parlor.provisioned-id';

/**
 * What every instance of a provisioner runs: one `parlor serve` with these settings. Each
 * provisioner turns it into its engine's terms (a Swarm service spec, a Deployment's pod
 * template, a child process's argv).
 */
export interface ServerTemplate {
  /** The image to run (Swarm, Kubernetes), e.g. `parlor-server:local`. Ignored by the process provisioner. */
  image?: string;
  /**
   * The command (argv) that starts `parlor serve` (process provisioner; a container's command
   * override elsewhere). The provisioner appends the fleet flags (`--fleet-url`,
   * `--fleet-key-file`, `--label …`, `--max-rooms`).
   */
  command?: string[];
  /**
   * Extra arguments of `parlor serve` (the orchestrator's repeatable `--server-arg`: `--games
   * /srv/games`, `--runtime process`…), appended after the command's (or the image's) own and
   * before the fleet flags. Default none.
   */
  args?: string[];
  /** The orchestrator's URL as the instances reach it (`ws://127.0.0.1:7070`). */
  fleetUrl: string;
  /**
   * The agent key the instances present. The provisioner keeps it in its engine's secret store (a
   * Swarm secret, a Kubernetes Secret, a 0600 file for child processes), mounted as a file and
   * passed as `--fleet-key-file`: never on a command line or in a plain environment variable.
   */
  agentKey: string;
  /** Labels every instance gets (besides {@link PROVISIONER_LABEL} / {@link PROVISIONED_ID_LABEL}). */
  labels: Record<string, string>;
  /** Room slots of one instance (`--max-rooms`). */
  capacity: number;
  /** Extra environment of every instance. */
  env: Record<string, string>;
}

/** An instance a provisioner started, as the engine reports it. */
export interface ProvisionedInstance {
  /** The provisioner's own id for it (Swarm task slot id, pod name, child pid…); its {@link PROVISIONED_ID_LABEL}. */
  id: string;
  /**
   * `starting`: asked for, not yet running; `running`: the engine runs it (its agent may not have
   * joined yet); `stopping`: a stop was asked; `exited`: gone (the engine may replace it).
   */
  state: 'starting' | 'running' | 'stopping' | 'exited';
  /** ms since the epoch it was asked for. */
  startedAt: number;
}

/** A way to start and stop game server instances (Docker Swarm, Kubernetes, child processes). */
export interface Provisioner {
  /** Short name (`swarm`, `kubernetes`, `process`): the value of {@link PROVISIONER_LABEL}. */
  readonly name: string;
  /**
   * Starts `count` more instances (idempotent in the engine's terms where it can be: a Swarm or
   * Kubernetes provisioner sets the replica count it derives from {@link list}, so a restarted
   * orchestrator never asks twice). Resolves once the engine accepted the request, not when the
   * instances joined the fleet.
   * @returns the instances asked for.
   */
  start(count: number): Promise<ProvisionedInstance[]>;
  /**
   * Stops one instance the autoscaler drained and found empty (or whose drain timed out after its
   * rooms were ended). Resolves when the engine accepted the stop.
   * @throws Error when `id` is not one of its instances.
   */
  stop(id: string): Promise<void>;
  /** What it started and the engine still knows (every state but long-gone ones). */
  list(): Promise<ProvisionedInstance[]>;
  /**
   * Why the engine cannot take a {@link start} (`action` `'start'`) or a {@link stop} of `id` now, in
   * one line, or `null` when it can. Optional: leave it out when the engine takes every change at
   * once (Swarm, child processes). The autoscaler asks before it records a decision, so a change the
   * engine must wait for (Kubernetes: a scale-down the ReplicaSet has not finished, a pod it would
   * remove first) shows as `waiting` in `GET /v1/autoscaler`, not as a failed operation at every sync.
   * @throws Error when the engine cannot be asked (the autoscaler then tries the change itself, and
   * records that failure).
   */
  notYet?(action: 'start' | 'stop', id?: string): Promise<string | null>;
  /** Releases the provisioner's own resources (connections, watchers); never stops instances. */
  close(): Promise<void>;
}

/** Options of the buffer autoscaler (Agones FleetAutoscaler, buffer policy). Durations in ms. */
export interface AutoscalerOptions {
  /** The provisioner it scales. */
  provisioner: Provisioner;
  /**
   * Free room slots to keep: a number (`4`), or a percentage of all slots of the fleet's live,
   * undrained instances (`'25%'`). Default 4.
   */
  buffer?: number | `${number}%`;
  /** Never fewer provisioned instances than this. Default 1. */
  minInstances?: number;
  /** Never more provisioned instances than this (a restarted orchestrator included). Default 10. */
  maxInstances?: number;
  /** After a scale-up or a scale-down, wait this long before scaling down again. Default 30 000. */
  coolDownMs?: number;
  /** How often the autoscaler decides. Default 1 000. */
  syncMs?: number;
  /**
   * How long a drained instance may keep rooms before they are ended (saved first when the game
   * saves) and it is stopped anyway. Default 300 000.
   */
  drainTimeoutMs?: number;
  /**
   * Room slots of one instance the provisioner starts (its template's `capacity`), counted for the
   * instances that are booting (not joined yet). Default: the largest `maxRooms` of the joined
   * provisioned instances, else 10.
   */
  instanceCapacity?: number;
}
