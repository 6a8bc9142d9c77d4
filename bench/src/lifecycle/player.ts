/**
 * A bench player over a real WebSocket: joins a room, keeps the arrival time (wall clock, ms) of
 * every frame and `state`, sends orders and counts their answers. No scene is decoded (frames are
 * only timed), so 800 of them stay cheap for the process that holds them.
 */
import { WebSocket } from 'ws';
import { PROTOCOL_VERSION, decodeServerMessage, encodeClientMessage, type StateMessage } from '@parlor/squish';
import { until, wall } from './stats.js';

/** A frame's arrival. */
export interface FrameSeen {
  at: number;
  full: boolean;
}

/** A `state` message and its arrival. */
export interface StateSeen {
  at: number;
  state: StateMessage;
}

export class Player {
  readonly frames: FrameSeen[] = [];
  readonly states: StateSeen[] = [];
  /** Answers to orders by id: accepted or the refusal's code. */
  readonly answers = new Map<number, string>();
  /** When each order's answer arrived (wall ms), by id. */
  readonly answeredAt = new Map<number, number>();
  closed = false;
  private nextOrderId = 1;

  private constructor(private readonly ws: WebSocket) {}

  /** Connects to `wsUrl` and joins `roomId` of `game`; resolves once the first `state` and frame arrived. */
  static async join(wsUrl: string, game: string, roomId: string, name: string, keepFrames = true): Promise<Player> {
    const ws = new WebSocket(wsUrl);
    const p = new Player(ws);
    let failure: Error | null = null;
    ws.on('error', (err) => (failure = err));
    ws.on('close', () => (p.closed = true));
    ws.on('message', (data: Buffer) => {
      const at = wall();
      const msg = decodeServerMessage(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      if (msg.type === 'frame') {
        if (keepFrames || p.frames.length === 0) p.frames.push({ at, full: msg.full });
      } else if (msg.type === 'state') p.states.push({ at, state: msg });
      else if (msg.type === 'orderResult') {
        p.answers.set(msg.id, msg.accepted ? 'accepted' : msg.code);
        p.answeredAt.set(msg.id, at);
      }
      else if (msg.type === 'error') failure = new Error(`join ${roomId}: ${JSON.stringify(msg)}`);
    });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    ws.send(encodeClientMessage({ type: 'join', protocolVersion: PROTOCOL_VERSION, game, roomId, spectate: false, reconnectToken: '', ticket: '', name, clientInfo: 'bench' }));
    await until(() => failure !== null || (p.states.length > 0 && p.frames.length > 0), `${name}'s first state and frame in ${roomId}`);
    if (failure) throw failure;
    return p;
  }

  /** Sends an order (JSON text); returns its id. */
  order(value: unknown): number {
    const id = this.nextOrderId++;
    this.ws.send(encodeClientMessage({ type: 'order', id, order: JSON.stringify(value) }));
    return id;
  }

  close(): void {
    this.ws.close();
  }
}
