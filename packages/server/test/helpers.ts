import {
  PROTOCOL_VERSION,
  SceneMirror,
  decodeServerMessage,
  encodeClientMessage,
  type ClientMessage,
  type InitMessage,
  type JoinMessage,
  type Node,
  type OrderResultMessage,
  type ServerMessage,
  type StateMessage,
  Text,
} from '@parlor/squish';
import { vi } from 'vitest';
import { WebSocket, type ClientOptions } from 'ws';
import { createGameServer, createLogger, type GameServer, type GameServerOptions, type Logger } from '@parlor/server';

/** Waits (vitest's `vi.waitFor`, polling every 5 ms) until `cond` holds; fails with `what` after `timeoutMs`. */
export async function waitFor(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  await vi.waitFor(
    async () => {
      if (!(await cond())) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    },
    { timeout: timeoutMs, interval: 5 },
  );
}

/** One log object as the server's pino logger wrote it (`level` as its label: `'warn'`…). */
export type LogRecord = { level: string; msg: string } & Record<string, unknown>;

/**
 * A pino logger (level debug) whose objects are kept in `logs` and whose raw JSON lines are kept
 * in `lines` (for "never appears anywhere in the log" checks).
 */
export function captureLogger(): { logger: Logger; logs: LogRecord[]; lines: string[] } {
  const logs: LogRecord[] = [];
  const lines: string[] = [];
  const labels: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };
  const destination = {
    write(line: string): void {
      lines.push(line);
      const rec = JSON.parse(line) as Record<string, unknown>;
      logs.push({ ...rec, level: labels[rec.level as number] ?? String(rec.level) } as LogRecord);
    },
  };
  return { logs, lines, logger: createLogger({ level: 'debug', destination }) };
}

/** Whether some record has message `msg` and every field of `fields` (compared with `===`). */
export function logged(logs: readonly LogRecord[], msg: string, fields: Record<string, unknown> = {}): boolean {
  return logs.some((l) => l.msg === msg && Object.entries(fields).every(([k, v]) => l[k] === v));
}

/** Starts a server on 127.0.0.1, port 0, with a capturing logger. */
export async function startServer(options: Omit<GameServerOptions, 'port' | 'host' | 'logger'>): Promise<{ server: GameServer; logs: LogRecord[]; lines: string[] }> {
  const { logger, logs, lines } = captureLogger();
  const server = await createGameServer({ ...options, port: 0, host: '127.0.0.1', logger });
  return { server, logs, lines };
}

/**
 * How long a join may wait for a room of the docker runtime: its container is created, started
 * and boots Node before the first frame (no warm pool), which on a loaded CI machine took over 5 s.
 */
export const DOCKER_ROOM_START_MS = 20_000;

/** A protocol-level test client over a real `ws` socket. */
export class TestClient {
  readonly messages: ServerMessage[] = [];
  readonly mirror = new SceneMirror();
  /** Raw bytes of every frame message received. */
  readonly frameBytes: Uint8Array[] = [];
  fullFrames = 0;
  framesApplied = 0;
  init: InitMessage | null = null;
  closeInfo: { code: number; reason: string } | null = null;
  /** The last `state` message (the room's status, open turn, next cutoff, reason), or `null` before one. */
  state: StateMessage | null = null;
  /** Every `state` message, in order. */
  readonly states: StateMessage[] = [];
  /** Every `orderResult` message, in order (answers to {@link order}, and id-0 refusals of input or clicks' orders). */
  readonly orderResults: OrderResultMessage[] = [];
  private nextOrderId = 1;
  readonly opened: Promise<void>;
  /** Errors decoding or applying what the server sent (should stay empty). */
  readonly errors: unknown[] = [];
  private readonly ws: WebSocket;

  /** `options` reach `ws` (e.g. `localAddress: '127.0.0.2'` to connect from another loopback address). */
  constructor(url: string, options?: ClientOptions) {
    this.ws = new WebSocket(url, options);
    this.ws.binaryType = 'nodebuffer';
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
    this.ws.on('error', () => {});
    this.ws.on('message', (data: Buffer) => {
      try {
        const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
        const msg = decodeServerMessage(bytes);
        this.messages.push(msg);
        if (msg.type === 'init') this.init = msg;
        if (msg.type === 'state') {
          this.state = msg;
          this.states.push(msg);
        }
        if (msg.type === 'orderResult') this.orderResults.push(msg);
        if (msg.type === 'frame') {
          this.frameBytes.push(bytes.slice());
          this.mirror.apply(bytes);
          this.framesApplied++;
          if (msg.full) this.fullFrames++;
        }
      } catch (err) {
        this.errors.push(err);
      }
    });
    this.ws.on('close', (code, reason) => {
      this.closeInfo = { code, reason: reason.toString() };
    });
  }

