/**
 * The buffer autoscaler, after Agones' FleetAutoscaler (buffer policy): keep at least `buffer`
 * free room slots (or a percentage of all slots) between `minInstances` and `maxInstances`,
 * scaling through a {@link Provisioner}.
 *
 * Every `syncMs` it reads the provisioner's list (the engine's truth: a restarted orchestrator
 * counts what its predecessor started) and the read model, and decides at most one thing:
 * - **free slots** = Σ over the fleet's live (not stale), undrained instances of
 *   (`capacity.maxRooms` − rooms), plus the capacity of provisioned instances whose agent has not
 *   joined yet (so it never starts twice while they boot); **target** = `buffer`, or
 *   ceil(pct × all those slots);
 * - **scale up** when free < target (ceil((target − free) / capacity) instances) or when fewer than
 *   `minInstances` run, capped so the provisioner never runs more than `maxInstances`;
 * - **scale down**, `coolDownMs` after the last scale event, only a provisioned, joined, empty
 *   instance whose slots are not needed (free − its capacity ≥ target) and never below
 *   `minInstances`: it is drained first; once empty it is stopped through the provisioner; if rooms
 *   remain after `drainTimeoutMs` they are stopped (the lifecycle `stop`, which saves) and then it is.
 *
 * Each decision is an operation of the log (`scale_up`, `drain`, `scale_down`; source
 * `autoscaler`, roomId `''`) and an `autoscaler` event.
 */
