/**
 * Connection admission: every TCP connection (HTTP or WebSocket) is counted at accept, in total
 * and per source address ({@link addressKey}); over the caps it is answered 503 / 429 and closed
 * before any request is read. Errors of `accept` itself (EMFILE…) are counted and logged here too.
 */
import type { Socket } from 'node:net';
import type { Logger } from '../logger.js';
import type { ConnectionRefusedReason, ServerMetrics } from '../metrics.js';
import { addressKey } from '../rate-limit.js';

/** Caps of {@link ConnectionAdmission}. */
export interface ConnectionCaps {
  /** Most open TCP connections, every address together. */
  readonly maxConnections: number;
  /** Most open TCP connections from one source address. */
  readonly maxConnectionsPerAddress: number;
}

/** Counts and caps TCP connections: see the file's opening comment. */
export class ConnectionAdmission {
  /** Open TCP connections, in total and by address key. */
  private tcpOpen = 0;
  private readonly tcpByAddress = new Map<string, number>();
  /** Sockets refused at accept (their requests are ignored). */
  private readonly refused = new WeakSet<Socket>();
  private lastErrorLog = 0;
  private suppressedErrors = 0;

  constructor(
    private readonly caps: ConnectionCaps,
    private readonly metrics: ServerMetrics,
    private readonly logger: Logger,
  ) {}

  /** Open TCP connections now. */
  get open(): number {
    return this.tcpOpen;
  }

  /** Whether `socket` was refused at accept (a request or upgrade on it is to be ignored and the socket destroyed). */
  isRefused(socket: Socket): boolean {
    return this.refused.has(socket);
  }

  /**
   * The HTTP server's `connection` event: counts the socket, or, over
   * {@link ConnectionCaps.maxConnections} answers 503, over
   * {@link ConnectionCaps.maxConnectionsPerAddress} 429, and closes it.
   */
  onConnection(socket: Socket): void {
    socket.on('error', () => socket.destroy());
    const ip = socket.remoteAddress;
    if (ip === undefined) {
      socket.destroy();
      return;
    }
    const key = addressKey(ip);
    const mine = this.tcpByAddress.get(key) ?? 0;
    const { maxConnections, maxConnectionsPerAddress } = this.caps;
    if (this.tcpOpen >= maxConnections) return this.refuse(socket, 'server_full', 503, 'Service Unavailable', 'the server is at its connection limit; try again later', ip);
    if (mine >= maxConnectionsPerAddress) return this.refuse(socket, 'address_full', 429, 'Too Many Requests', 'too many connections from your address', ip);
    this.tcpOpen++;
    this.tcpByAddress.set(key, mine + 1);
    socket.once('close', () => {
      this.tcpOpen--;
      const n = (this.tcpByAddress.get(key) ?? 1) - 1;
      if (n <= 0) this.tcpByAddress.delete(key);
      else this.tcpByAddress.set(key, n);
    });
  }

  /** The HTTP server's `error` event after `listen` (from accept: the connection is lost, nothing else). Never throws; logged at most once a second. */
  onServerError(err: Error & { code?: string }): void {
    const code = typeof err?.code === 'string' ? err.code : 'unknown';
    if (code === 'EMFILE' || code === 'ENFILE' || (err as { syscall?: unknown })?.syscall === 'accept') this.metrics.connectionsRefused.inc({ reason: 'accept_failed' });
    this.throttledLog('http server error', { code, open: this.tcpOpen, error: typeof err?.message === 'string' ? err.message : 'unknown error' });
  }

  private refuse(socket: Socket, reason: ConnectionRefusedReason, status: number, statusText: string, body: string, ip: string): void {
    this.refused.add(socket);
    this.metrics.connectionsRefused.inc({ reason });
    this.throttledLog('connection refused', { reason, ip, open: this.tcpOpen, max: this.caps.maxConnections, maxPerAddress: this.caps.maxConnectionsPerAddress });
    const text = `${body}\n`;
    socket.end(`HTTP/1.1 ${status} ${statusText}\r\nConnection: close\r\nRetry-After: 5\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`);
    // Never wait for a peer that does not read.
    const timer = setTimeout(() => socket.destroy(), 1000);
    timer.unref?.();
    socket.once('close', () => clearTimeout(timer));
  }

  /** Logs a warning at most once a second (floods of refusals must not flood the log), with the count of lines skipped (`suppressed`). */
  private throttledLog(msg: string, fields: Record<string, unknown>): void {
    const now = Date.now();
    if (now - this.lastErrorLog < 1000) {
      this.suppressedErrors++;
      return;
    }
    const skipped = this.suppressedErrors;
    this.lastErrorLog = now;
    this.suppressedErrors = 0;
    this.logger.warn(skipped ? { ...fields, suppressed: skipped } : fields, msg);
  }
}
