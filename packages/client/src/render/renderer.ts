import { colorToCss, NodeKind, type Asset, type Color, type Group, type Node, type Shadow, type Shape, type Text } from '@parlor/squish';
import type { AssetStore } from '../media/assets.js';
import {
  backingSize,
  composeTransform,
  IDENTITY,
  letterbox,
  type AspectRatio,
  type PlaneTransform,
  type Viewport,
} from './coords.js';
import {
  assetPixels, newAssetPixels, newShapePixels, newTextPixels, shapePixels, textPixels, type PixelMap,
} from './generated/node-pixels.js';
import { ClientError, ClientErrorCode } from '../errors.js';
import { LINE_HEIGHT, type MeasureText } from './hit-test.js';
import type { Interpolator } from './interpolation.js';
import { SpriteCrops } from './crops.js';

/** Options of {@link CanvasRenderer}. */
export interface RendererOptions {
  /** The canvas to draw on. Its CSS size is the page's business; the renderer sizes the backing store. */
  canvas: HTMLCanvasElement;
  /** Returns the scene root to draw (e.g. `() => mirror.root`); `null` draws only the background. */
  scene: () => Node | null;
  /** Images for {@link Asset} nodes; without it images draw as placeholders. */
  assets?: AssetStore;
  /** The game's aspect ratio (from `init`); default 16:9. */
  aspectRatio?: AspectRatio;
  /** Colour of the letterbox bars and of the game area before the game draws; default black. */
  background?: string;
  /** Called after the canvas's CSS size, the device pixel ratio or the aspect ratio changed. */
  onResize?: (viewport: Viewport) => void;
  /** Smooth scaled images (photos) or keep them pixelated (pixel art); default true. */
  imageSmoothing?: boolean;
  /**
   * Draws the scene between frames (see {@link Interpolator}): each paint poses the moving nodes
   * at `performance.now()`, and while any is on its way to the newest frame the renderer paints
   * on every animation frame (display rate), then stops until the next change. Default none: a
   * paint shows the newest frame as it is.
   */
  interpolator?: Interpolator;
  /** Called after every paint (e.g. to read back the canvas in a test); default none. */
  onPaint?: () => void;
}

const PLACEHOLDER_FILL = 'rgba(128,128,128,0.25)';
const PLACEHOLDER_STROKE = 'rgba(255,255,255,0.35)';

/**
 * Draws a Parlor scene on a 2D canvas, letterboxed to the game's aspect ratio and centred
 * (bars in `background`), crisp on high-DPI screens (backing store = CSS size ×
 * `devicePixelRatio`). It repaints only when {@link CanvasRenderer.invalidate} was called (a
 * frame arrived, an image loaded) or the canvas/DPR changed, at most once per animation frame;
 * with an {@link RendererOptions.interpolator}, also on every animation frame while nodes are
 * moving between two frames.
 *
 * Mapping (see `coords.ts`): plane x 0–100 → viewport width, y 0–100 → viewport height; circle
 * radius, stroke width, text size and shadow blur/offset use the height unit (viewport
 * height / 100). A group's children are drawn at `(x, y) + scale × p`.
 */
export class CanvasRenderer {
  /** The canvas drawn on. */
  readonly canvas: HTMLCanvasElement;
  private readonly ctx: CanvasRenderingContext2D;
  private readonly scene: () => Node | null;
  private readonly assets: AssetStore | null;
  private readonly background: string;
  private readonly onResize: (viewport: Viewport) => void;
  private aspect: AspectRatio;
  private vp: Viewport = { x: 0, y: 0, width: 0, height: 0 };
  private cssWidth = -1;
  private cssHeight = -1;
  private dpr = 0;
  private dirty = true;
  private raf = 0;
  private destroyed = false;
  private resizeObserver: ResizeObserver | null = null;
  private dprQuery: MediaQueryList | null = null;
  private readonly smoothing: boolean;
  private readonly motion: Interpolator | null;
  private readonly onPaint: (() => void) | null;
  /** Cropped sprites cut out of their sheets, so smoothing never bleeds in neighbouring sprites. */
  private readonly crops: SpriteCrops;
  /** Plane → CSS px of the group being drawn, and one reusable pixel view per drawn kind (generated from the field table). */
  private readonly map: PixelMap = { ox: 0, oy: 0, kx: 0, ky: 0, kl: 0 };
  private readonly shapePx = newShapePixels();
  private readonly textPx = newTextPixels();
  private readonly assetPx = newAssetPixels();
  /** Number of paints so far (for tests and diagnostics). */
  paints = 0;

