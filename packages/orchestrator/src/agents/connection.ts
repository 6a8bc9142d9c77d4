/** One agent's WebSocket and the protocol state of the hub for it. */
import { randomBytes } from 'node:crypto';
import type { WebSocket } from 'ws';
import { encodeFrame, type FleetFrame } from '@parlor/fleet-agent';
import type { TokenBucket } from '@parlor/squish';
import type { Logger } from '../logger.js';
import type { InstanceRecord } from '../registry/instance.js';
import type { CommandChannel, PendingCommand } from './commands.js';

/** One agent connection (before and after its hello). */
export class AgentConnection implements CommandChannel {
  /** Its read-model record, from the hello on. */
  record: InstanceRecord<AgentConnection> | null = null;
  welcomed = false;
  closed = false;
  /** Hash of the last good snapshot (`null`: ask for a full one). */
  hash: string | null = null;
  pollSeq = 0;
  pollOutstanding: number | null = null;
  pollAgain = false;
  missed = 0;
  polls = 0;
  /** When the outstanding (or last) poll was sent, `performance.now()`. */
  pollSentAt = 0;
  /** This connection's epoch, sent in `welcome` and in every command: the agent runs only commands carrying it. */
  readonly session: string = randomBytes(9).toString('base64url');
  /** The protocol minor version of the agent's hello (1.3+ runs `roomOp` commands). */
  minor = 0;
  /** The agent speaks protocol 1.2+, whose snapshots list the creates still running (`creating`). */
  reportsCreating = false;
  /** Room ids the last good snapshot listed as still being created. */
  creating: ReadonlySet<string> = new Set();
  /** Its `dirty` nudge rate limit (created on the first nudge). */
  dirtyBucket: TokenBucket | null = null;
  /** Its `roomEvent` rate limit (created on the first event). */
  eventBucket: TokenBucket | null = null;
  /** Room events it sent that failed their kind's schema (dropped). */
  badEvents = 0;
  /** Its `place` rate limit (created on the first `place`). */
  placeBucket: TokenBucket | null = null;
  /** Correlation ids of unanswered `place` frames. */
  readonly placing = new Set<number>();
  /** Commands in flight (written by the command RPC only). */
  readonly inflight = new Map<number, PendingCommand>();

  constructor(
    readonly ws: WebSocket,
    readonly ip: string,
    readonly keyFp: string,
    /** Its logger (with `ip`; from the hello on also `instance`). */
    public log: Logger,
  ) {}

  get inflightCount(): number {
    return this.inflight.size;
  }

  /** Sends a frame if the socket is open. */
  send(f: FleetFrame): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(encodeFrame(f));
  }
}
