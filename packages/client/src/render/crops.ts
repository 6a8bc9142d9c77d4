/** Most cropped sprites kept as separate bitmaps (least recently used ones are dropped). */
const MAX_CROPS = 512;

/**
 * The crop rectangles of sprite sheets as bitmaps of their own (cached, least recently used
 * dropped past 512). Drawing a source rectangle of a sheet directly lets the browser's filtering
 * sample pixels just outside it (bleeding the neighbouring sprite into the edges); a separate
 * bitmap clamps at its own edges.
 */
export class SpriteCrops {
  private readonly crops = new Map<string, HTMLCanvasElement>();

  constructor(private readonly doc: Document) {}

  /** The crop (source pixels) of `img` as its own bitmap, or `img` itself when a copy is not possible or not worth it. */
  get(img: HTMLImageElement, sx: number, sy: number, sw: number, sh: number): CanvasImageSource {
    const key = `${img.src}|${sx}|${sy}|${sw}|${sh}`;
    const hit = this.crops.get(key);
    if (hit) {
      this.crops.delete(key); // LRU: move to the end
      this.crops.set(key, hit);
      return hit;
    }
    const w = Math.max(1, Math.round(sw));
    const h = Math.max(1, Math.round(sh));
    if (w * h > 4096 * 4096) return img; // absurd crops: not worth a copy
    const cut = this.doc.createElement('canvas');
    cut.width = w;
    cut.height = h;
    const cctx = cut.getContext('2d');
    if (!cctx) return img;
    cctx.imageSmoothingEnabled = false;
    cctx.drawImage(img, sx, sy, sw, sh, 0, 0, w, h);
    this.crops.set(key, cut);
    if (this.crops.size > MAX_CROPS) this.crops.delete(this.crops.keys().next().value as string);
    return cut;
  }

  /** Drops every cached bitmap. */
  clear(): void {
    this.crops.clear();
  }
}
