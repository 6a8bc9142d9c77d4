import type { Viewport } from '../render/coords.js';

/** A link the error overlay offers (e.g. "Watch as a spectator" when the room is full). */
export interface OverlayAction {
  /** The link text. */
  label: string;
  /** Where it goes (same-origin path). */
  href: string;
}

/** What the overlay shows. */
export type OverlayState =
  | { kind: 'connecting' }
  | { kind: 'reconnecting'; attempt: number }
  /** An error: "Error: <reason>", or with a `title` (e.g. "This game needs you to sign in") the title over the reason. */
  | { kind: 'error'; reason: string; title?: string; actions?: readonly OverlayAction[] }
  /** The game ended itself and the room closed: the `title` ("Game over") over the `reason` (the game's summary), not as an error. */
  | { kind: 'ended'; title: string; reason: string; actions?: readonly OverlayAction[] }
  | { kind: 'hidden' };

const BOX_STYLE = [
  'position:absolute',
  'left:50%',
  'top:50%',
  'transform:translate(-50%,-50%)',
  'max-width:80%',
  'padding:10px 18px',
  'border-radius:8px',
  'background:rgba(0,0,0,0.72)',
  'color:#fff',
  'font:15px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif',
  'text-align:center',
  'white-space:pre-wrap',
  'box-shadow:0 2px 12px rgba(0,0,0,0.4)',
].join(';');

const BADGE_STYLE = [
  'position:absolute',
  'top:8px',
  'right:8px',
  'padding:3px 9px',
  'border-radius:999px',
  'background:rgba(0,0,0,0.6)',
  'color:#fff',
  'font:600 12px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif',
  'letter-spacing:0.03em',
].join(';');

/**
 * A small DOM status overlay drawn over the canvas (it never takes pointer events):
 * "Connecting…", "Reconnecting… (attempt n)", "Error: <reason>" (with links to act on it, the only
 * part that takes pointer events), hidden while playing; plus a
 * "Spectating" badge in the top-right corner of the game area for spectators. It covers the
 * letterboxed game area (or the whole canvas) via {@link StatusOverlay.follow}.
 */
export class StatusOverlay {
  /** The overlay's root element (absolutely positioned over the canvas). */
  readonly element: HTMLDivElement;
  private readonly box: HTMLDivElement;
  private readonly badge: HTMLDivElement;
  private state: OverlayState = { kind: 'hidden' };

  constructor(private readonly canvas: HTMLCanvasElement) {
    const doc = canvas.ownerDocument;
    this.element = doc.createElement('div');
    this.element.className = 'parlor-overlay';
    this.element.style.cssText = 'position:absolute;pointer-events:none;overflow:hidden;z-index:10;left:0;top:0;width:0;height:0';
    this.box = doc.createElement('div');
    this.box.className = 'parlor-status';
    this.box.setAttribute('role', 'status');
    this.box.setAttribute('aria-live', 'polite');
    this.box.style.cssText = BOX_STYLE;
    this.badge = doc.createElement('div');
    this.badge.className = 'parlor-spectating';
    this.badge.textContent = 'Spectating';
    this.badge.style.cssText = BADGE_STYLE;
    this.element.append(this.box, this.badge);
    const parent = canvas.parentNode ?? doc.body;
    parent.insertBefore(this.element, canvas.nextSibling);
    this.set({ kind: 'connecting' });
    this.setSpectating(false);
    this.follow();
  }

  /** The text currently shown, `''` when hidden. */
  get text(): string {
    return this.state.kind === 'hidden' ? '' : (this.box.textContent ?? '');
  }

  /** Shows a state. */
  set(state: OverlayState): void {
    this.state = state;
    switch (state.kind) {
      case 'connecting':
        this.box.textContent = 'Connecting…';
        break;
      case 'reconnecting':
        this.box.textContent = `Reconnecting… (attempt ${state.attempt})`;
        break;
      case 'error':
      case 'ended': {
        if (state.title) {
          const doc = this.box.ownerDocument;
          const title = doc.createElement('div');
          title.className = state.kind === 'ended' ? 'parlor-ended-title' : 'parlor-error-title';
          title.style.cssText = 'font-weight:600;font-size:18px;margin-bottom:4px';
          title.textContent = state.title;
          const detail = doc.createElement('div');
          detail.style.cssText = 'font-size:13px;opacity:0.85';
          detail.textContent = state.reason;
          this.box.replaceChildren(title, detail);
        } else {
          this.box.textContent = `Error: ${state.reason}`;
        }
        const actions = state.actions ?? [];
        if (actions.length) {
          const doc = this.box.ownerDocument;
          const row = doc.createElement('div');
          row.className = 'parlor-actions';
          row.style.cssText = 'margin-top:8px;pointer-events:auto';
          for (const a of actions) {
            const link = doc.createElement('a');
            link.href = a.href;
            link.textContent = a.label;
            link.style.cssText = 'color:#fff;margin:0 8px;text-decoration:underline';
            row.append(link);
          }
          this.box.append(row);
        }
        break;
      }
      case 'hidden':
        this.box.textContent = '';
        break;
    }
    this.box.style.display = state.kind === 'hidden' ? 'none' : 'block';
    this.box.style.background = state.kind === 'error' ? 'rgba(127,29,29,0.9)' : 'rgba(0,0,0,0.72)';
    this.box.setAttribute('data-kind', state.kind);
  }

  /** Shows or hides the "Spectating" badge. */
  setSpectating(spectating: boolean): void {
    this.badge.style.display = spectating ? 'block' : 'none';
  }

  /**
   * Places the overlay over the game area `viewport` (canvas CSS px, e.g. the renderer's) or,
   * without one or while it is empty, over the whole canvas. Call after the canvas moved or resized.
   */
  follow(viewport?: Viewport): void {
    const c = this.canvas;
    const s = this.element.style;
    const vp = viewport && viewport.width > 0 && viewport.height > 0
      ? viewport
      : { x: 0, y: 0, width: c.offsetWidth, height: c.offsetHeight };
    s.left = `${c.offsetLeft + c.clientLeft + vp.x}px`;
    s.top = `${c.offsetTop + c.clientTop + vp.y}px`;
    s.width = `${vp.width}px`;
    s.height = `${vp.height}px`;
  }

  /** Removes the overlay from the page. */
  destroy(): void {
    this.element.remove();
  }
}
