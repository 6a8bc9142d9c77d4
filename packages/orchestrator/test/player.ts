/**
 * A player of the orchestrator's tests over a real socket to a game server: joins a room, mirrors
 * its scene from the frames (squish's SceneMirror), keeps the `state` messages and `orderResult`s,
 * and sends orders, waiting for their answer.
 */
import { PROTOCOL_VERSION, SceneMirror, Text, decodeServerMessage, encodeClientMessage, type ClientMessage, type OrderResultMessage, type StateMessage } from '@parlor/squish';
import { WebSocket } from 'ws';
import { waitFor } from './helpers.js';

/** See the file's opening comment. */
export class Player {
  private readonly mirror = new SceneMirror();
  private readonly ws: WebSocket;
  private nextOrder = 1;
  /** Full frames applied (the first one, and one after every engine swap). */
  fullFrames = 0;
  /** The last `state` message. */
  state: StateMessage | null = null;
  readonly orderResults: OrderResultMessage[] = [];
  /** How the socket closed, `null` while open. */
  closeInfo: { code: number } | null = null;

  private constructor(wsUrl: string) {
    this.ws = new WebSocket(wsUrl);
    this.ws.on('error', () => undefined);
    this.ws.on('close', (code) => (this.closeInfo = { code }));
    this.ws.on('message', (data: Buffer) => {
      const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      const msg = decodeServerMessage(bytes);
      if (msg.type === 'state') this.state = msg;
      if (msg.type === 'orderResult') this.orderResults.push(msg);
      if (msg.type === 'frame') {
        this.mirror.apply(bytes);
        if (msg.full) this.fullFrames++;
      }
    });
  }

  /** Connects to `wsUrl`, joins `roomId` of `game` and waits for its first full frame. */
  static async join(wsUrl: string, game: string, roomId: string): Promise<Player> {
    const p = new Player(wsUrl);
    await new Promise<void>((resolve, reject) => {
      p.ws.once('open', () => resolve());
      p.ws.once('error', reject);
    });
    p.send({ type: 'join', protocolVersion: PROTOCOL_VERSION, game, roomId, spectate: false, reconnectToken: '', ticket: '', name: 'ann', clientInfo: 'test' });
    await waitFor(() => p.fullFrames > 0, `a full frame of ${roomId}`);
    return p;
  }

  /** Every text of the mirrored scene. */
  texts(): string[] {
    const out: string[] = [];
    for (const n of this.mirror.nodes.values()) if (n instanceof Text) out.push(n.text);
    return out;
  }

  /** Sends an order (as JSON) and waits for its `orderResult`. */
  async order(order: unknown): Promise<OrderResultMessage> {
    const id = this.nextOrder++;
    this.send({ type: 'order', id, order: JSON.stringify(order) });
    let found: OrderResultMessage | undefined;
    await waitFor(() => (found = this.orderResults.find((r) => r.id === id)) !== undefined, `the answer to order ${id}`);
    return found!;
  }

  /** Waits until the last `state` satisfies `pred`. */
  async waitForState(pred: (s: StateMessage) => boolean, what: string): Promise<void> {
    await waitFor(() => this.state !== null && pred(this.state), what);
  }

  /** Waits until the socket closed. */
  async closed(): Promise<{ code: number }> {
    await waitFor(() => this.closeInfo !== null, 'the socket closed');
    return this.closeInfo!;
  }

  close(): void {
    this.ws.close();
  }

  private send(msg: ClientMessage): void {
    this.ws.send(encodeClientMessage(msg));
  }
}
