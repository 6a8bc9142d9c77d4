import type { RoomState } from '@parlor/squish';
import type { OrderResult } from '../net/orders.js';

/**
 * A countdown as players read it: `0:27`, `12:05`, `3:04:05`, `2d 03:04:05` (rounded to the
 * nearest second: the server's clock is known to a few ms, so a 30 s turn reads `0:30`, not
 * `0:31`; negative counts as 0).
 * @param ms time left, in ms
 */
export function formatCountdown(ms: number): string {
  const total = Math.max(0, Math.round((Number.isFinite(ms) ? ms : 0) / 1000));
  const s = total % 60;
  const m = Math.floor(total / 60) % 60;
  const h = Math.floor(total / 3600) % 24;
  const d = Math.floor(total / 86400);
  const pad = (n: number) => String(n).padStart(2, '0');
  if (d > 0) return `${d}d ${pad(h)}:${pad(m)}:${pad(s)}`;
  if (h > 0) return `${h}:${pad(m)}:${pad(s)}`;
  return `${m}:${pad(s)}`;
}

/**
 * The banner text for a room state, or `null` when there is nothing to show (no state yet, or a
 * real-time game that is running):
 * - `paused` → `Paused — <reason>` (or `Paused`);
 * - `generation_in_progress` → `Turn N is being generated…`;
 * - `running` with a turn → `Turn N · next turn in 0:27` (or `Turn N` without a scheduled cutoff);
 * - `finished` → `Game over — <reason>` (or `Game over`).
 * @param state the room's state (`nextTurnAt` on the server's clock)
 * @param serverNow the server's time now, ms since the epoch
 */
export function roomStateText(state: RoomState | null, serverNow: number): string | null {
  if (!state) return null;
  switch (state.status) {
    case 'paused':
      return state.reason ? `Paused — ${state.reason}` : 'Paused';
    case 'generation_in_progress':
      return `Turn ${state.turn} is being generated…`;
    case 'finished':
      return state.reason ? `Game over — ${state.reason}` : 'Game over';
    case 'running':
      if (state.nextTurnAt !== null) return `Turn ${state.turn} · next turn in ${formatCountdown(state.nextTurnAt - serverNow)}`;
      return state.turn > 0 ? `Turn ${state.turn}` : null;
    default:
      return null;
  }
}

/**
 * What a player reads about an `orderResult`: the refusal phrased for players (`GAME_PAUSED`,
 * `TURN_ALREADY_CLOSED`, …; `ORDER_REJECTED` is the game's own message), `Order accepted` for
 * an accepted one.
 */
export function orderResultText(result: OrderResult): string {
  if (result.accepted) return 'Order accepted';
  switch (result.code) {
    case 'GAME_PAUSED':
      return 'The game is paused: nothing you do counts until it resumes.';
    case 'TURN_ALREADY_CLOSED':
      return `Turn ${result.turn} is closed and being generated: try again in a moment.`;
    case 'ORDER_REJECTED':
      return result.message || 'The game refused that order.';
    case 'GAME_FINISHED':
      return 'The game is over.';
    case 'SPECTATOR':
      return 'Spectators cannot give orders.';
    case 'NOT_TURN_BASED':
      return 'This game takes no orders.';
    case 'NOT_STORED':
      return 'Your order could not be saved and was not taken: try again.';
    case 'ORDER_INVALID':
      return `That order could not be read${result.message ? `: ${result.message}` : '.'}`;
    default:
      return result.message || `Refused (${result.code || 'no reason given'}).`;
  }
}

const BANNER_STYLE = [
  'position:absolute',
  'top:8px',
  'left:50%',
  'transform:translateX(-50%)',
  'max-width:70%',
  'padding:4px 12px',
  'border-radius:6px',
  'background:rgba(0,0,0,0.6)',
  'color:#fff',
  'font:600 13px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif',
  'text-align:center',
  'white-space:nowrap',
  'overflow:hidden',
  'text-overflow:ellipsis',
  'font-variant-numeric:tabular-nums',
].join(';');

const TOASTS_STYLE = [
  'position:absolute',
  'bottom:12px',
  'left:50%',
  'transform:translateX(-50%)',
  'max-width:80%',
  'display:flex',
  'flex-direction:column',
  'align-items:center',
  'gap:4px',
].join(';');

const TOAST_STYLE = [
  'padding:5px 12px',
  'border-radius:6px',
  'color:#fff',
  'font:13px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif',
  'text-align:center',
  'box-shadow:0 1px 6px rgba(0,0,0,0.35)',
].join(';');

/** Options of {@link RoomHud}. */
export interface RoomHudOptions {
  /** The server's time now, ms since the epoch; default `Date.now()`. */
  serverNow?: () => number;
  /** How long a refusal toast stays, ms; default 3500. */
  refusalMs?: number;
  /** How long an "Order accepted" toast stays, ms; default 1500. */
  acceptedMs?: number;
}

