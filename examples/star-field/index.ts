import { Colors, Group, Shape, ShapeUtils, Text, ViewableGame, rgba, type Color, type GameMetadata, type Node, type PlayerId, type PlayerInfo, type Point, type View, seededRandom } from '@parlor/squish';

/**
 * Star Field: a world ten times the screen, with a camera per player.
 *
 * A 1000 × 1000 world (the screen shows 100 × 100 world units at zoom 1) full of stars,
 * nebulae and golden orbs. Every player flies a ship (Arrow keys or WASD); their camera follows
 * their own ship, clamped to the world, and `+` / `-` zoom between 0.5× and 3× (`0` resets).
 * Fly through orbs to collect them. A screen-space HUD on top shows your coordinates and zoom
 * (private to you), a minimap and the leaderboard. Spectators see the whole world.
 *
 * Shows `ViewableGame`: world nodes live under `this.world`, `getView` returns each player's
 * camera (pan and zoom), and the Squisher sets the world group's transform per player.
 */

/** Create-time options (all optional). */
export interface StarFieldOptions {
  /** Seed of the star map, spawn points and orb placement; default 7 (the same sky every time). */
  seed?: number;
  /** Number of stars in the world; default 600. */
  stars?: number;
  /** Number of collectible orbs; default 36. */
  orbs?: number;
}

/** World size in world units (the screen is 100 × 100 at zoom 1). */
export const WORLD_SIZE = 1000;
/** Zoom limits and the factor of one `+` / `-` press. */
export const MIN_ZOOM = 0.5;
export const MAX_ZOOM = 3;
export const ZOOM_STEP = 1.25;
/** Top speed, in world (y) units per second; x speeds are scaled so motion is even on a 16:9 screen. */
export const SHIP_SPEED = 140;

/** x plane units per y plane unit on a 16:9 screen. */
const X_PER_Y = 9 / 16;
/** How fast velocity approaches the target velocity, per second. */
const ACCEL = 6;
/** How fast the zoom eases to its target, per second. */
const ZOOM_EASE = 12;
/** An orb is collected when a ship's centre comes this close (y units, isotropic). */
const PICKUP_RADIUS = 4.5;

const SHIP_COLORS: readonly Color[] = [Colors.CYAN, Colors.ORANGE, Colors.PINK, Colors.GREEN, Colors.YELLOW, Colors.PURPLE, Colors.RED, Colors.BLUE];
const SPACE: Color = rgba(4, 6, 18);
const HUD_TEXT: Color = rgba(226, 232, 240);
const HUD_DIM: Color = rgba(148, 163, 184);
const ORB: Color = rgba(252, 211, 77);

/** Minimap rectangle in screen plane units (bottom right). */
const MAP_SIZE = 14;
const MAP_X = 98 - MAP_SIZE;
const MAP_Y = 98 - MAP_SIZE;


const clamp = (v: number, lo: number, hi: number): number => (v < lo ? lo : v > hi ? hi : v);

/** Rotates ship-local isotropic points by `angle` and squashes x for the 16:9 plane. */
function orient(points: readonly Point[], angle: number): Point[] {
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  return points.map(([x, y]) => [(x * c - y * s) * X_PER_Y, x * s + y * c] as const);
}

const HULL: readonly Point[] = [[3.4, 0], [-2.2, 2.2], [-1.1, 0], [-2.2, -2.2]];
const FLAME: readonly Point[] = [[-1.3, 0.9], [-4.4, 0], [-1.3, -0.9]];

/** A player's ship and camera. */
export interface Ship {
  id: PlayerId;
  color: Color;
  /** Position in world units. */
  x: number;
  y: number;
  /** Velocity in world y units per second (isotropic). */
  vx: number;
  vy: number;
  heading: number;
  /** Current and target camera zoom. */
  zoom: number;
  targetZoom: number;
  score: number;
  /** World node: a group at (x, y) holding the hull, flame and name. */
  group: Group;
  hull: Shape;
  flame: Shape;
  /** Minimap dot (public) and view rectangle (private). */
  dot: Shape;
  viewBox: Shape;
  /** Private HUD line with coordinates and zoom. */
  hudText: Text;
}

/** Star Field; see the module comment. */
export default class StarField extends ViewableGame {
  static override metadata(): GameMetadata {
    return {
      name: 'Star Field',
      description: 'Fly a ship through a world ten times the screen; your camera follows you (+/- to zoom).',
      aspectRatio: { x: 16, y: 9 },
      tickRate: 30,
      maxPlayers: 8,
    };
  }

