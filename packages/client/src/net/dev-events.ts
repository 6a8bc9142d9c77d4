/**
 * Dev mode's link to the server's build status (`parlor dev` only): the shape of a game's status
 * as the server's `/parlor/dev/events` stream sends it ({@link DevState}, read defensively by
 * {@link parseDevState}), when a page should recover from an error ({@link DevRecovery}, pure), and
 * the `EventSource` subscription ({@link DevEvents}). Nothing here touches the DOM.
 */
import { Emitter } from '../emitter.js';

/** Path of the server's dev status event stream (`?game=<name>`). */
export const DEV_EVENTS_PATH = '/parlor/dev/events';

/** One problem in a game, at the author's file:line:column (the server's `GameDiagnostic`). */
export interface DevDiagnostic {
  /** `build` (bundling), `type` (TypeScript's checker), `load` (the module threw or is not a game), `room` (a room's game code threw). */
  kind: 'build' | 'type' | 'load' | 'room';
  /** `error` stops the game (or ended a room); `warning` does not. */
  severity: 'error' | 'warning';
  /** One line, without the location. */
  message: string;
  /** The author's file (absolute path), when known. */
  file?: string;
  /** 1-based line in `file`. */
  line?: number;
  /** 1-based column in `file`. */
  column?: number;
  /** Source lines around `line` with a marker under `column`, plain text. */
  codeFrame?: string;
}

/** A game's build status as the dev stream sends it. */
export interface DevState {
  /** The game's route name. */
  game: string;
  /** Increases by one on every report (0: a loaded game nothing was reported for). */
  revision: number;
  /** The last build loaded and is what new rooms run. */
  ok: boolean;
  /** Current diagnostics, errors first. */
  diagnostics: DevDiagnostic[];
  /** An id of the server process; when it changes, revisions started over. */
  server: string;
}

const KINDS = new Set(['build', 'type', 'load', 'room']);
const posInt = (v: unknown): number | undefined => (typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : undefined);
const text = (v: unknown, max: number): string | undefined => (typeof v === 'string' ? v.slice(0, max) : undefined);

/** A {@link DevState} from a stream event's parsed JSON, or `null` when it is not one (fields of the wrong type are dropped). */
export function parseDevState(data: unknown): DevState | null {
  if (typeof data !== 'object' || data === null) return null;
  const d = data as Record<string, unknown>;
  if (typeof d.game !== 'string' || typeof d.ok !== 'boolean' || typeof d.revision !== 'number' || !Number.isInteger(d.revision) || d.revision < 0) return null;
  const diagnostics: DevDiagnostic[] = [];
  for (const x of Array.isArray(d.diagnostics) ? d.diagnostics.slice(0, 100) : []) {
    if (typeof x !== 'object' || x === null) continue;
    const g = x as Record<string, unknown>;
    if (typeof g.message !== 'string') continue;
    diagnostics.push({
      kind: KINDS.has(g.kind as string) ? (g.kind as DevDiagnostic['kind']) : 'build',
      severity: g.severity === 'warning' ? 'warning' : 'error',
      message: g.message.slice(0, 4000),
      file: text(g.file, 1000),
      line: posInt(g.line),
      column: posInt(g.column),
      codeFrame: text(g.codeFrame, 16_000),
    });
  }
  return { game: d.game, revision: d.revision, ok: d.ok, diagnostics, server: typeof d.server === 'string' ? d.server : '' };
}

/** A state a game can be played in: its build loaded and nothing is an error (warnings allowed). */
export function isHealthy(state: DevState): boolean {
  return state.ok && !state.diagnostics.some((d) => d.severity === 'error');
}

/**
 * When a dev page should recover by itself: after trouble (an unhealthy state, the connection
 * stopping, or a page of a game that has not built), the first healthy state with a newer
 * revision than the trouble's. A stop seen before any state waits for a revision newer than the
 * first one the stream sends (that one may still be the broken build). A new `server` id means
 * revisions started over. Pure: feed it states and stops, act on its answers.
 */
export class DevRecovery {
  private server: string | null = null;
  private latest = -1;
  private trouble: boolean;
  /** Recover on a healthy revision above this; `null`: the next state sets it (a stop before any state). */
  private after: number | null = -1;

  /** @param pending the page is of a game that has not built yet (trouble from the start). */
  constructor(pending = false) {
    this.trouble = pending;
  }

  /** Whether the page is waiting for a fixed build. */
  get waiting(): boolean {
    return this.trouble;
  }

  /** A state arrived: `true` when the page should recover now (the trouble is then forgotten). */
  onState(state: DevState): boolean {
    if (this.server !== null && state.server !== this.server) {
      this.latest = -1;
      if (this.after !== null) this.after = -1;
    }
    this.server = state.server;
    this.latest = state.revision;
    if (this.after === null) {
      this.after = state.revision;
      return false;
    }
    if (!isHealthy(state)) {
      this.trouble = true;
      this.after = state.revision;
      return false;
    }
    if (this.trouble && state.revision > this.after) {
      this.trouble = false;
      return true;
    }
    return false;
  }

