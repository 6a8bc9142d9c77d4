import {
  Group, OrderRejectedError, Shape, Text, TurnBasedGame, rgba, seededRandom,
  type Color, type GameMetadata, type Node, type PlayerId, type PlayerInfo, type Point,
} from '@parlor/squish';

/**
 * Galaxy: a small turn-based strategy game for 2–6 players, and the tutorial of `TurnBasedGame`.
 *
 * Planets have an owner, ships and a production. While a turn is open, a player orders fleets:
 * click one of your planets, then a target; half of its ships (still free this turn) will fly
 * there. Orders are private (only you see yours) and take effect at the turn's cutoff, every
 * 30 s, when `generateTurn` launches them, lands the fleets that arrive (a fleet needs one turn
 * per 12 units of distance), resolves fights and lets every owned planet produce ships. The game
 * ends when one empire owns every planet, or after `maxTurns` turns (most planets wins).
 *
 * The whole state is plain JSON (`save()` / `Galaxy.restore()`), so the host can store it after
 * every order and turn, and bring the game back after a restart, a patch or a crash.
 */

/** Create-time options (all optional). */
export interface GalaxyOptions {
  /** Seed of the map's neutral garrisons and productions; default random. */
  seed?: number;
  /** The game ends after this many turns; default 50. */
  maxTurns?: number;
}

/** A planet; `owner` is an index into the empires, or -1 for a neutral planet. */
export interface Planet { name: string; x: number; y: number; owner: number; ships: number; production: number }
/** Ships in flight: they left `from` at the cutoff of turn `departed` and land at the cutoff of turn `arrives`. */
export interface Fleet { owner: number; from: number; to: number; ships: number; departed: number; arrives: number }
/** A player's order: send `ships` from planet `from` to planet `to` (planet numbers, 0-based). */
export interface Order { from: number; to: number; ships: number }
/** A player's empire; it outlives their connection (a player may come back days later). */
export interface Empire { id: PlayerId; name: string; userId: string | null }
/** What `save()` returns: everything, in JSON. */
export interface GalaxySave {
  version: 1;
  seed: number;
  /** The open turn. */
  turn: number;
  maxTurns: number;
  empires: Empire[];
  planets: Planet[];
  fleets: Fleet[];
  /** The open turn's accepted orders. */
  orders: Array<Order & { empire: number }>;
}

/** The map: name, x, y (plane units), and whether it is a home planet (new players get these first). */
const MAP: Array<[string, number, number, boolean]> = [
  ['Sol', 8, 22, true], ['Vega', 72, 78, true], ['Rigel', 72, 22, true], ['Deneb', 8, 78, true],
  ['Altair', 40, 24, true], ['Sirius', 40, 85, true], ['Lyra', 24, 50, false], ['Orion', 56, 50, false],
  ['Draco', 26, 30, false], ['Hydra', 54, 70, false], ['Nova', 40, 50, false],
];
/** Distance a fleet covers per turn (plane x units; y units are 9/16 as long on a 16:9 screen). */
export const FLEET_SPEED = 12;
const HOME_SHIPS = 10;
const COLORS: Color[] = [rgba(34, 211, 238), rgba(249, 115, 22), rgba(74, 222, 128), rgba(236, 72, 153), rgba(250, 204, 21), rgba(167, 139, 250)];
const NEUTRAL = rgba(100, 116, 139);
const INK = rgba(226, 232, 240);
const DIM = rgba(148, 163, 184);

/** Turns a fleet needs from planet `a` to planet `b` (at least 1). */
export function travelTurns(a: Planet, b: Planet): number {
  return Math.max(1, Math.ceil(Math.hypot(a.x - b.x, ((a.y - b.y) * 9) / 16) / FLEET_SPEED));
}

export default class Galaxy extends TurnBasedGame {
  static override metadata(): GameMetadata {
    return {
      name: 'Galaxy',
      description: 'Turn-based conquest for 2–6 players: send fleets between planets; a turn every 30 s.',
      aspectRatio: { x: 16, y: 9 },
      tickRate: 10,
      maxPlayers: 6,
      turns: { everyMs: 30_000 },
    };
  }

  /** Rebuilds a game from what `save()` returned (after a restart, a patch or a host crash). */
  static restore(snapshot: unknown, options: Record<string, unknown> = {}): Galaxy {
    const s = snapshot as Partial<GalaxySave> | null;
    if (!s || s.version !== 1 || !Array.isArray(s.planets) || !Array.isArray(s.empires)) throw new Error('not a Galaxy snapshot (version 1)');
    const game = new Galaxy(options);
    game.state = JSON.parse(JSON.stringify({ ...game.state, ...s })) as GalaxySave;
    game.render();
    return game;
  }