  constructor(options: RendererOptions) {
    this.canvas = options.canvas;
    const ctx = this.canvas.getContext('2d');
    if (!ctx) throw new ClientError(ClientErrorCode.NO_CANVAS, 'Parlor: the canvas has no 2D context');
    this.ctx = ctx;
    this.scene = options.scene;
    this.assets = options.assets ?? null;
    this.aspect = options.aspectRatio ?? { x: 16, y: 9 };
    this.background = options.background ?? '#000';
    this.onResize = options.onResize ?? (() => {});
    this.smoothing = options.imageSmoothing ?? true;
    this.crops = new SpriteCrops(this.canvas.ownerDocument);
    this.motion = options.interpolator ?? null;
    this.onPaint = options.onPaint ?? null;
    if (typeof ResizeObserver !== 'undefined') {
      this.resizeObserver = new ResizeObserver(() => this.invalidate());
      this.resizeObserver.observe(this.canvas);
    }
    if (typeof window !== 'undefined') window.addEventListener('resize', this.invalidate);
    this.watchDpr();
    this.invalidate();
  }

  /** The letterboxed game area in canvas CSS pixels (as of the last paint or resize). */
  get viewport(): Viewport {
    this.updateSize();
    return this.vp;
  }

  /** The aspect ratio the scene is letterboxed to. */
  get aspectRatio(): AspectRatio {
    return this.aspect;
  }

  /** Sets the game's aspect ratio (from `init`) and repaints. */
  setAspectRatio(aspect: AspectRatio): void {
    if (aspect.x === this.aspect.x && aspect.y === this.aspect.y) return;
    this.aspect = { x: aspect.x, y: aspect.y };
    this.cssWidth = -1; // force a viewport recomputation
    this.invalidate();
  }

  /** Marks the canvas dirty: it repaints on the next animation frame. */
  readonly invalidate = (): void => {
    this.dirty = true;
    if (this.raf || this.destroyed) return;
    if (typeof requestAnimationFrame === 'function') this.raf = requestAnimationFrame(this.onFrame);
  };

  /**
   * Width of one line of text in the unit of `size` (canvas `measureText`), for hit testing.
   */
  readonly measureText: MeasureText = (text, font, size) => {
    const ctx = this.ctx;
    ctx.save();
    ctx.font = cssFont(100, font);
    const w = ctx.measureText(text).width;
    ctx.restore();
    return (w * size) / 100;
  };

  /**
   * Paints now, synchronously (normally called from the animation frame). With an interpolator,
   * the scene is drawn as posed at `performance.now()`, and the next animation frame is
   * requested while nodes are still moving.
   */
  paint(): void {
    const motion = this.motion;
    const now = motion ? performance.now() : 0;
    const posed = motion ? motion.pose(now) : false;
    try {
      this.draw();
    } finally {
      if (posed) motion!.restore();
    }
    this.paints++;
    if (motion?.pending(now)) this.invalidate();
    this.onPaint?.();
  }

  private draw(): void {
    this.dirty = false;
    this.updateSize();
    const ctx = this.ctx;
    const { width, height } = this.canvas;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.globalAlpha = 1;
    resetShadow(ctx);
    ctx.imageSmoothingEnabled = this.smoothing;
    ctx.fillStyle = this.background;
    ctx.fillRect(0, 0, width, height);
    const root = this.scene();
    const vp = this.vp;
    if (root && vp.width > 0 && vp.height > 0) {
      ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
      ctx.save();
      ctx.beginPath();
      ctx.rect(vp.x, vp.y, vp.width, vp.height);
      ctx.clip();
      this.drawNode(root, IDENTITY);
      ctx.restore();
    }
  }

