/**
 * The orchestrator's Prometheus metrics, in their own registry (never prom-client's global one,
 * so several orchestrators can live in one process), served at `GET /metrics`.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AuthCounters } from './auth/guard.js';
import type { AutoscalerStatus, FleetView } from './types.js';

/** Why an SSE consumer was dropped (label `reason` of `parlor_orchestrator_sse_dropped_total`): `overflow` = it stopped reading and its buffer passed the bound. */
export type SseDropReason = 'overflow';

/**
 * The orchestrator's metrics:
 * - `parlor_orchestrator_instances{state}` (gauge: live instances by `active`, `draining`, `stale`; a stale draining instance counts as stale)
 * - `parlor_orchestrator_instances_snapshot_refused` (gauge: live instances whose last full snapshot was refused, health `snapshot-refused`: out of placement)
 * - `parlor_orchestrator_rooms`, `parlor_orchestrator_clients` (gauges: rooms, and players + spectators as agents report them)
 * - `parlor_orchestrator_capacity{resource}` (gauge: declared `connections` / `rooms` of the non-stale instances)
 * - `parlor_orchestrator_placements_total{result}` (counter: room creates, `result` `ok` or the refusal's cause, e.g. `NO_CANDIDATE`, `COMMAND_TIMEOUT`)
 * - `parlor_orchestrator_command_duration_seconds{op,outcome}` (histogram: command sent → ack, `outcome` `ok`, `refused`, `timeout`, `disconnected`)
 * - `parlor_orchestrator_sse_consumers` (gauge: open event streams), `parlor_orchestrator_sse_dropped_total{reason}` (counter, see {@link SseDropReason})
 * - `parlor_orchestrator_auth_failures_total{role,result}` (counter: wrong or missing keys, `role` `agent` or `admin`, `result`
 *   `refused` (401, counted against the throttle) or `throttled` (429); read from the auth guard's counters at scrape time)
 * With an autoscaler ({@link OrchestratorMetrics.watchAutoscaler}), as of its last sync:
 * - `parlor_orchestrator_buffer_free_slots`, `parlor_orchestrator_buffer_target_slots` (gauges: free room slots, and the target it keeps)
 * - `parlor_orchestrator_provisioned_instances{state}` (gauge: provisioned instances, `starting` (not joined yet), `joined` (joined, not draining), `draining`)
 * The gauges of the read model are read at scrape time.
 */
export class OrchestratorMetrics {
  /** The registry holding every metric of this orchestrator. */
  readonly registry = new Registry();
  /** Room creates by result (`ok` or a `FleetCause`). */
  readonly placements: Counter<'result'>;
  /** Command round trips (seconds). */
  readonly commandSeconds: Histogram<'op' | 'outcome'>;
  /** Open SSE streams. */
  readonly sseConsumers: Gauge;
  /** SSE streams dropped by the orchestrator. */
  readonly sseDropped: Counter<'reason'>;

  /**
   * @param fleet the read model, read at scrape time.
   * @param auth the auth guard's counters since start, read at scrape time.
   */
  constructor(fleet: FleetView, auth: () => AuthCounters) {
    const registers = [this.registry];
    new Gauge({
      name: 'parlor_orchestrator_instances',
      help: 'Live instances by state (active, draining, stale)',
      labelNames: ['state'],
      registers,
      collect() {
        const s = fleet.stats;
        this.set({ state: 'stale' }, s.staleInstances);
        this.set({ state: 'draining' }, fleet.instances.filter((i) => i.status === 'draining' && !i.stale).length);
        this.set({ state: 'active' }, s.activeInstances);
      },
    });
    new Gauge({
      name: 'parlor_orchestrator_instances_snapshot_refused',
      help: 'Live instances whose last full snapshot was refused (out of placement until one is accepted)',
      registers,
      collect() {
        this.set(fleet.instances.filter((i) => i.health === 'snapshot-refused').length);
      },
    });
    new Gauge({
      name: 'parlor_orchestrator_rooms',
      help: 'Rooms in the read model',
      registers,
      collect() {
        this.set(fleet.stats.rooms);
      },
    });
    new Gauge({
      name: 'parlor_orchestrator_clients',
      help: 'Players and spectators in the rooms, as the agents report them',
      registers,
      collect() {
        this.set(fleet.stats.clients);
      },
    });
    new Gauge({
      name: 'parlor_orchestrator_capacity',
      help: 'Declared capacity of the non-stale instances, by resource (connections, rooms)',
      labelNames: ['resource'],
      registers,
      collect() {
        const c = fleet.stats.capacity;
        this.set({ resource: 'connections' }, c.maxConnections);
        this.set({ resource: 'rooms' }, c.maxRooms);
      },
    });
    this.placements = new Counter({ name: 'parlor_orchestrator_placements_total', help: 'Room creates by result: ok, or the cause of the refusal', labelNames: ['result'], registers });
    this.commandSeconds = new Histogram({
      name: 'parlor_orchestrator_command_duration_seconds',
      help: 'Commands from send to ack, by op and outcome (ok, refused, timeout, disconnected)',
      labelNames: ['op', 'outcome'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.sseConsumers = new Gauge({ name: 'parlor_orchestrator_sse_consumers', help: 'Open SSE event streams', registers });
    this.sseDropped = new Counter({ name: 'parlor_orchestrator_sse_dropped_total', help: 'SSE streams dropped by the orchestrator, by reason (overflow: the consumer stopped reading)', labelNames: ['reason'], registers });
    new Counter({
      name: 'parlor_orchestrator_auth_failures_total',
      help: 'Wrong or missing keys by role (agent, admin) and result (refused: 401, throttled: 429)',
      labelNames: ['role', 'result'],
      registers,
      collect() {
        const c = auth();
        this.reset();
        for (const role of ['agent', 'admin'] as const) {
          this.inc({ role, result: 'refused' }, c.failures[role]);
          this.inc({ role, result: 'throttled' }, c.throttled[role]);
        }
      },
    });
  }

  /** Registers the autoscaler's gauges, read from `status` at scrape time (once; later calls are ignored). */
  watchAutoscaler(status: () => AutoscalerStatus): void {
    const registers = [this.registry];
    if (this.registry.getSingleMetric('parlor_orchestrator_buffer_free_slots')) return;
    new Gauge({ name: 'parlor_orchestrator_buffer_free_slots', help: 'Free room slots of the live, undrained instances plus those of provisioned instances still booting (autoscaler, last sync)', registers, collect() { this.set(status().buffer.free); } });
    new Gauge({ name: 'parlor_orchestrator_buffer_target_slots', help: 'Free room slots the autoscaler keeps (its buffer, or the percentage of all slots)', registers, collect() { this.set(status().buffer.target); } });
    new Gauge({
      name: 'parlor_orchestrator_provisioned_instances',
      help: 'Instances the provisioner runs, by state: starting (not joined yet), joined (not draining), draining',
      labelNames: ['state'],
      registers,
      collect() {
        const i = status().instances;
        this.set({ state: 'starting' }, i.provisioned - i.joined);
        this.set({ state: 'joined' }, i.joined - i.draining);
        this.set({ state: 'draining' }, i.draining);
      },
    });
  }

  /** Counts one room create by its result: `ok`, or the cause it was refused with. */
  placement(result: string): void {
    this.placements.inc({ result });
  }

  /** Records one command's round trip (`ms`) by op and outcome. */
  command(op: string, outcome: string, ms: number): void {
    this.commandSeconds.observe({ op, outcome }, ms / 1000);
  }

  /** The Prometheus text exposition of every metric. */
  text(): Promise<string> {
    return this.registry.metrics();
  }
}