  /** The game's whole state: what `save()` returns and `restore()` reads. */
  state: GalaxySave;
  /** Per player: the planet they clicked first (not saved: a click in progress), and a hint. */
  private selected = new Map<PlayerId, number>();
  private notice = new Map<PlayerId, string>();

  private readonly root = new Group();
  private readonly fleetLayer = new Group();
  private readonly scoreboard = new Group();
  private readonly privateLayer = new Group();
  private readonly turnLabel = new Text({ text: '', x: 98, y: 3, size: 3.2, color: INK, align: 'right' });
  /** One clickable circle, a name and a ship count per planet (the same nodes all game long). */
  readonly planetNodes: Array<{ body: Shape; name: Text; ships: Text }> = [];

  constructor(options: Record<string, unknown> = {}) {
    super(options);
    const seed = typeof options.seed === 'number' ? options.seed : Math.floor(Math.random() * 2 ** 32);
    const maxTurns = typeof options.maxTurns === 'number' && options.maxTurns >= 1 ? Math.floor(options.maxTurns) : 50;
    const random = seededRandom(seed);
    const planets = MAP.map(([name, x, y, home]): Planet => ({
      name, x, y, owner: -1,
      ships: home ? HOME_SHIPS : 3 + Math.floor(random() * 10),
      production: home ? 3 : 1 + Math.floor(random() * 4),
    }));
    this.state = { version: 1, seed, turn: 1, maxTurns, empires: [], planets, fleets: [], orders: [] };

    this.root.addChild(
      new Shape({ points: [[0, 0], [100, 0], [100, 100], [0, 100]], fill: rgba(8, 11, 28) }),
      new Text({ text: 'Galaxy', x: 2, y: 2, size: 4.5, color: INK, font: 'Georgia, serif' }),
      this.turnLabel, this.fleetLayer,
    );
    planets.forEach((p, i) => {
      const node = {
        body: new Shape({ shapeType: 'circle', x: p.x, y: p.y, fill: NEUTRAL, strokeWidth: 0.5, onClick: (pid) => this.clickPlanet(pid, i) }),
        name: new Text({ text: p.name, x: p.x, y: p.y - 10, size: 2.4, color: DIM, align: 'center' }),
        ships: new Text({ text: '', x: p.x, y: p.y - 1.4, size: 2.6, color: rgba(15, 23, 42), align: 'center' }),
      };
      this.planetNodes.push(node);
      this.root.addChild(node.body, node.name, node.ships);
    });
    this.root.addChild(this.scoreboard, this.privateLayer);
    this.render();
  }

  override getLayers(): Node[] {
    return [this.root];
  }

  override save(): GalaxySave {
    return JSON.parse(JSON.stringify(this.state)) as GalaxySave;
  }

  // ------------------------------------------------------------------ players

  override onPlayerJoin(player: PlayerInfo): void {
    const { empires, planets } = this.state;
    // Coming back (same player, or the same signed-in user on a new connection): the same empire.
    const back = empires.find((e) => e.id === player.id || (player.userId !== undefined && e.userId === player.userId));
    if (back) Object.assign(back, { id: player.id, name: player.name });
    else {
      // A newcomer gets a free planet, a home planet first, if there is one left.
      const free = planets.findIndex((p, i) => p.owner === -1 && MAP[i][3]);
      const planet = free >= 0 ? free : planets.findIndex((p) => p.owner === -1);
      if (planet >= 0 && empires.length < COLORS.length) {
        empires.push({ id: player.id, name: player.name, userId: player.userId ?? null });
        planets[planet].owner = empires.length - 1;
        planets[planet].ships = Math.max(planets[planet].ships, HOME_SHIPS);
      }
    }
    this.render();
  }

  override onPlayerLeave(playerId: PlayerId): void {
    this.selected.delete(playerId); // the empire stays: its planets keep producing
    this.notice.delete(playerId);
    this.render();
  }

  // ------------------------------------------------------------------ orders

  /** First click: one of your planets. Second click: the target (your selected planet again: cancel). */
  private clickPlanet(pid: PlayerId, planet: number): void {
    const from = this.selected.get(pid);
    this.notice.delete(pid);
    if (from === undefined) {
      if (this.state.planets[planet].owner === this.empireOf(pid) && this.empireOf(pid) >= 0) this.selected.set(pid, planet);
      else this.notice.set(pid, `${this.state.planets[planet].name} is not yours: click one of your planets first`);
    } else {
      this.selected.delete(pid);
      if (from !== planet) this.submitOrder(pid, { from, to: planet, ships: Math.ceil(this.freeShips(from) / 2) });
    }
    this.render();
  }