  /** Stops painting and removes listeners. */
  destroy(): void {
    this.destroyed = true;
    if (this.raf && typeof cancelAnimationFrame === 'function') cancelAnimationFrame(this.raf);
    this.raf = 0;
    this.resizeObserver?.disconnect();
    if (typeof window !== 'undefined') window.removeEventListener('resize', this.invalidate);
    this.dprQuery?.removeEventListener('change', this.onDprChange);
    this.crops.clear();
  }

  private readonly onFrame = (): void => {
    this.raf = 0;
    if (this.dirty && !this.destroyed) this.paint();
  };

  private readonly onDprChange = (): void => {
    this.watchDpr();
    this.invalidate();
  };

  /** Listens for the next devicePixelRatio change (zoom, moving to another screen). */
  private watchDpr(): void {
    this.dprQuery?.removeEventListener('change', this.onDprChange);
    this.dprQuery = null;
    if (typeof window === 'undefined' || typeof window.matchMedia !== 'function') return;
    this.dprQuery = window.matchMedia(`(resolution: ${window.devicePixelRatio || 1}dppx)`);
    this.dprQuery.addEventListener('change', this.onDprChange);
  }

  /** Sizes the backing store to CSS size × DPR and recomputes the viewport when anything changed. */
  private updateSize(): void {
    const cssW = this.canvas.clientWidth;
    const cssH = this.canvas.clientHeight;
    const dpr = (typeof window !== 'undefined' && window.devicePixelRatio) || 1;
    if (cssW === this.cssWidth && cssH === this.cssHeight && dpr === this.dpr) return;
    this.cssWidth = cssW;
    this.cssHeight = cssH;
    this.dpr = dpr;
    const b = backingSize(cssW, cssH, dpr);
    if (this.canvas.width !== b.width) this.canvas.width = b.width;
    if (this.canvas.height !== b.height) this.canvas.height = b.height;
    this.vp = letterbox(cssW, cssH, this.aspect);
    this.onResize(this.vp);
  }

  private drawNode(node: Node, t: PlaneTransform): void {
    switch (node.kind) {
      case NodeKind.SHAPE:
        this.withShadow(node.shadow, t, () => this.drawShape(node as Shape, t));
        break;
      case NodeKind.TEXT:
        this.withShadow(node.shadow, t, () => this.drawText(node as Text, t));
        break;
      case NodeKind.ASSET:
        this.withShadow(node.shadow, t, () => this.drawAsset(node as Asset, t));
        break;
      default:
        break;
    }
    const children = node.children;
    if (children.length === 0) return;
    let ct = t;
    if (node.kind === NodeKind.GROUP) {
      const g = node as Group;
      ct = composeTransform(t, g.x, g.y, g.scale);
    }
    for (const c of children) this.drawNode(c, ct);
  }

  private withShadow(shadow: Shadow | null, t: PlaneTransform, draw: () => void): void {
    if (!shadow || shadow.color[3] === 0) {
      draw();
      return;
    }
    const ctx = this.ctx;
    // shadow sizes are not transformed by the canvas matrix: give them in device pixels
    const unit = this.pixels(t).kl * this.dpr;
    ctx.shadowColor = colorToCss(shadow.color);
    ctx.shadowBlur = Math.max(0, (shadow.blur ?? 0) * unit);
    ctx.shadowOffsetX = (shadow.offsetX ?? 0) * unit;
    ctx.shadowOffsetY = (shadow.offsetY ?? 0) * unit;
    try {
      draw();
    } finally {
      resetShadow(ctx);
    }
  }

  /** The plane → CSS px map of group transform t in the current viewport. */
  private pixels(t: PlaneTransform): PixelMap {
    const vp = this.vp;
    const m = this.map;
    m.ox = vp.x + (t.x * vp.width) / 100;
    m.oy = vp.y + (t.y * vp.height) / 100;
    m.kx = (t.scale * vp.width) / 100;
    m.ky = (t.scale * vp.height) / 100;
    m.kl = (Math.abs(t.scale) * vp.height) / 100;
    return m;
  }