import type { Operation } from '@parlor/squish';
import { OrchestratorConfigError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { QueueOperation } from '../operations/log.js';
import { operationErrorCode, operationErrorMessage, failedOperation, type OperationOutcome, type OperationRun } from '../operations/run.js';
import type { AutoscalerDecision, AutoscalerStatus, FleetView, InstanceInfo } from '../types.js';
import { PROVISIONED_ID_LABEL, PROVISIONER_LABEL, type AutoscalerOptions, type ProvisionedInstance, type Provisioner } from './types.js';

/** What the autoscaler needs of the orchestrator. */
export interface AutoscalerHost {
  /** The read model. */
  readonly fleet: FleetView;
  /** Drains an instance (no new placements). */
  drainInstance(id: string): Promise<InstanceInfo>;
  /** Stops a room through the lifecycle `stop` (saved first when its game saves), recorded with source `autoscaler`. */
  stopRoom(roomId: string): Promise<unknown>;
  /** Runs an operation through the operation log (`operationStore.run`). */
  run<R extends OperationOutcome>(input: QueueOperation, fn: (operation: Operation) => Promise<R>): Promise<OperationRun<R>>;
  /** Told of every decision that did something. */
  decided(decision: AutoscalerDecision): void;
}

/** {@link AutoscalerOptions} with defaults applied and bounds checked. */
export interface ResolvedAutoscalerOptions {
  provisioner: Provisioner;
  /** A number of slots, or a fraction of all slots (`'25%'` → `{ pct: 0.25 }`). */
  buffer: number | { pct: number };
  minInstances: number;
  maxInstances: number;
  coolDownMs: number;
  syncMs: number;
  drainTimeoutMs: number;
  /** Room slots of an instance not joined yet; `undefined`: the largest joined one's, else 10. */
  instanceCapacity: number | undefined;
}

/**
 * Applies the defaults (buffer 4, min 1, max 10, cool-down 30 000 ms, sync 1 000 ms, drain
 * timeout 300 000 ms) and checks the bounds.
 * @throws {OrchestratorConfigError} naming the option, on a value out of bounds.
 */
export function resolveAutoscalerOptions(o: AutoscalerOptions): ResolvedAutoscalerOptions {
  const p = o.provisioner as Partial<Provisioner> | undefined;
  if (!p || typeof p.start !== 'function' || typeof p.stop !== 'function' || typeof p.list !== 'function' || typeof p.name !== 'string') throw new OrchestratorConfigError('autoscaler.provisioner must be a Provisioner (name, start, stop, list, close)');
  const int = (name: string, v: number | undefined, def: number, min: number): number => {
    if (v === undefined) return def;
    if (!Number.isInteger(v) || v < min) throw new OrchestratorConfigError(`autoscaler.${name} must be an integer ≥ ${min} (got ${String(v)})`);
    return v;
  };
  const minInstances = int('minInstances', o.minInstances, 1, 0);
  const maxInstances = int('maxInstances', o.maxInstances, 10, 1);
  if (maxInstances < minInstances) throw new OrchestratorConfigError(`autoscaler.maxInstances (${maxInstances}) must be at least minInstances (${minInstances})`);
  return {
    provisioner: o.provisioner,
    buffer: parseBuffer(o.buffer ?? 4, 'autoscaler.buffer'),
    minInstances,
    maxInstances,
    coolDownMs: int('coolDownMs', o.coolDownMs, 30_000, 0),
    syncMs: int('syncMs', o.syncMs, 1000, 10),
    drainTimeoutMs: int('drainTimeoutMs', o.drainTimeoutMs, 300_000, 0),
    instanceCapacity: o.instanceCapacity === undefined ? undefined : int('instanceCapacity', o.instanceCapacity, 10, 1),
  };
}

/**
 * A buffer as given (`4`, `'4'`, `'25%'`): a whole number of slots ≥ 0, or a percentage in (0, 100].
 * @throws {OrchestratorConfigError} naming `what` otherwise.
 */
export function parseBuffer(v: number | string, what: string): number | { pct: number } {
  const s = String(v).trim();
  const pct = /^(\d+(?:\.\d+)?)%$/.exec(s);
  if (pct) {
    const n = Number(pct[1]);
    if (n > 0 && n <= 100) return { pct: n / 100 };
  } else if (/^\d+$/.test(s)) return Number(s);
  throw new OrchestratorConfigError(`${what} must be a number of free room slots (4) or a percentage of all slots (25%) (got ${JSON.stringify(v)})`);
}

interface Drained {
  instanceId: string;
  since: number;
}

/** The buffer autoscaler: {@link start} it once the operation log is open, {@link stop} it before it closes. */
export class Autoscaler {
  private readonly opts: ResolvedAutoscalerOptions;
  /** Provisioned ids it drained (or found draining) to stop once empty. */
  private readonly drained = new Map<string, Drained>();
  private lastScaleAt = 0;
  /** Provisioned ids seen in the list whose agent has not joined yet. */
  private readonly booting = new Set<string>();
  /** Provisioned ids whose agent joined at some point (a later exit is not a boot failure). */
  private readonly hasJoined = new Set<string>();
  /** Instances in a row that exited before they joined (a server that cannot start); reset by a join. */
  private bootFailures = 0;
  /** No scale-up before this (ms since the epoch): the back-off after boot failures. */
  private scaleUpAfter = 0;
  /** The last sync failure logged, and when: the same failure is logged once a minute. */
  private lastFailure = { message: '', at: 0 };
  /** The last reason to wait the provisioner gave that was logged (logged once until it changes). */
  private waitingLogged: string | null = null;
  /** The first reason to wait given in the current round. */
  private waitingNow: string | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private running: Promise<void> | null = null;
  private stopped = true;
  private state: AutoscalerStatus;

  /** @throws {OrchestratorConfigError} on options out of bounds. */
  constructor(
    options: AutoscalerOptions,
    private readonly host: AutoscalerHost,
    private readonly logger: Logger,
  ) {
    this.opts = resolveAutoscalerOptions(options);
    const o = this.opts;
    this.state = { provisioner: o.provisioner.name, buffer: { target: 0, free: 0 }, instances: { provisioned: 0, joined: 0, draining: 0, min: o.minInstances, max: o.maxInstances }, lastDecision: null, waiting: null };
  }

  /** The provisioner it scales. */
  get provisioner(): Provisioner {
    return this.opts.provisioner;
  }

  /** Its state as of the last sync. */
  status(): AutoscalerStatus {
    return { ...this.state, buffer: { ...this.state.buffer }, instances: { ...this.state.instances } };
  }

  /** Starts deciding: once now, then every `syncMs` (each sync after the previous one finished). */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(0);
  }

  /** Stops deciding; resolves once a sync in progress finished. Instances are left as they are. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.running = this.sync()
        .catch((err: unknown) => {
          const message = operationErrorMessage(err);
          if (message === this.lastFailure.message && Date.now() - this.lastFailure.at < 60_000) return;
          this.lastFailure = { message, at: Date.now() };
          this.logger.warn({ error: message }, 'autoscaler: sync failed; trying again at each sync (the same failure is logged once a minute)');
        })
        .finally(() => {
          this.running = null;
          this.schedule(this.opts.syncMs);
        });
    }, ms);
    this.timer.unref?.();
  }

  /** One decision round; what waits for the engine is published as `waiting` once the round is over. */
  private async sync(): Promise<void> {
    this.waitingNow = null;
    try {
      await this.decide();
    } finally {
      if (this.waitingNow === null) this.waitingLogged = null; // a wait that ended is logged again when it comes back
      this.state = { ...this.state, waiting: this.waitingNow };
    }
  }

  /** The decisions of one round (see the module's documentation). */
  private async decide(): Promise<void> {
    const o = this.opts;
    const name = o.provisioner.name;
    const listed = (await o.provisioner.list()).filter((p) => p.state !== 'exited');
    if (this.stopped) return;
    const mine = new Map(listed.map((p) => [p.id, p]));
    const fleet = this.host.fleet.instances;
    const joined = new Map<string, InstanceInfo>();
    for (const i of fleet) {
      const pid = i.labels[PROVISIONED_ID_LABEL];
      if (i.labels[PROVISIONER_LABEL] === name && pid && mine.has(pid)) joined.set(pid, i);
    }
    const now = Date.now();
    this.noteBoots(mine, joined, now);
    for (const id of this.drained.keys()) if (!mine.has(id)) this.drained.delete(id);
    // a provisioned instance found draining (drained before a restart, or by an admin) is stopped once empty
    for (const [pid, i] of joined) if (i.status === 'draining' && mine.get(pid)!.state !== 'stopping' && !this.drained.has(pid)) this.drained.set(pid, { instanceId: i.id, since: now });

    const slotsEach = o.instanceCapacity ?? (Math.max(0, ...[...joined.values()].map((i) => i.capacity.maxRooms)) || 10);
    let free = 0;
    let total = 0;
    for (const i of fleet) {
      if (i.stale || i.status === 'draining') continue;
      free += Math.max(0, i.capacity.maxRooms - i.roomCount);
      total += i.capacity.maxRooms;
    }
    const booting = listed.filter((p) => p.state !== 'stopping' && !joined.has(p.id));
    free += booting.length * slotsEach;
    total += booting.length * slotsEach;
    const target = typeof o.buffer === 'number' ? o.buffer : Math.ceil(o.buffer.pct * total);
    const buffer = { free, target };
    this.state = {
      ...this.state,
      buffer,
      instances: { provisioned: listed.length, joined: joined.size, draining: [...joined.values()].filter((i) => i.status === 'draining').length, min: o.minInstances, max: o.maxInstances },
    };

    // 1. drained instances: stopped once empty (or once their drain timed out)
    for (const [pid, d] of [...this.drained]) {
      if (mine.get(pid)!.state === 'stopping') continue;
      const inst = joined.get(pid);
      if (!inst || inst.roomCount === 0) await this.scaleDown(pid, d.instanceId, 'drained_empty', buffer);
      else if (now - d.since >= o.drainTimeoutMs) {
        for (const room of this.host.fleet.findRooms({ instanceId: inst.id })) {
          await this.host.stopRoom(room.roomId).catch((err: unknown) => this.logger.warn({ room: room.roomId, instance: inst.id, error: operationErrorMessage(err) }, 'autoscaler: a room of a drained instance could not be stopped'));
        }
        await this.scaleDown(pid, d.instanceId, 'drain_timeout', buffer);
      }
    }

    // 2. scale up: below min, or below the buffer
    const active = listed.filter((p) => p.state !== 'stopping' && !this.drained.has(p.id)).length;
    let want = 0;
    let reason: AutoscalerDecision['reason'] = 'buffer';
    if (active < o.minInstances) [want, reason] = [o.minInstances - active, 'min_instances'];
    if (free < target) {
      const n = Math.ceil((target - free) / slotsEach);
      if (n > want) [want, reason] = [n, 'buffer'];
    }
    want = Math.min(want, o.maxInstances - listed.length);
    if (want > 0 && now >= this.scaleUpAfter) return this.scaleUp(want, reason, buffer);
    if (want > 0) return;

    // 3. scale down: one empty instance whose slots the buffer does not need, after the cool-down
    if (now - this.lastScaleAt < o.coolDownMs || active - 1 < o.minInstances) return;
    const spare = listed
      .filter((p) => p.state === 'running' && !this.drained.has(p.id))
      .map((p): [ProvisionedInstance, InstanceInfo | undefined] => [p, joined.get(p.id)])
      .filter(([, i]) => i !== undefined && i.status === 'active' && !i.stale && i.roomCount === 0 && i.inflight === 0 && free - i.capacity.maxRooms >= target)
      .sort(([a], [b]) => b.startedAt - a.startedAt)[0];
    if (spare) await this.drain(spare[0].id, spare[1]!, buffer);
  }

  /**
   * Follows the instances that boot: one that joined resets the failure count; one that left the
   * provisioner's list before it joined (a server that cannot start: a bad `--server-arg`, a
   * missing image…) counts as a failure, and scale-ups wait 2^failures × syncMs (at most a minute),
   * so a broken template is retried slowly instead of started every sync.
   */
  private noteBoots(mine: Map<string, ProvisionedInstance>, joined: Map<string, InstanceInfo>, now: number): void {
    for (const id of this.hasJoined) if (!mine.has(id)) this.hasJoined.delete(id);
    for (const id of joined.keys()) this.hasJoined.add(id);
    for (const id of [...this.booting]) {
      if (joined.has(id)) {
        this.booting.delete(id);
        this.bootFailures = 0;
        this.scaleUpAfter = 0;
      } else if (!mine.has(id)) {
        this.booting.delete(id);
        this.bootFailures++;
        const retryInMs = Math.min(60_000, this.opts.syncMs * 2 ** this.bootFailures);
        this.scaleUpAfter = now + retryInMs;
        this.logger.warn({ provisionedId: id, failures: this.bootFailures, retryInMs }, `autoscaler: instance ${id} exited before it joined the fleet; next scale-up in ${retryInMs} ms (see the ${this.opts.provisioner.name} provisioner's log of it)`);
      }
    }
    for (const [id, p] of mine) if (!this.hasJoined.has(id) && p.state !== 'stopping') this.booting.add(id);
  }

  /**
   * The provisioner's reason why the engine cannot take `action` now (shown as `waiting`, logged
   * once until it changes), or `null`. When the check itself fails, the action is tried and its
   * failure recorded.
   */
  private async notYet(action: 'start' | 'stop', id?: string): Promise<string | null> {
    let why: string | null = null;
    try {
      why = (await this.opts.provisioner.notYet?.(action, id)) ?? null;
    } catch {
      // the engine cannot be asked: the change is tried, and its failure recorded
    }
    if (why === null) return null;
    if (why !== this.waitingLogged) this.logger.info({ action, provisionedId: id, why }, 'autoscaler: the engine cannot take this change yet; asking again at each sync');
    this.waitingLogged = why;
    this.waitingNow ??= why;
    return why;
  }

  private async scaleUp(count: number, reason: AutoscalerDecision['reason'], buffer: { free: number; target: number }): Promise<void> {
    const p = this.opts.provisioner;
    if ((await this.notYet('start')) !== null) return;
    this.lastScaleAt = Date.now();
    this.logger.info({ count, reason, ...buffer }, 'autoscaler: scaling up');
    await this.act({ action: 'scale_up', reason, count, instanceId: null, provisionedIds: [], buffer }, async (d) => {
      const started = await p.start(count);
      d.provisionedIds = started.map((s) => s.id);
      for (const s of started) this.booting.add(s.id); // followed from now, even if it dies before the next list
      return {};
    });
  }

  private async drain(provisionedId: string, inst: InstanceInfo, buffer: { free: number; target: number }): Promise<void> {
    this.lastScaleAt = Date.now();
    this.logger.info({ instance: inst.id, provisionedId, ...buffer }, 'autoscaler: draining an empty instance to scale down');
    const ok = await this.act({ action: 'drain', reason: 'buffer', count: 1, instanceId: inst.id, provisionedIds: [provisionedId], buffer }, async () => {
      await this.host.drainInstance(inst.id);
      return { instanceId: inst.id };
    });
    if (ok) this.drained.set(provisionedId, { instanceId: inst.id, since: Date.now() });
  }

  private async scaleDown(provisionedId: string, instanceId: string, reason: AutoscalerDecision['reason'], buffer: { free: number; target: number }): Promise<void> {
    if ((await this.notYet('stop', provisionedId)) !== null) return;
    this.lastScaleAt = Date.now();
    this.logger.info({ instance: instanceId, provisionedId, reason }, 'autoscaler: stopping a drained instance');
    const ok = await this.act({ action: 'scale_down', reason, count: 1, instanceId, provisionedIds: [provisionedId], buffer }, async () => {
      await this.opts.provisioner.stop(provisionedId);
      return { instanceId };
    });
    if (ok) this.drained.delete(provisionedId);
  }

  /** Runs one decision as an operation of the log and reports it; `false` when it failed. */
  private async act(decision: Omit<AutoscalerDecision, 'provisioner' | 'ok' | 'error' | 'operationId' | 'at'>, fn: (d: AutoscalerDecision) => Promise<OperationOutcome>): Promise<boolean> {
    const name = this.opts.provisioner.name;
    const d: AutoscalerDecision = { ...decision, provisioner: name, ok: false, error: null, operationId: null, at: Date.now() };
    const params: Record<string, unknown> = { count: d.count, reason: d.reason, buffer: d.buffer, provisioner: name };
    if (d.provisionedIds.length === 1 && d.action !== 'scale_up') params.provisionedId = d.provisionedIds[0];
    try {
      const { operation } = await this.host.run({ roomId: '', op: d.action, source: 'autoscaler', actor: 'autoscaler', params, instanceId: d.instanceId }, (op) => {
        d.operationId = op.id;
        return fn(d);
      });
      d.operationId = operation.id;
      d.ok = true;
    } catch (err) {
      d.operationId = failedOperation(err)?.id ?? d.operationId;
      d.error = `${operationErrorCode(err)}: ${operationErrorMessage(err)}`;
      this.logger.warn({ action: d.action, instance: d.instanceId, error: d.error }, 'autoscaler: action failed; trying again at the next sync');
    }
    d.at = Date.now();
    this.state = { ...this.state, lastDecision: d };
    this.host.decided(d);
    return d.ok;
  }
}