  static async connect(server: GameServer, options?: ClientOptions): Promise<TestClient> {
    const c = new TestClient(server.wsUrl, options);
    await c.opened;
    return c;
  }

  send(msg: ClientMessage): void {
    this.ws.send(encodeClientMessage(msg));
  }

  sendRaw(data: Uint8Array | string): void {
    this.ws.send(data);
  }

  join(game: string, more: Partial<JoinMessage> = {}): void {
    this.send({
      type: 'join',
      protocolVersion: PROTOCOL_VERSION,
      game,
      roomId: '',
      spectate: false,
      reconnectToken: '',
      ticket: '',
      name: '',
      clientInfo: 'test',
      ...more,
    });
  }

  /**
   * Joins and waits for `init` and the first full frame, up to `timeoutMs` (default 5 000; a room
   * of the docker runtime starts its own container first: give it {@link DOCKER_ROOM_START_MS}).
   */
  async joinAndSync(game: string, more: Partial<JoinMessage> = {}, timeoutMs = 5_000): Promise<InitMessage> {
    this.join(game, more);
    await waitFor(() => this.init !== null && this.fullFrames > 0, `init and a full frame for ${game}`, timeoutMs);
    return this.init!;
  }

  /**
   * Sends an order (`JSON.stringify(order)`, or `order` as is with `raw: true`, e.g. text that is
   * not JSON) with the next id of this socket (or `id`), and waits for the `orderResult` with that id.
   */
  async order(order: unknown, opts: { raw?: boolean; id?: number; timeoutMs?: number } = {}): Promise<{ accepted: boolean; code: string; message: string; turn: number; id: number }> {
    const id = opts.id ?? this.nextOrderId++;
    const text = opts.raw ? String(order) : JSON.stringify(order);
    this.send({ type: 'order', id, order: text });
    const r = await this.waitForOrderResult((m) => m.id === id, `orderResult for order ${id}`, opts.timeoutMs);
    return { id: r.id, accepted: r.accepted, code: r.code, message: r.message, turn: r.turn };
  }

  /**
   * Waits until the last `state` message ({@link state}) satisfies `pred`, and returns it. (A state
   * that came and went meanwhile does not count: look in {@link states} for those.)
   */
  async waitForState(pred: (s: StateMessage) => boolean, what = 'a matching state', timeoutMs = 5000): Promise<StateMessage> {
    await waitFor(() => this.state !== null && pred(this.state), `${what} (states so far: ${JSON.stringify(this.states)})`, timeoutMs);
    return this.state!;
  }

  /** Waits until an `orderResult` satisfying `pred` arrived, and returns the first such. */
  async waitForOrderResult(pred: (r: OrderResultMessage) => boolean, what = 'a matching orderResult', timeoutMs = 5000): Promise<OrderResultMessage> {
    let found: OrderResultMessage | undefined;
    await waitFor(() => (found = this.orderResults.find(pred)) !== undefined, what, timeoutMs);
    return found!;
  }

  /** Waits until `n` more frames have been applied than now. */
  async moreFrames(n: number, timeoutMs = 5000): Promise<void> {
    const target = this.framesApplied + n;
    await waitFor(() => this.framesApplied >= target, `${n} more frames (have ${this.framesApplied})`, timeoutMs);
  }

  async closed(timeoutMs = 5000): Promise<{ code: number; reason: string }> {
    await waitFor(() => this.closeInfo !== null, 'socket close', timeoutMs);
    return this.closeInfo!;
  }

  close(): void {
    this.ws.close();
  }

  /** Stops reading from the socket (the server's send buffer fills up). */
  pause(): void {
    this.ws.pause();
  }

  resume(): void {
    this.ws.resume();
  }

  /** Texts in the mirrored scene. */
  texts(): string[] {
    const out: string[] = [];
    for (const n of this.mirror.nodes.values()) if (n instanceof Text) out.push(n.text);
    return out;
  }

  /** The first mirrored node matching `pred`. */
  find<T extends Node>(pred: (n: Node) => n is T): T | undefined {
    for (const n of this.mirror.nodes.values()) if (pred(n)) return n;
    return undefined;
  }
}

/** Fetches a path of the server. */
export async function get(server: GameServer, path: string): Promise<{ status: number; headers: Headers; text: string }> {
  const res = await fetch(`${server.url}${path}`);
  return { status: res.status, headers: res.headers, text: await res.text() };
}