  private drawShape(s: Shape, t: PlaneTransform): void {
    const ctx = this.ctx;
    const p = shapePixels(s, this.pixels(t), this.shapePx);
    const fill = visible(p.fill) ? p.fill : null;
    const stroke = visible(p.stroke) && p.strokeWidth > 0 ? p.stroke : null;
    if (p.shapeType === 'circle') {
      if (!(p.radius > 0)) return;
      ctx.beginPath();
      ctx.arc(p.x, p.y, p.radius, 0, Math.PI * 2);
      if (fill) {
        ctx.fillStyle = colorToCss(fill);
        ctx.fill();
      }
      if (stroke) this.strokePath(stroke, p.strokeWidth, 'miter', 'butt');
      return;
    }
    const n = p.pointsCount;
    if (n < 2) return;
    const xy = p.points;
    ctx.beginPath();
    ctx.moveTo(xy[0], xy[1]);
    for (let i = 1; i < n; i++) ctx.lineTo(xy[2 * i], xy[2 * i + 1]);
    if (p.shapeType === 'line') {
      if (stroke) this.strokePath(stroke, p.strokeWidth, 'round', 'round');
      return;
    }
    ctx.closePath();
    if (fill) {
      ctx.fillStyle = colorToCss(fill);
      ctx.fill();
    }
    if (stroke) this.strokePath(stroke, p.strokeWidth, 'miter', 'butt');
  }

  private strokePath(color: Color, width: number, join: CanvasLineJoin, cap: CanvasLineCap): void {
    const ctx = this.ctx;
    ctx.strokeStyle = colorToCss(color);
    ctx.lineWidth = width;
    ctx.lineJoin = join;
    ctx.lineCap = cap;
    ctx.stroke();
  }

  private drawText(tx: Text, t: PlaneTransform): void {
    const p = textPixels(tx, this.pixels(t), this.textPx);
    const size = p.size;
    if (!(size > 0) || p.text.length === 0 || !visible(p.color)) return;
    const ctx = this.ctx;
    ctx.font = cssFont(size, p.font);
    ctx.textAlign = p.align;
    ctx.textBaseline = 'top';
    ctx.fillStyle = colorToCss(p.color);
    const lines = p.text.split('\n');
    for (let i = 0; i < lines.length; i++) ctx.fillText(lines[i], p.x, p.y + i * size * LINE_HEIGHT);
  }

  private drawAsset(a: Asset, t: PlaneTransform): void {
    if (this.assets?.type(a.assetId) === 'audio') return;
    const ctx = this.ctx;
    const p = assetPixels(a, this.pixels(t), this.assetPx);
    const { x, y, width: w, height: h } = p;
    if (w === 0 || h === 0) return;
    const img = this.assets?.image(p.assetId) ?? null;
    if (!img) {
      ctx.fillStyle = PLACEHOLDER_FILL;
      ctx.fillRect(x, y, w, h);
      ctx.strokeStyle = PLACEHOLDER_STROKE;
      ctx.lineWidth = 1;
      ctx.strokeRect(x + 0.5, y + 0.5, w - 1, h - 1);
      return;
    }
    const c = p.crop;
    if (c) {
      if (!(c.width > 0) || !(c.height > 0)) return;
      ctx.drawImage(this.crops.get(img, c.x, c.y, c.width, c.height), x, y, w, h);
    } else {
      ctx.drawImage(img, x, y, w, h);
    }
  }

}

function visible(c: Color | null): c is Color {
  return c !== null && c[3] > 0;
}

function resetShadow(ctx: CanvasRenderingContext2D): void {
  ctx.shadowColor = 'rgba(0,0,0,0)';
  ctx.shadowBlur = 0;
  ctx.shadowOffsetX = 0;
  ctx.shadowOffsetY = 0;
}

const SAFE_FONT = /^[\w\s,'"-]{1,200}$/;

/** A CSS font shorthand for a pixel size and a family list; unsafe or empty families fall back to sans-serif. */
export function cssFont(sizePx: number, family: string): string {
  const fam = family && SAFE_FONT.test(family) ? family : 'sans-serif';
  return `${Math.max(0, sizePx).toFixed(2)}px ${fam}`;
}
