import type { GamepadState, InputEvent, Node } from '@parlor/squish';
import { canvasToPlane, insidePlane, type PlanePoint, type Viewport } from '../render/coords.js';

/** Options of {@link InputController}. */
export interface InputOptions {
  /** The game canvas: pointer events are read on it (it gets `touch-action: none`). */
  canvas: HTMLCanvasElement;
  /** Sends one input event to the server. */
  send: (event: InputEvent) => void;
  /** The letterboxed game area in canvas CSS pixels (e.g. `renderer.viewport`). */
  viewport: () => Viewport;
  /** Finds the clickable node under a plane point (e.g. {@link hitTest} on the mirror), or `null`. */
  hitTest?: (x: number, y: number) => Node | null;
  /** Whether game input is sent at all; spectators return `false`. Default always `true`. */
  enabled?: () => boolean;
  /** Where keyboard, blur and gamepad events are listened for; default `window`. */
  keyTarget?: Window;
}

/** Keys whose default action (scrolling the page) is suppressed. */
const SCROLL_KEYS = new Set([' ', 'Spacebar', 'ArrowUp', 'ArrowDown', 'ArrowLeft', 'ArrowRight', 'PageUp', 'PageDown']);

/** Least time between two `pointermove` events, ms (≤ 60/s even on 120 Hz screens, under the server's input rate limit). */
const MOVE_INTERVAL_MS = 16;
/** Least time between two `gamepad` events of one pad, ms (≤ 30/s). */
const GAMEPAD_INTERVAL_MS = 33;

/** Gamepad values are rounded to this step so analogue noise does not flood the server. */
const GAMEPAD_STEP = 0.01;
/** Axis values within this of 0 count as 0. */
const GAMEPAD_DEADZONE = 0.08;

/**
 * Turns browser input into Parlor input events, in plane units of the letterboxed viewport:
 *
 * - keyboard: `keydown`/`keyup` with `event.key`; auto-repeat is ignored; arrows, space and
 *   page keys do not scroll the page; held keys are released (keyup sent) when the window
 *   loses focus or the page is hidden. Keys typed into form fields are left alone.
 * - pointer (mouse, pen, touch through Pointer Events; the canvas gets `touch-action: none`):
 *   `pointerdown` (then a `click` with the id of the topmost clickable node under the point,
 *   if any), `pointerup`, and `pointermove` coalesced to at most one per animation frame
 *   (and at most one per 16 ms). Presses on the letterbox bars are ignored.
 * - gamepads: polled every animation frame while one is connected; a `gamepad` event is
 *   sent when a pad's (rounded) buttons or axes change, at most one per 33 ms per pad.
 *
 * While `enabled()` is false (spectators) nothing is sent.
 */
export class InputController {
  private readonly canvas: HTMLCanvasElement;
  private readonly send: (event: InputEvent) => void;
  private readonly viewport: () => Viewport;
  private readonly hit: (x: number, y: number) => Node | null;
  private readonly enabled: () => boolean;
  private readonly win: Window;
  private readonly held = new Set<string>();
  private pendingMove: PlanePoint | null = null;
  private moveRaf = 0;
  private lastMoveAt = -Infinity;
  private padRaf = 0;
  /** Per pad: the last state sent (signature) and when. */
  private readonly pads = new Map<number, { sig: string; at: number }>();
  /** Pointers whose `pointerdown` was sent (their `pointerup` follows). */
  private readonly down = new Set<number>();
  private attached = false;

  constructor(options: InputOptions) {
    this.canvas = options.canvas;
    this.send = options.send;
    this.viewport = options.viewport;
    this.hit = options.hitTest ?? (() => null);
    this.enabled = options.enabled ?? (() => true);
    this.win = options.keyTarget ?? window;
  }

  /** Keys currently held (as sent to the server). */
  get heldKeys(): ReadonlySet<string> {
    return this.held;
  }