/**
 * The room's state over the game (inside a parent that covers the game area and takes no pointer
 * events, e.g. the {@link StatusOverlay}'s element): a small banner at the top centre
 * (`.parlor-room-state`: paused with the reason, the turn generating, the turn with a countdown
 * to its cutoff ticking every second, game over; hidden for a running real-time game) and toasts
 * at the bottom centre (`.parlor-toast`: refused orders and input, briefly an accepted click's
 * order). The same text twice replaces the toast showing it; at most 3 show at once.
 */
export class RoomHud {
  /** The banner element (`.parlor-room-state`). */
  readonly banner: HTMLDivElement;
  /** The toasts' container (`.parlor-toasts`). */
  readonly toasts: HTMLDivElement;
  private state: RoomState | null = null;
  private readonly serverNow: () => number;
  private readonly refusalMs: number;
  private readonly acceptedMs: number;
  private ticker: ReturnType<typeof setInterval> | null = null;
  private readonly timers = new Map<HTMLElement, ReturnType<typeof setTimeout>>();

  constructor(parent: HTMLElement, options: RoomHudOptions = {}) {
    this.serverNow = options.serverNow ?? (() => Date.now());
    this.refusalMs = options.refusalMs ?? 3500;
    this.acceptedMs = options.acceptedMs ?? 1500;
    const doc = parent.ownerDocument;
    this.banner = doc.createElement('div');
    this.banner.className = 'parlor-room-state';
    this.banner.setAttribute('role', 'status');
    this.banner.setAttribute('aria-live', 'polite');
    this.banner.style.cssText = BANNER_STYLE;
    this.banner.style.display = 'none';
    this.toasts = doc.createElement('div');
    this.toasts.className = 'parlor-toasts';
    this.toasts.setAttribute('aria-live', 'assertive');
    this.toasts.style.cssText = TOASTS_STYLE;
    parent.append(this.banner, this.toasts);
  }

  /** The banner's text now, `''` when hidden. */
  get text(): string {
    return this.banner.style.display === 'none' ? '' : (this.banner.textContent ?? '');
  }

  /**
   * Shows a room state (`null`: hide the banner). A countdown ticks until the state changes. A new
   * status dismisses the toasts of refusals it made stale (`GAME_PAUSED`, `TURN_ALREADY_CLOSED`).
   */
  setState(state: RoomState | null): void {
    if (state?.status !== this.state?.status) {
      for (const el of [...this.toasts.children] as HTMLElement[]) {
        if (el.dataset.code === 'GAME_PAUSED' || el.dataset.code === 'TURN_ALREADY_CLOSED') this.dismiss(el);
      }
    }
    this.state = state;
    this.render();
    const ticking = state?.status === 'running' && state.nextTurnAt !== null;
    if (ticking && !this.ticker) this.ticker = setInterval(() => this.render(), 250);
    if (!ticking && this.ticker) {
      clearInterval(this.ticker);
      this.ticker = null;
    }
  }

  /** Shows a toast for an order's answer ({@link orderResultText}); refusals stay longer and look different. */
  showOrderResult(result: OrderResult): void {
    this.toast(orderResultText(result), result.accepted ? 'accepted' : 'refused', result.code);
  }

  /** Shows a transient toast with `text` (`code`, the refusal's, kept as its `data-code`). */
  toast(text: string, kind: 'refused' | 'accepted' = 'refused', code = ''): void {
    for (const el of [...this.toasts.children] as HTMLElement[]) if (el.textContent === text) this.dismiss(el);
    while (this.toasts.children.length >= 3) this.dismiss(this.toasts.firstElementChild as HTMLElement);
    const el = this.toasts.ownerDocument.createElement('div');
    el.className = `parlor-toast parlor-toast-${kind}`;
    el.setAttribute('role', kind === 'refused' ? 'alert' : 'status');
    el.style.cssText = TOAST_STYLE;
    el.style.background = kind === 'refused' ? 'rgba(127,29,29,0.88)' : 'rgba(20,83,45,0.8)';
    el.textContent = text;
    if (code) el.dataset.code = code;
    this.toasts.append(el);
    this.timers.set(el, setTimeout(() => this.dismiss(el), kind === 'refused' ? this.refusalMs : this.acceptedMs));
  }

  /** Removes the banner and toasts and stops the countdown. */
  destroy(): void {
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = null;
    for (const el of [...this.timers.keys()]) this.dismiss(el);
    this.banner.remove();
    this.toasts.remove();
  }

  private dismiss(el: HTMLElement): void {
    const t = this.timers.get(el);
    if (t) clearTimeout(t);
    this.timers.delete(el);
    el.remove();
  }

  private render(): void {
    const text = roomStateText(this.state, this.serverNow());
    if (text === null) {
      this.banner.style.display = 'none';
      this.banner.textContent = '';
      return;
    }
    if (this.banner.textContent !== text) this.banner.textContent = text;
    this.banner.style.display = 'block';
    const s = this.state?.status;
    this.banner.style.background = s === 'paused' ? 'rgba(146,64,14,0.9)' : s === 'finished' ? 'rgba(30,41,59,0.9)' : 'rgba(0,0,0,0.6)';
  }
}