  /** Validates an order for this player (from a click or an `order` message) and records it. */
  override onOrder(pid: PlayerId, order: unknown): void {
    const empire = this.empireOf(pid);
    if (empire < 0) throw new OrderRejectedError('you have no planets in this galaxy: it was full when you joined');
    const o = (typeof order === 'object' && order !== null ? order : {}) as Record<string, unknown>;
    const from = this.planet(o.from, 'from');
    const to = this.planet(o.to, 'to');
    const source = this.state.planets[from];
    if (source.owner !== empire) throw new OrderRejectedError(`${source.name} (planet ${from}) is not your planet`);
    if (from === to) throw new OrderRejectedError(`a fleet must fly to another planet than ${source.name}`);
    const free = this.freeShips(from);
    const ships = o.ships ?? Math.ceil(free / 2);
    if (typeof ships !== 'number' || !Number.isInteger(ships) || ships < 1) throw new OrderRejectedError('ships must be a whole number, at least 1');
    if (ships > free) throw new OrderRejectedError(`not enough ships: ${source.name} has ${free} left to send this turn`);
    this.state.orders.push({ empire, from, to, ships });
    this.render();
  }

  private planet(v: unknown, field: string): number {
    const n = this.state.planets.length;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= n) {
      throw new OrderRejectedError(`unknown planet ${JSON.stringify(v) ?? 'undefined'} in "${field}": planets are numbered 0–${n - 1}`);
    }
    return v;
  }

  /** Ships of a planet not yet ordered away this turn. */
  private freeShips(planet: number): number {
    return this.state.orders.reduce((left, o) => left - (o.from === planet ? o.ships : 0), this.state.planets[planet].ships);
  }

  private empireOf(pid: PlayerId): number {
    return this.state.empires.findIndex((e) => e.id === pid);
  }

  // ------------------------------------------------------------------ the cutoff

  /** The cutoff of `turn`: launch its orders, land the fleets due, fight, produce; maybe end. */
  override generateTurn(turn: number): void {
    const { planets, orders } = this.state;
    for (const o of orders) {
      const p = planets[o.from];
      const ships = p.owner === o.empire ? Math.min(o.ships, p.ships) : 0;
      if (ships === 0) continue;
      p.ships -= ships;
      this.state.fleets.push({ owner: o.empire, from: o.from, to: o.to, ships, departed: turn, arrives: turn + travelTurns(p, planets[o.to]) });
    }
    this.state.orders = [];
    const landing = this.state.fleets.filter((f) => f.arrives <= turn);
    this.state.fleets = this.state.fleets.filter((f) => f.arrives > turn);
    planets.forEach((p, i) => {
      const arrivals = landing.filter((f) => f.to === i);
      if (arrivals.length > 0) this.fight(p, arrivals);
      if (p.owner >= 0) p.ships += p.production;
    });
    this.state.turn = turn + 1;
    this.render();
    this.endIfOver(turn);
  }

  /**
   * Everything at a planet fights at once: the garrison, reinforcements and every attacker, each
   * empire's ships summed. The largest force takes (or keeps) the planet with what it has over the
   * second largest; on a tie nobody wins and the owner keeps an empty planet.
   */
  private fight(p: Planet, arrivals: Fleet[]): void {
    const forces = new Map<number, number>([[p.owner, p.ships]]);
    for (const f of arrivals) forces.set(f.owner, (forces.get(f.owner) ?? 0) + f.ships);
    const [first, second = [p.owner, 0]] = [...forces].sort((a, b) => b[1] - a[1]);
    if (first[1] === second[1]) p.ships = 0;
    else [p.owner, p.ships] = [first[0], first[1] - second[1]];
  }

  private endIfOver(turn: number): void {
    const { empires, planets } = this.state;
    const held = empires.map((_, e) => planets.filter((p) => p.owner === e).length);
    const conqueror = held.findIndex((n) => n === planets.length);
    if (conqueror < 0 && turn < this.state.maxTurns) return;
    const best = Math.max(0, ...held);
    const key = (e: Empire) => e.userId ?? e.name;
    const winners = conqueror >= 0 ? [empires[conqueror]] : empires.filter((_, e) => best > 0 && held[e] === best);
    this.end({
      winners: winners.map(key),
      scores: Object.fromEntries(empires.map((e, i) => [key(e), held[i]])),
      summary: conqueror >= 0
        ? `${empires[conqueror].name} conquered the galaxy in ${turn} turns`
        : `after ${turn} turns ${winners.map((e) => e.name).join(' and ') || 'nobody'} held the most planets (${best})`,
    });
  }

  // ------------------------------------------------------------------ drawing

  private render(): void {
    const { planets, empires, fleets, turn, maxTurns } = this.state;
    const color = (owner: number) => (owner >= 0 ? COLORS[owner] : NEUTRAL);
    this.turnLabel.text = `Turn ${turn} of ${maxTurns}`;
    planets.forEach((p, i) => {
      const n = this.planetNodes[i];
      n.body.fill = color(p.owner);
      n.body.radius = 3 + p.production * 0.7; // a restored game's, not the constructor's map
      n.ships.text = String(p.ships);
      n.name.text = p.owner >= 0 ? `${p.name} · ${empires[p.owner].name}` : p.name;
    });

    // Fleets in flight: a faint route and a marker at the part of it covered so far.
    this.fleetLayer.clearChildren();
    for (const f of fleets) {
      const [a, b] = [planets[f.from], planets[f.to]];
      const t = (turn - f.departed) / (f.arrives - f.departed + 1);
      const [x, y] = [a.x + (b.x - a.x) * t, a.y + (b.y - a.y) * t];
      this.fleetLayer.addChild(
        new Shape({ shapeType: 'line', points: [[a.x, a.y], [b.x, b.y]], stroke: faint(color(f.owner)), strokeWidth: 0.3 }),
        new Shape({ points: arrowhead(x, y, a, b), fill: color(f.owner) }),
        new Text({ text: `${f.ships} → ${b.name}, turn ${f.arrives}`, x, y: y - 5.5, size: 2, color: color(f.owner), align: 'center' }),
      );
    }

    this.scoreboard.clearChildren();
    this.scoreboard.addChild(new Text({ text: 'Empires', x: 82, y: 12, size: 2.8, color: INK }));
    empires.forEach((e, i) => {
      const owned = planets.filter((p) => p.owner === i);
      const ships = owned.reduce((s, p) => s + p.ships, 0) + fleets.filter((f) => f.owner === i).reduce((s, f) => s + f.ships, 0);
      this.scoreboard.addChild(new Text({ text: `${e.name}: ${owned.length} planet${owned.length === 1 ? '' : 's'}, ${ships} ships`, x: 82, y: 17 + i * 4, size: 2.2, color: COLORS[i] }));
    });

    // Each player's own view: their selection, their orders for this turn, a hint. Nobody else's.
    this.privateLayer.clearChildren();
    for (const pid of this.players.keys()) this.privateLayer.addChild(this.renderPrivate(pid));
  }

  private renderPrivate(pid: PlayerId): Group {
    const { planets, orders, turn } = this.state;
    const empire = this.empireOf(pid);
    const g = new Group({ playerIds: [pid] });
    const from = this.selected.get(pid);
    let hint = empire < 0 ? 'The galaxy is full: you are watching.' : 'Click one of your planets, then a target: half of its ships fly there at the cutoff.';
    if (from !== undefined) {
      const p = planets[from];
      g.addChild(new Shape({ shapeType: 'circle', x: p.x, y: p.y, radius: 5 + p.production * 0.7, stroke: INK, strokeWidth: 0.5 }));
      hint = `${p.name} selected (${this.freeShips(from)} ships free): click the target, or ${p.name} again to cancel.`;
    }
    g.addChild(new Text({ text: this.notice.get(pid) ?? hint, x: 2, y: 8.5, size: 2.4, color: DIM }));
    const mine = orders.filter((o) => o.empire === empire);
    if (empire >= 0) g.addChild(new Text({ text: mine.length ? `Your orders for turn ${turn}:` : `No orders yet for turn ${turn}`, x: 82, y: 50, size: 2.4, color: INK }));
    mine.forEach((o, i) => {
      const [a, b] = [planets[o.from], planets[o.to]];
      g.addChild(
        new Shape({ shapeType: 'line', points: [[a.x, a.y], [b.x, b.y]], stroke: COLORS[empire], strokeWidth: 0.5 }),
        new Text({ text: `${a.name} → ${b.name}: ${o.ships} ships`, x: 82, y: 54 + i * 3.4, size: 2.2, color: COLORS[empire] }),
      );
    });
    return g;
  }
}

/** A fleet's marker at (x, y), pointing from `a` to `b` (angles as on screen, where y units are 9/16 as long). */
function arrowhead(x: number, y: number, a: Planet, b: Planet): Point[] {
  const angle = Math.atan2(((b.y - a.y) * 9) / 16, b.x - a.x);
  const at = (r: number, turn: number): Point => [x + r * Math.cos(angle + turn), y + (r * Math.sin(angle + turn) * 16) / 9];
  return [at(1.8, 0), at(1.3, 2.4), at(1.3, -2.4)];
}

/** The same colour, mostly transparent. */
function faint(c: Color): Color {
  return [c[0], c[1], c[2], 70];
}
