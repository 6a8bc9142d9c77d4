import type { AssetRef } from '@parlor/squish';

/** Load state of an image asset. */
export type ImageState = 'unknown' | 'loading' | 'loaded' | 'error';

/** Options of {@link AssetStore}. */
export interface AssetStoreOptions {
  /**
   * Base URL the asset URLs of the `assets` message are relative to (the game server's HTTP
   * origin); default `location.href`.
   */
  baseUrl?: string;
  /** Called when an image finished loading (or failed), so the renderer can repaint. */
  onChange?: () => void;
}

interface CachedImage {
  img: HTMLImageElement;
  state: ImageState;
}

/**
 * The game's assets, from the `assets` message. Only http(s) URLs on the base URL's origin are
 * loaded; others are ignored with a console warning. Images load with `new Image()` from their URL
 * (the server sends immutable cache headers, so a reload hits the browser cache); sounds are
 * preloaded with `new Audio()`. Both are cached by content hash for the page's lifetime, so a
 * reconnect or a second `assets` message with the same hashes loads nothing again.
 */
export class AssetStore {
  private refs = new Map<string, AssetRef>();
  private readonly images = new Map<string, CachedImage>();
  private readonly sounds = new Map<string, HTMLAudioElement>();
  private baseUrl: string;
  private readonly onChange: () => void;

  constructor(options: AssetStoreOptions = {}) {
    this.baseUrl = options.baseUrl ?? (typeof location !== 'undefined' ? location.href : 'http://localhost/');
    this.onChange = options.onChange ?? (() => {});
  }

  /** Changes the base URL for assets set from now on (e.g. after a redirect to another server). */
  setBaseUrl(baseUrl: string): void {
    this.baseUrl = baseUrl;
  }

  /** Replaces the asset list (from an `assets` message) and starts loading what is not cached. */
  setAssets(refs: readonly AssetRef[]): void {
    this.refs = new Map();
    for (const ref of refs) {
      const url = this.resolve(ref.url);
      if (url === null) {
        console.warn(`[parlor] asset ${JSON.stringify(String(ref.id).slice(0, 64))} refused: its URL is not on the game server's origin`);
        continue;
      }
      this.refs.set(ref.id, { ...ref, url });
      if (ref.type === 'image') this.loadImage(ref.hash, url);
      else this.loadSound(ref.hash, url);
    }
  }

  /** Whether any declared asset is a sound. */
  hasAudio(): boolean {
    for (const r of this.refs.values()) if (r.type === 'audio') return true;
    return false;
  }

  /** The asset's type, or `undefined` for an id the game did not declare. */
  type(assetId: string): 'image' | 'audio' | undefined {
    return this.refs.get(assetId)?.type;
  }

  /** The absolute URL of an asset, or `undefined`. */
  url(assetId: string): string | undefined {
    return this.refs.get(assetId)?.url;
  }

  /** Load state of an image asset. */
  imageState(assetId: string): ImageState {
    const ref = this.refs.get(assetId);
    if (!ref || ref.type !== 'image') return 'unknown';
    return this.images.get(ref.hash)?.state ?? 'unknown';
  }

  /** The decoded image, or `null` while it loads, after it failed, or for unknown ids. */
  image(assetId: string): HTMLImageElement | null {
    const ref = this.refs.get(assetId);
    if (!ref) return null;
    const c = this.images.get(ref.hash);
    return c && c.state === 'loaded' ? c.img : null;
  }

  /** The preloaded audio element of a sound asset (clone it to play), or `null`. */
  sound(assetId: string): HTMLAudioElement | null {
    const ref = this.refs.get(assetId);
    if (!ref || ref.type !== 'audio') return null;
    return this.sounds.get(ref.hash) ?? null;
  }

  /** The absolute URL, or `null` unless it is http(s) on the base URL's origin (assets come from the game server only). */
  private resolve(url: string): string | null {
    try {
      const base = new URL(this.baseUrl);
      const u = new URL(url, base);
      if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.origin !== base.origin) return null;
      return u.href;
    } catch {
      return null;
    }
  }

  private loadImage(hash: string, url: string): void {
    if (this.images.has(hash) || typeof Image === 'undefined') return;
    const img = new Image();
    const entry: CachedImage = { img, state: 'loading' };
    this.images.set(hash, entry);
    img.decoding = 'async';
    img.onload = () => {
      entry.state = 'loaded';
      this.onChange();
    };
    img.onerror = () => {
      entry.state = 'error';
      console.warn(`[parlor] image asset failed to load: ${url}`);
      this.onChange();
    };
    img.src = url;
  }

  private loadSound(hash: string, url: string): void {
    if (this.sounds.has(hash) || typeof Audio === 'undefined') return;
    const audio = new Audio();
    audio.preload = 'auto';
    audio.src = url;
    this.sounds.set(hash, audio);
  }
}