  readonly ships = new Map<PlayerId, Ship>();
  /** Screen-space backdrop, drawn under the world. */
  private readonly backdrop = new Group();
  /** Screen-space HUD, drawn over the world. */
  readonly hud = new Group();
  private readonly orbs: Shape[] = [];
  private readonly shipLayer = new Group();
  private readonly minimap = new Group();
  private readonly pilots: Text;
  private readonly leaderboard = new Group();
  private readonly rand: () => number;

  constructor(options: Record<string, unknown> = {}) {
    super(WORLD_SIZE, WORLD_SIZE, options);
    this.rand = seededRandom(typeof options.seed === 'number' ? options.seed : 7);
    const nStars = typeof options.stars === 'number' ? Math.max(0, Math.floor(options.stars)) : 600;
    const nOrbs = typeof options.orbs === 'number' ? Math.max(0, Math.floor(options.orbs)) : 36;
    const r = this.rand;

    // Screen-space backdrop: far-away stars that never move (infinitely distant), under the world.
    this.backdrop.addChild(new Shape({ points: ShapeUtils.rectangle(0, 0, 100, 100), fill: SPACE }));
    for (let i = 0; i < 70; i++) {
      const a = 40 + Math.floor(r() * 70);
      this.backdrop.addChild(new Shape({ shapeType: 'circle', x: r() * 100, y: r() * 100, radius: 0.1 + r() * 0.12, fill: rgba(200, 210, 255, a) }));
    }

    // ---- world (world units)
    const nebulae = new Group();
    const hues: Color[] = [rgba(99, 102, 241), rgba(236, 72, 153), rgba(34, 211, 238), rgba(168, 85, 247)];
    for (let i = 0; i < 14; i++) {
      // A soft cloud: a few faint discs stacked around one centre, denser in the middle.
      const c = hues[i % hues.length];
      const cx = 60 + r() * (WORLD_SIZE - 120);
      const cy = 60 + r() * (WORLD_SIZE - 120);
      const size = 18 + r() * 36;
      for (let k = 0; k < 4; k++) {
        nebulae.addChild(new Shape({
          shapeType: 'circle',
          x: cx + (r() - 0.5) * size * 0.5,
          y: cy + (r() - 0.5) * size * 0.5,
          radius: size * (1 - k * 0.22),
          fill: rgba(c[0], c[1], c[2], 9 + k * 3),
          shadow: k === 0 ? { color: rgba(c[0], c[1], c[2], 40), blur: 10 } : null,
        }));
      }
    }
    const stars = new Group();
    for (let i = 0; i < nStars; i++) {
      const tint = r();
      const b = 170 + Math.floor(r() * 85);
      const color = tint < 0.15 ? rgba(b, b, 255) : tint < 0.25 ? rgba(255, b, Math.floor(b * 0.7)) : rgba(b, b, b);
      const big = r() < 0.06;
      stars.addChild(new Shape({
        shapeType: 'circle',
        x: r() * WORLD_SIZE,
        y: r() * WORLD_SIZE,
        radius: big ? 0.6 + r() * 0.4 : 0.18 + r() * r() * 0.5,
        fill: color,
        shadow: big ? { color: rgba(color[0], color[1], color[2], 180), blur: 1.5 } : null,
      }));
    }
    const planets = new Group();
    for (let i = 0; i < 5; i++) {
      const c = SHIP_COLORS[(i * 3) % SHIP_COLORS.length];
      planets.addChild(new Shape({
        shapeType: 'circle',
        x: 100 + r() * 800,
        y: 100 + r() * 800,
        radius: 5 + r() * 7,
        fill: rgba(Math.floor(c[0] * 0.55), Math.floor(c[1] * 0.55), Math.floor(c[2] * 0.55)),
        stroke: rgba(c[0], c[1], c[2], 160),
        strokeWidth: 0.4,
        shadow: { color: rgba(c[0], c[1], c[2], 120), blur: 4 },
      }));
    }
    const border = new Shape({
      shapeType: 'line',
      points: [[0, 0], [WORLD_SIZE, 0], [WORLD_SIZE, WORLD_SIZE], [0, WORLD_SIZE], [0, 0]],
      stroke: rgba(248, 113, 113, 150),
      strokeWidth: 0.8,
    });
    const orbLayer = new Group();
    for (let i = 0; i < nOrbs; i++) {
      const orb = new Shape({ shapeType: 'circle', radius: 1.3, fill: ORB, stroke: Colors.WHITE, strokeWidth: 0.2, shadow: { color: rgba(252, 211, 77, 200), blur: 2.5 } });
      this.placeOrb(orb);
      this.orbs.push(orb);
      orbLayer.addChild(orb);
    }
    this.world.addChild(nebulae, stars, planets, border, orbLayer, this.shipLayer);

    // ---- HUD (screen plane units)
    this.pilots = new Text({ text: '', x: 2, y: 1.5, size: 3.2, color: HUD_TEXT, shadow: { color: rgba(0, 0, 0, 200), blur: 0.6 } });
    this.minimap.addChild(new Shape({
      points: ShapeUtils.rectangle(MAP_X, MAP_Y, MAP_SIZE, MAP_SIZE),
      fill: rgba(15, 23, 42, 190),
      stroke: rgba(148, 163, 184, 160),
      strokeWidth: 0.25,
    }));
    this.hud.addChild(
      this.pilots,
      this.minimap,
      this.leaderboard,
      new Text({ text: 'Arrows / WASD fly · + / − zoom · collect the golden orbs', x: 50, y: 95.5, size: 2.4, color: HUD_DIM, align: 'center' }),
    );
    this.refreshHud();
  }