  /** Starts listening. */
  attach(): void {
    if (this.attached) return;
    this.attached = true;
    const c = this.canvas;
    c.style.touchAction = 'none';
    c.style.userSelect = 'none';
    (c.style as CSSStyleDeclaration & { webkitUserSelect?: string }).webkitUserSelect = 'none';
    c.addEventListener('pointerdown', this.onPointerDown);
    c.addEventListener('pointermove', this.onPointerMove);
    c.addEventListener('pointerup', this.onPointerUp);
    c.addEventListener('pointercancel', this.onPointerUp);
    c.addEventListener('contextmenu', this.onContextMenu);
    this.win.addEventListener('keydown', this.onKeyDown);
    this.win.addEventListener('keyup', this.onKeyUp);
    this.win.addEventListener('blur', this.releaseAll);
    this.win.document.addEventListener('visibilitychange', this.onVisibility);
    this.win.addEventListener('gamepadconnected', this.onGamepadConnected);
    if (this.hasGamepads()) this.pollGamepads();
  }

  /** Stops listening (held keys are released first). */
  detach(): void {
    if (!this.attached) return;
    this.releaseAll();
    this.attached = false;
    const c = this.canvas;
    c.removeEventListener('pointerdown', this.onPointerDown);
    c.removeEventListener('pointermove', this.onPointerMove);
    c.removeEventListener('pointerup', this.onPointerUp);
    c.removeEventListener('pointercancel', this.onPointerUp);
    c.removeEventListener('contextmenu', this.onContextMenu);
    this.win.removeEventListener('keydown', this.onKeyDown);
    this.win.removeEventListener('keyup', this.onKeyUp);
    this.win.removeEventListener('blur', this.releaseAll);
    this.win.document.removeEventListener('visibilitychange', this.onVisibility);
    this.win.removeEventListener('gamepadconnected', this.onGamepadConnected);
    if (this.moveRaf) this.win.cancelAnimationFrame(this.moveRaf);
    if (this.padRaf) this.win.cancelAnimationFrame(this.padRaf);
    this.moveRaf = this.padRaf = 0;
    this.pendingMove = null;
    this.down.clear();
  }

  /** Sends `keyup` for every held key (window blur, page hidden, detach). */
  readonly releaseAll = (): void => {
    const keys = [...this.held];
    this.held.clear();
    for (const key of keys) this.emit({ kind: 'keyup', key });
  };

  private emit(event: InputEvent): void {
    if (this.enabled()) this.send(event);
  }

  // ---------------------------------------------------------------- keyboard

  private readonly onKeyDown = (e: KeyboardEvent): void => {
    if (isEditable(e.target)) return;
    if (SCROLL_KEYS.has(e.key) && !e.ctrlKey && !e.metaKey && !e.altKey) e.preventDefault();
    if (e.repeat || e.isComposing || !e.key || e.key === 'Unidentified') return;
    if (this.held.has(e.key)) return;
    this.held.add(e.key);
    this.emit({ kind: 'keydown', key: e.key });
  };

  private readonly onKeyUp = (e: KeyboardEvent): void => {
    if (SCROLL_KEYS.has(e.key)) e.preventDefault();
    if (!this.held.delete(e.key)) {
      // the key's case may have changed while held (Shift released first): release its other case
      const other = e.key.length === 1 ? (e.key === e.key.toLowerCase() ? e.key.toUpperCase() : e.key.toLowerCase()) : '';
      if (!other || !this.held.delete(other)) return;
      this.emit({ kind: 'keyup', key: other });
      return;
    }
    this.emit({ kind: 'keyup', key: e.key });
  };

  private readonly onVisibility = (): void => {
    if (this.win.document.visibilityState === 'hidden') this.releaseAll();
  };

  // ---------------------------------------------------------------- pointer

  private toPlane(e: PointerEvent): PlanePoint {
    const rect = this.canvas.getBoundingClientRect();
    return canvasToPlane(this.viewport(), e.clientX - rect.left, e.clientY - rect.top);
  }

  private readonly onPointerDown = (e: PointerEvent): void => {
    if (e.pointerType === 'mouse' && e.button !== 0) return;
    const p = this.toPlane(e);
    if (!insidePlane(p)) return;
    e.preventDefault();
    try {
      this.canvas.setPointerCapture(e.pointerId);
    } catch {
      // the pointer may already be gone
    }
    this.flushMove();
    this.down.add(e.pointerId);
    this.emit({ kind: 'pointerdown', x: p.x, y: p.y });
    if (!this.enabled()) return;
    const node = this.hit(p.x, p.y);
    if (node) this.emit({ kind: 'click', nodeId: node.id, x: p.x, y: p.y });
  };