  /** The connection stopped (e.g. the room failed, 4500): recover on the next newer healthy state. */
  onStop(): void {
    this.trouble = true;
    this.after = this.server === null ? null : this.latest;
  }
}

/** Minimal `EventSource` constructor type (the browser's). */
export type EventSourceConstructor = new (url: string | URL) => EventSource;

/** Events of {@link DevEvents}. */
export interface DevEventsEvents {
  /** A state arrived (the current one first, then each change). */
  state: [state: DevState];
}

/**
 * A subscription to a game's dev status stream. The tabs of one browser share one stream per
 * game: a browser allows about six HTTP connections to a host, and a stream per tab would hold
 * them all with six tabs open (the seventh could not even load). One tab (holding a Web Lock)
 * reads the stream and passes each state to the others over a `BroadcastChannel`; when it goes
 * away another takes over. Without Web Locks (an `http:` page on a LAN address is not a secure
 * context) each tab reads its own stream. The browser's `EventSource` reconnects by itself after a
 * dropped connection (a restarting dev server); when the server refuses the stream (404, 503) it
 * is reopened after a delay doubling from 2 s to 30 s.
 */
export class DevEvents extends Emitter<DevEventsEvents> {
  private source: EventSource | null = null;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private retryMs = 2000;
  private started = false;
  private closed = false;
  private channel: BroadcastChannel | null = null;
  private releaseLock: (() => void) | null = null;
  private last: DevState | null = null;

  /**
   * @param url the stream's URL, e.g. `/parlor/dev/events?game=pong`
   * @param ES the `EventSource` implementation; default the browser's
   * @param share share one stream between the tabs (when the browser can); default true
   */
  constructor(
    private readonly url: string,
    private readonly ES: EventSourceConstructor | undefined = (globalThis as { EventSource?: EventSourceConstructor }).EventSource,
    private readonly share = true,
  ) {
    super();
  }

  /** Whether this tab reads the stream itself (rather than from another tab). */
  get reading(): boolean {
    return this.source !== null || this.retryTimer !== null;
  }

  /** Starts receiving states (nothing happens without an `EventSource`). Calling it again does nothing. */
  start(): void {
    if (this.closed || this.started || !this.ES) return;
    this.started = true;
    const locks = typeof navigator !== 'undefined' ? (navigator as Navigator & { locks?: LockManager }).locks : undefined;
    const BC = (globalThis as { BroadcastChannel?: typeof BroadcastChannel }).BroadcastChannel;
    if (!this.share || !locks || !BC) {
      this.open();
      return;
    }
    const name = `parlor:dev:${this.url}`;
    const channel = (this.channel = new BC(name));
    channel.onmessage = (ev: MessageEvent) => this.onShared(ev.data);
    locks
      .request(name, () =>
        new Promise<void>((release) => {
          if (this.closed) return release();
          this.releaseLock = release;
          this.open();
        }),
      )
      .catch(() => {
        if (!this.closed && !this.reading) this.open(); // no lock after all: read our own
      });
    // the reading tab answers with the state it has (the current state comes first, as from the stream)
    channel.postMessage({ type: 'hello' });
  }

  /** Stops receiving states for good (another tab takes the shared stream over). */
  close(): void {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.source?.close();
    this.source = null;
    this.releaseLock?.();
    this.releaseLock = null;
    this.channel?.close();
    this.channel = null;
  }

  private onShared(data: unknown): void {
    if (this.closed || typeof data !== 'object' || data === null) return;
    const msg = data as { type?: unknown; state?: unknown };
    if (msg.type === 'hello') {
      if (this.reading && this.last) this.channel?.postMessage({ type: 'state', state: this.last });
      return;
    }
    if (msg.type !== 'state' || this.reading) return;
    const state = parseDevState(msg.state);
    if (state) this.deliver(state);
  }

  private deliver(state: DevState): void {
    this.last = state;
    this.emit('state', state);
  }

  private open(): void {
    if (this.closed || this.source || !this.ES) return;
    const source = new this.ES(this.url);
    this.source = source;
    source.addEventListener('state', (ev) => {
      let data: unknown;
      try {
        data = JSON.parse(String((ev as MessageEvent).data));
      } catch {
        return;
      }
      const state = parseDevState(data);
      if (!state || this.source !== source) return;
      this.retryMs = 2000;
      this.deliver(state);
      this.channel?.postMessage({ type: 'state', state });
    });
    source.onerror = () => {
      if (source.readyState !== 2 || this.source !== source) return; // 2 = CLOSED: refused, not reconnecting
      source.close();
      this.source = null;
      this.retryTimer = setTimeout(() => {
        this.retryTimer = null;
        this.open();
      }, this.retryMs);
      this.retryMs = Math.min(30_000, this.retryMs * 2);
    };
  }
}
