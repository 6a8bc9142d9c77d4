import { NodeKind, type Asset, type Node } from '@parlor/squish';
import type { AssetStore } from './assets.js';

interface Voice {
  el: HTMLAudioElement;
  assetId: string;
  startTime: number;
  blocked: boolean;
}

/**
 * Plays the sound {@link Asset} nodes of the scene: one `HTMLAudioElement` per node, started
 * when the node appears (at its `startTime`, ms), looping if `loop`, at `volume` (0–1), and
 * stopped when the node leaves the scene. Browsers block autoplay until the user interacts
 * with the page; blocked sounds start on the first pointer or key press.
 */
export class AudioPlayer {
  private readonly voices = new Map<number, Voice>();
  private unlocked = false;
  private readonly target: EventTarget | null;

  constructor(private readonly assets: AssetStore, target: EventTarget | null = typeof window !== 'undefined' ? window : null) {
    this.target = target;
    if (target) for (const t of GESTURES) target.addEventListener(t, this.onGesture, { capture: true });
  }

  /** Number of sounds currently attached to scene nodes (playing, blocked or finished). */
  get size(): number {
    return this.voices.size;
  }

  /** Starts sounds of new audio nodes, updates changed ones, stops those of removed nodes. */
  sync(root: Node | null): void {
    const seen = new Set<number>();
    if (root) this.walk(root, seen);
    for (const [id, v] of this.voices) {
      if (!seen.has(id)) {
        stop(v.el);
        this.voices.delete(id);
      }
    }
  }

  /** Stops every sound and removes the gesture listeners. */
  destroy(): void {
    for (const v of this.voices.values()) stop(v.el);
    this.voices.clear();
    this.removeGestureListeners();
  }

  private walk(node: Node, seen: Set<number>): void {
    if (node.kind === NodeKind.ASSET) {
      const a = node as Asset;
      if (this.assets.type(a.assetId) === 'audio') {
        seen.add(a.id);
        this.update(a);
      }
    }
    for (const c of node.children) this.walk(c, seen);
  }

  private update(a: Asset): void {
    let v = this.voices.get(a.id);
    if (v && v.assetId !== a.assetId) {
      stop(v.el);
      this.voices.delete(a.id);
      v = undefined;
    }
    const volume = Math.min(1, Math.max(0, Number.isFinite(a.volume) ? a.volume : 1));
    if (!v) {
      const url = this.assets.url(a.assetId);
      if (!url || typeof Audio === 'undefined') return;
      const el = new Audio();
      el.preload = 'auto';
      el.src = url;
      v = { el, assetId: a.assetId, startTime: a.startTime, blocked: false };
      this.voices.set(a.id, v);
      el.loop = a.loop;
      el.volume = volume;
      seek(el, a.startTime);
      this.play(v);
      return;
    }
    if (v.el.loop !== a.loop) v.el.loop = a.loop;
    if (v.el.volume !== volume) v.el.volume = volume;
    if (v.startTime !== a.startTime) {
      v.startTime = a.startTime;
      seek(v.el, a.startTime);
      if (v.el.paused && !v.blocked) this.play(v);
    }
  }

  private play(v: Voice): void {
    const p = v.el.play();
    if (p && typeof p.catch === 'function') {
      p.catch((err: unknown) => {
        if ((err as { name?: string })?.name === 'NotAllowedError' && !this.unlocked) v.blocked = true;
      });
    }
  }

  private readonly onGesture = (): void => {
    this.unlocked = true;
    this.removeGestureListeners();
    for (const v of this.voices.values()) {
      if (v.blocked) {
        v.blocked = false;
        this.play(v);
      }
    }
  };

  private removeGestureListeners(): void {
    if (this.target) for (const t of GESTURES) this.target.removeEventListener(t, this.onGesture, { capture: true });
  }
}

const GESTURES = ['pointerdown', 'keydown', 'touchend'] as const;

function seek(el: HTMLAudioElement, startTimeMs: number): void {
  const s = Math.max(0, (Number.isFinite(startTimeMs) ? startTimeMs : 0) / 1000);
  try {
    el.currentTime = s;
  } catch {
    // not seekable yet: apply once metadata is known
  }
  if (s > 0 && el.readyState < 1) {
    el.addEventListener('loadedmetadata', () => { el.currentTime = s; }, { once: true });
  }
}

function stop(el: HTMLAudioElement): void {
  el.pause();
  el.removeAttribute('src');
  el.load();
}