  private readonly onPointerMove = (e: PointerEvent): void => {
    const p = this.toPlane(e);
    if (!insidePlane(p) && !this.canvas.hasPointerCapture?.(e.pointerId)) return;
    this.pendingMove = p;
    if (!this.moveRaf) this.moveRaf = this.win.requestAnimationFrame(this.onMoveFrame);
  };

  /** Animation-frame callback: sends the pending move unless the last one was too recent. */
  private readonly onMoveFrame = (time: number): void => {
    this.moveRaf = 0;
    if (time - this.lastMoveAt < MOVE_INTERVAL_MS) {
      this.moveRaf = this.win.requestAnimationFrame(this.onMoveFrame);
      return;
    }
    this.flushMove();
  };

  /** Sends the pending move now (before a press or release, to keep the order). */
  private readonly flushMove = (): void => {
    if (this.moveRaf) this.win.cancelAnimationFrame(this.moveRaf);
    this.moveRaf = 0;
    const p = this.pendingMove;
    this.pendingMove = null;
    if (!p) return;
    this.lastMoveAt = this.win.performance.now();
    this.emit({ kind: 'pointermove', x: p.x, y: p.y });
  };

  private readonly onPointerUp = (e: PointerEvent): void => {
    if (!this.down.delete(e.pointerId)) return;
    const p = this.toPlane(e);
    this.flushMove();
    this.emit({ kind: 'pointerup', x: p.x, y: p.y });
  };

  private readonly onContextMenu = (e: Event): void => {
    e.preventDefault();
  };

  // ---------------------------------------------------------------- gamepad

  private hasGamepads(): boolean {
    const nav = this.win.navigator;
    if (typeof nav.getGamepads !== 'function') return false;
    try {
      return nav.getGamepads().some((g) => g !== null);
    } catch {
      return false;
    }
  }

  private readonly onGamepadConnected = (): void => {
    if (!this.padRaf) this.pollGamepads();
  };

  private readonly pollGamepads = (): void => {
    this.padRaf = 0;
    if (!this.attached) return;
    let pads: (Gamepad | null)[];
    try {
      pads = this.win.navigator.getGamepads();
    } catch {
      return;
    }
    let any = false;
    const present = new Set<number>();
    const now = this.win.performance.now();
    for (const pad of pads) {
      if (!pad || !pad.connected) continue;
      any = true;
      present.add(pad.index);
      const last = this.pads.get(pad.index);
      if (last && now - last.at < GAMEPAD_INTERVAL_MS) continue; // checked again next frame
      const state = readGamepad(pad);
      const sig = state.buttons.join(',') + '|' + state.axes.join(',');
      if (last?.sig !== sig) {
        this.pads.set(pad.index, { sig, at: now });
        this.emit({ kind: 'gamepad', ...state });
      }
    }
    for (const idx of [...this.pads.keys()]) if (!present.has(idx)) this.pads.delete(idx);
    if (any) this.padRaf = this.win.requestAnimationFrame(this.pollGamepads);
  };
}

/** A gamepad's state rounded to {@link GAMEPAD_STEP}, with a small axis dead zone. */
export function readGamepad(pad: Pick<Gamepad, 'index' | 'buttons' | 'axes'>): GamepadState {
  const steps = Math.round(1 / GAMEPAD_STEP);
  const round = (v: number) => Math.round(v * steps) / steps + 0; // + 0 turns -0 into 0
  return {
    index: pad.index,
    buttons: Array.from(pad.buttons, (b) => round(Math.min(1, Math.max(0, b.value || (b.pressed ? 1 : 0))))),
    axes: Array.from(pad.axes, (a) => (Math.abs(a) < GAMEPAD_DEADZONE ? 0 : round(Math.min(1, Math.max(-1, a))))),
  };
}

function isEditable(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  if (!el || typeof el.tagName !== 'string') return false;
  const tag = el.tagName;
  return tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT' || el.isContentEditable === true;
}
