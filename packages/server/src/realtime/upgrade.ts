/**
 * The WebSocket upgrade: requests to {@link WS_PATH} become {@link ClientConnection}s handled by
 * the handshake; this file keeps the set of open client connections (for shutdown, metrics and
 * the slow-client sweep).
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WS_PATH } from '@parlor/squish';
import { WebSocketServer, type WebSocket } from 'ws';
import { safePath } from '../http/url.js';
import type { ConnectionAdmission } from './admission.js';
import { ClientConnection, type ConnectionHost } from './connection.js';

/** What {@link Upgrades} needs. */
export interface UpgradeOptions {
  /** Largest client message accepted (`ws`'s `maxPayload`: larger ones close the socket with 1009). */
  readonly maxInputBytes: number;
  readonly admission: ConnectionAdmission;
  /** Who handles each connection's `join` (the handshake). */
  readonly host: ConnectionHost;
  /** Whether new sockets are accepted (listening and not shutting down); else 503. */
  accepting(): boolean;
}

/** The upgrade and the open client connections: see the file's opening comment. */
export class Upgrades {
  private readonly open = new Set<ClientConnection>();
  private readonly wss: WebSocketServer;

  constructor(private readonly o: UpgradeOptions) {
    this.wss = new WebSocketServer({ noServer: true, maxPayload: o.maxInputBytes, perMessageDeflate: false, clientTracking: false });
  }

  /** The open client connections. */
  get connections(): ReadonlySet<ClientConnection> {
    return this.open;
  }

  /** Bytes queued for every client socket together. */
  bufferedBytes(): number {
    let n = 0;
    for (const c of this.open) n += c.ws.bufferedAmount;
    return n;
  }

  /** The HTTP server's `upgrade` event. */
  onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    if (this.o.admission.isRefused(req.socket)) {
      socket.destroy();
      return;
    }
    const path = safePath(req.url);
    if (path !== WS_PATH) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    if (!this.o.accepting()) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      const conn = new ClientConnection(ws, req.socket.remoteAddress ?? '?', this.o.host, req.socket, req.headers);
      this.open.add(conn);
      ws.on('close', () => this.open.delete(conn));
    });
  }

  /** Starts closing every client socket with `code` (shutdown). */
  closeAll(code: number, reason: string): void {
    for (const c of this.open) {
      if (c.ws.readyState === c.ws.OPEN || c.ws.readyState === c.ws.CONNECTING) c.ws.close(code, reason);
    }
  }

  /** Waits up to `timeoutMs` for the clients to complete the closing handshake, then cuts what is left. */
  async drain(timeoutMs: number): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (this.open.size > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    for (const c of this.open) c.ws.terminate();
  }
}