  override getLayers(): Node[] {
    return [this.backdrop, this.world, this.hud];
  }

  override getView(playerId: PlayerId): View {
    const ship = this.ships.get(playerId);
    if (!ship) return this.getSpectatorView();
    return cameraFor(ship);
  }

  override onPlayerJoin(player: PlayerInfo): void {
    if (this.ships.has(player.id)) return;
    const used = new Set([...this.ships.values()].map((s) => s.color));
    const color = SHIP_COLORS.find((c) => !used.has(c)) ?? SHIP_COLORS[this.ships.size % SHIP_COLORS.length];
    const x = 250 + this.rand() * 500;
    const y = 250 + this.rand() * 500;
    const heading = -Math.PI / 2;
    const hull = new Shape({ points: orient(HULL, heading), fill: color, stroke: Colors.WHITE, strokeWidth: 0.25, shadow: { color: rgba(color[0], color[1], color[2], 200), blur: 2 } });
    const flame = new Shape({ points: orient(FLAME, heading), fill: null });
    const group = new Group({
      x,
      y,
      children: [
        flame,
        hull,
        new Text({ text: player.name, x: 0, y: 3.4, size: 2.2, color: rgba(color[0], color[1], color[2], 230), align: 'center' }),
      ],
    });
    const dot = new Shape({ shapeType: 'circle', radius: 0.45, fill: color, ...mapPoint(x, y) });
    const viewBox = new Shape({ shapeType: 'line', stroke: rgba(255, 255, 255, 170), strokeWidth: 0.15, playerIds: [player.id] });
    const hudText = new Text({ text: '', x: 2, y: 5.6, size: 2.6, color: color, font: 'monospace', playerIds: [player.id] });
    const ship: Ship = { id: player.id, color, x, y, vx: 0, vy: 0, heading, zoom: 1, targetZoom: 1, score: 0, group, hull, flame, dot, viewBox, hudText };
    this.ships.set(player.id, ship);
    this.shipLayer.addChild(group);
    this.minimap.addChild(dot, viewBox);
    this.hud.addChild(hudText);
    this.updateShipHud(ship);
    this.refreshHud();
  }

  override onPlayerLeave(playerId: PlayerId): void {
    const ship = this.ships.get(playerId);
    if (!ship) return;
    this.ships.delete(playerId);
    ship.group.remove();
    ship.dot.remove();
    ship.viewBox.remove();
    ship.hudText.remove();
    this.refreshHud();
  }

  override onKeyDown(playerId: PlayerId, key: string): void {
    const ship = this.ships.get(playerId);
    if (!ship) return;
    if (key === '+' || key === '=') ship.targetZoom = clamp(ship.targetZoom * ZOOM_STEP, MIN_ZOOM, MAX_ZOOM);
    else if (key === '-' || key === '_') ship.targetZoom = clamp(ship.targetZoom / ZOOM_STEP, MIN_ZOOM, MAX_ZOOM);
    else if (key === '0') ship.targetZoom = 1;
  }

