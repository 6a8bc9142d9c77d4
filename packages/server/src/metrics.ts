import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Reasons a client's input is rejected (label `reason` of `parlor_input_rejected_total`). */
export type RejectReason =
  | 'malformed'
  | 'rate_limit'
  | 'too_big'
  | 'join_timeout'
  | 'reconnect_rejected'
  | 'not_found'
  | 'room_full'
  | 'version'
  | 'room_failed'
  | 'ticket_rejected'
  /** A join that would create a room while the server runs `maxRooms` (4503). */
  | 'server_busy'
  /** A join that would create a room while the server drains (4503): {@link GameServer.drain}. */
  | 'draining'
  /** A join that would create a room over `roomsPerAddressPerMinute` for its address (4429). */
  | 'room_rate'
  /** A spectator join over `maxSpectatorsPerRoom` (4409). */
  | 'spectators_full'
  /** A socket that did not read: over `maxBufferedBytes`, or over the watermark for `slowClientTimeoutMs` (4413). */
  | 'slow_client'
  /** An anonymous join to a game that needs a signed-in player (4402). */
  | 'auth_required'
  /** A signed-in player whose roles rank below the game's `minRole` (4407). */
  | 'role_required'
  /** An identity token that did not verify, or refused by the `authenticate` hook (4498). */
  | 'token_rejected';

/**
 * Why a TCP connection was refused at accept (label `reason` of `parlor_connections_refused_total`):
 * `server_full` over `maxConnections` (HTTP 503), `address_full` over `maxConnectionsPerAddress`
 * (HTTP 429), `accept_failed` the kernel refused the accept (e.g. `EMFILE`: out of file descriptors).
 */
export type ConnectionRefusedReason = 'server_full' | 'address_full' | 'accept_failed';

/** Live counts the gauges read at scrape time. */
export interface MetricsSource {
  rooms(): number;
  players(): number;
  spectators(): number;
  /** Open TCP connections (HTTP and WebSocket). Optional. */
  connections?(): number;
  /** Bytes queued in user space for every WebSocket (sum of `bufferedAmount`). Optional. */
  bufferedBytes?(): number;
}

/**
 * The server's Prometheus metrics, in their own {@link Registry} (never the global one, so
 * several servers can live in one process):
 * - `parlor_rooms`, `parlor_players`, `parlor_spectators` (gauges, read at scrape time)
 * - `parlor_frames_sent_total`, `parlor_bytes_sent_total` (counters: WebSocket frame messages
 *   and their bytes, to all sockets)
 * - `parlor_frames_skipped_total` (counter: frames withheld from sockets over the backpressure watermark)
 * - `parlor_tick_duration_seconds` (histogram: game tick + frame encoding, per tick)
 * - `parlor_input_rejected_total{reason}` (counter: sockets closed for bad input or over a capacity limit, see {@link RejectReason})
 * - `parlor_connections` (gauge: open TCP connections), `parlor_buffered_bytes` (gauge: bytes queued
 *   for all WebSockets), read at scrape time when the source provides them
 * - `parlor_connections_refused_total{reason}` (counter: TCP connections refused at accept, see {@link ConnectionRefusedReason})
 */
export class ServerMetrics {
  /** The registry holding every Parlor metric of this server. */
  readonly registry = new Registry();
  readonly framesSent: Counter;
  readonly bytesSent: Counter;
  readonly framesSkipped: Counter;
  readonly tickDuration: Histogram;
  readonly inputRejected: Counter<'reason'>;
  readonly connectionsRefused: Counter<'reason'>;

  constructor(source: MetricsSource) {
    const registers = [this.registry];
    new Gauge({
      name: 'parlor_rooms',
      help: 'Live game rooms',
      registers,
      collect() {
        this.set(source.rooms());
      },
    });
    new Gauge({
      name: 'parlor_players',
      help: 'Players in live rooms (including those within their reconnect grace period)',
      registers,
      collect() {
        this.set(source.players());
      },
    });
    new Gauge({
      name: 'parlor_spectators',
      help: 'Spectators in live rooms',
      registers,
      collect() {
        this.set(source.spectators());
      },
    });
    if (source.connections) {
      const read = source.connections.bind(source);
      new Gauge({
        name: 'parlor_connections',
        help: 'Open TCP connections (HTTP and WebSocket)',
        registers,
        collect() {
          this.set(read());
        },
      });
    }
    if (source.bufferedBytes) {
      const read = source.bufferedBytes.bind(source);
      new Gauge({
        name: 'parlor_buffered_bytes',
        help: 'Bytes queued in user space for all WebSockets (sum of bufferedAmount)',
        registers,
        collect() {
          this.set(read());
        },
      });
    }
    this.framesSent = new Counter({ name: 'parlor_frames_sent_total', help: 'Frame messages sent to clients', registers });
    this.bytesSent = new Counter({ name: 'parlor_bytes_sent_total', help: 'Bytes of frame messages sent to clients', registers });
    this.framesSkipped = new Counter({
      name: 'parlor_frames_skipped_total',
      help: 'Frames not sent because the socket was over the backpressure watermark',
      registers,
    });
    this.tickDuration = new Histogram({
      name: 'parlor_tick_duration_seconds',
      help: 'Time of one game tick including frame encoding',
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1],
      registers,
    });
    this.inputRejected = new Counter({
      name: 'parlor_input_rejected_total',
      help: 'Client sockets closed for bad input or over a capacity limit, by reason',
      labelNames: ['reason'],
      registers,
    });
    this.connectionsRefused = new Counter({
      name: 'parlor_connections_refused_total',
      help: 'TCP connections refused at accept, by reason (server_full, address_full, accept_failed)',
      labelNames: ['reason'],
      registers,
    });
  }

  /** Prometheus text exposition of every metric. */
  text(): Promise<string> {
    return this.registry.metrics();
  }
}
