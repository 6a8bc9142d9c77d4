/**
 * Dev mode in a page (`parlor dev`'s play pages): subscribes to the game's build status, shows it
 * in the {@link DevOverlay}, and recovers the page by itself when a fixed build arrives after an
 * error or after the connection stopped (see {@link DevRecovery}). Only pages started with
 * `dev: true` (or {@link startDevOverlay}) create one: outside dev mode none of this runs.
 */
import { DEV_EVENTS_PATH, DevEvents, DevRecovery, isHealthy, type DevState, type EventSourceConstructor } from '../net/dev-events.js';
import { DevOverlay } from './dev-overlay.js';

/** Options of {@link DevMode}. */
export interface DevModeOptions {
  /** The game's route name. */
  game: string;
  /** The page of a game that has not built yet: waiting from the start; default false. */
  pending?: boolean;
  /**
   * Whether the game is playing in this page now. A fixed build that arrives while it plays needs
   * no reload (the server redirects the room's clients to the new build); default never.
   */
  playing?: () => boolean;
  /** Brings the page to the fixed build (reload, or rejoin the room). */
  recover: () => void;
  /** The stream's URL; default `/parlor/dev/events?game=<game>` on this origin. */
  eventsUrl?: string;
  /** The page's document; default `document`. */
  document?: Document;
  /** `EventSource` implementation; default the browser's. */
  EventSource?: EventSourceConstructor;
}

/** A page's dev mode (see the module comment). */
export class DevMode {
  /** The overlay panel. */
  readonly overlay: DevOverlay;
  /** The last state the server sent, or `null` before the first. */
  state: DevState | null = null;
  /** The subscription to the game's status (shared with the browser's other tabs of this game). */
  readonly events: DevEvents;
  private readonly recovery: DevRecovery;
  private note = '';
  private closed = false;

  constructor(private readonly options: DevModeOptions) {
    this.overlay = new DevOverlay(options.document ?? document);
    this.recovery = new DevRecovery(options.pending === true);
    if (options.pending) this.note = `${options.game} has not built yet: this page loads it as soon as it builds.`;
    this.events = new DevEvents(options.eventsUrl ?? `${DEV_EVENTS_PATH}?game=${encodeURIComponent(options.game)}`, options.EventSource);
    this.events.on('state', (s) => this.onState(s));
    this.render();
    this.events.start();
  }

  /**
   * The connection stopped for good (e.g. the room failed, 4500): the overlay says so, and the
   * page recovers when a newer healthy build arrives.
   * @param reason what the client shows for the stop, e.g. "game failed (4500: …)"
   */
  stopped(reason: string): void {
    if (this.closed) return;
    this.recovery.onStop();
    this.note = `The connection stopped: ${reason}. Save a fix: this tab rejoins by itself when it builds.`;
    this.render();
  }

  /** Stops listening and removes the overlay. */
  close(): void {
    this.closed = true;
    this.events.close();
    this.overlay.destroy();
  }

  private onState(state: DevState): void {
    if (this.closed) return;
    this.state = state;
    const recover = this.recovery.onState(state);
    if (recover) {
      this.note = '';
      if (!(this.options.playing?.() ?? false)) {
        this.note = 'The fix built: loading it…';
        this.render();
        this.options.recover();
        return;
      }
    } else if (!this.recovery.waiting && isHealthy(state)) {
      this.note = '';
    }
    this.render();
  }

  private render(): void {
    this.overlay.show({ diagnostics: this.state?.diagnostics ?? [], note: this.note });
  }
}

/** Options of {@link startDevOverlay} (the play page's `data-*` attributes). */
export interface DevOverlayPageOptions {
  /** The game's route name. */
  game: string;
  /** The room the page was opened for (kept on reload). */
  roomId?: string;
  /** Whether the page is a spectator's. */
  spectate?: boolean;
}

/**
 * Dev mode of a play page whose game has not built yet (`parlor dev`, first build failed): shows
 * the game's errors and reloads the page once it builds. Never reloads more than once a second.
 * Also sets `window.__parlorDev` to it (tests and devtools read `state`).
 * @returns the dev mode (`close()` to stop it)
 */
export function startDevOverlay(options: DevOverlayPageOptions): DevMode {
  const mode = new DevMode({
    game: options.game,
    pending: true,
    recover: () => {
      const key = 'parlor:dev:reloaded';
      let last = 0;
      try {
        last = Number(sessionStorage.getItem(key) ?? 0);
      } catch {
        // storage disabled
      }
      setTimeout(() => {
        try {
          sessionStorage.setItem(key, String(Date.now()));
        } catch {
          // storage disabled
        }
        location.reload();
      }, Date.now() - last < 1000 ? 1000 : 0);
    },
  });
  if (typeof window !== 'undefined') (window as unknown as { __parlorDev?: DevMode }).__parlorDev = mode;
  return mode;
}