  override tick(dtMs: number): void {
    const dt = Math.min(dtMs, 100) / 1000;
    let scored = false;
    for (const ship of this.ships.values()) {
      const keys = this.keysDown(ship.id);
      let dx = (keys.has('ArrowRight') || keys.has('d') || keys.has('D') ? 1 : 0) - (keys.has('ArrowLeft') || keys.has('a') || keys.has('A') ? 1 : 0);
      let dy = (keys.has('ArrowDown') || keys.has('s') || keys.has('S') ? 1 : 0) - (keys.has('ArrowUp') || keys.has('w') || keys.has('W') ? 1 : 0);
      const len = Math.hypot(dx, dy);
      if (len > 0) {
        dx /= len;
        dy /= len;
      }
      const k = Math.min(1, dt * ACCEL);
      ship.vx += (dx * SHIP_SPEED - ship.vx) * k;
      ship.vy += (dy * SHIP_SPEED - ship.vy) * k;
      if (Math.abs(ship.vx) < 0.05 && len === 0) ship.vx = 0;
      if (Math.abs(ship.vy) < 0.05 && len === 0) ship.vy = 0;

      ship.x += ship.vx * X_PER_Y * dt;
      ship.y += ship.vy * dt;
      if (ship.x < 0 || ship.x > WORLD_SIZE) { ship.x = clamp(ship.x, 0, WORLD_SIZE); ship.vx = 0; }
      if (ship.y < 0 || ship.y > WORLD_SIZE) { ship.y = clamp(ship.y, 0, WORLD_SIZE); ship.vy = 0; }
      ship.group.x = ship.x;
      ship.group.y = ship.y;

      // Point the ship where it is going; show the flame while thrusting.
      if (Math.hypot(ship.vx, ship.vy) > 8) {
        const heading = Math.atan2(ship.vy, ship.vx);
        if (Math.abs(angleDiff(heading, ship.heading)) > 0.03) {
          ship.heading = heading;
          ship.hull.points = orient(HULL, heading);
          ship.flame.points = orient(FLAME, heading);
        }
      }
      ship.flame.fill = len > 0 ? Colors.ORANGE : null;

      if (ship.zoom !== ship.targetZoom) {
        ship.zoom += (ship.targetZoom - ship.zoom) * Math.min(1, dt * ZOOM_EASE);
        if (Math.abs(ship.zoom - ship.targetZoom) < 0.002) ship.zoom = ship.targetZoom;
      }

      for (const orb of this.orbs) {
        const ox = (orb.x - ship.x) / X_PER_Y;
        const oy = orb.y - ship.y;
        if (ox * ox + oy * oy < PICKUP_RADIUS * PICKUP_RADIUS) {
          ship.score++;
          scored = true;
          this.placeOrb(orb);
        }
      }
      this.updateShipHud(ship);
    }
    if (scored) this.refreshHud();
  }

  // ------------------------------------------------------------------ helpers

  private placeOrb(orb: Shape): void {
    orb.x = 20 + this.rand() * (WORLD_SIZE - 40);
    orb.y = 20 + this.rand() * (WORLD_SIZE - 40);
  }

  private updateShipHud(ship: Ship): void {
    ship.hudText.text = `x ${Math.round(ship.x)}  y ${Math.round(ship.y)}  zoom ${ship.zoom.toFixed(2)}×  ★ ${ship.score}`;
    const p = mapPoint(ship.x, ship.y);
    ship.dot.x = p.x;
    ship.dot.y = p.y;
    const v = cameraFor(ship);
    const span = 100 / (v.zoom ?? 1);
    const a = mapPoint(v.x, v.y);
    const b = mapPoint(v.x + span, v.y + span);
    const box: Point[] = [[a.x, a.y], [b.x, a.y], [b.x, b.y], [a.x, b.y], [a.x, a.y]];
    const old = ship.viewBox.points;
    if (old.length !== box.length || old.some((q, i) => Math.abs(q[0] - box[i][0]) > 0.01 || Math.abs(q[1] - box[i][1]) > 0.01)) ship.viewBox.points = box;
  }

  private refreshHud(): void {
    const n = this.ships.size;
    this.pilots.text = `Star Field · ${n} pilot${n === 1 ? '' : 's'}`;
    this.leaderboard.clearChildren();
    const ranked = [...this.ships.values()].sort((a, b) => b.score - a.score || a.id - b.id);
    ranked.forEach((s, i) => {
      this.leaderboard.addChild(new Text({
        text: `${this.players.get(s.id)?.name ?? `Player ${s.id}`}  ★ ${s.score}`,
        x: 2,
        y: 11 + i * 3.2,
        size: 2.6,
        color: s.color,
        align: 'left',
        shadow: { color: rgba(0, 0, 0, 200), blur: 0.6 },
      }));
    });
  }
}

/** The camera of a ship: centred on it at its zoom, clamped so it never shows outside the world. */
export function cameraFor(ship: Pick<Ship, 'x' | 'y' | 'zoom'>): View {
  const zoom = ship.zoom;
  const span = 100 / zoom;
  return {
    x: clamp(ship.x - span / 2, 0, WORLD_SIZE - span),
    y: clamp(ship.y - span / 2, 0, WORLD_SIZE - span),
    zoom,
  };
}

/** World position → minimap position (screen plane units). */
function mapPoint(x: number, y: number): { x: number; y: number } {
  return { x: MAP_X + (x / WORLD_SIZE) * MAP_SIZE, y: MAP_Y + (y / WORLD_SIZE) * MAP_SIZE };
}

function angleDiff(a: number, b: number): number {
  let d = a - b;
  while (d > Math.PI) d -= 2 * Math.PI;
  while (d < -Math.PI) d += 2 * Math.PI;
  return d;
}
