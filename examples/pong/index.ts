import { Colors, Game, Group, Shape, ShapeUtils, Text, rgba, type Color, type GameMetadata, type Node, type PlayerId, type PlayerInfo, seededRandom } from '@parlor/squish';

/**
 * Two-player real-time Pong at 60 Hz.
 *
 * The first player to join plays the left paddle, the second the right one; ArrowUp/ArrowDown
 * (or W/S) move your own paddle. The ball waits until both seats are taken, speeds up a little
 * on every paddle hit, and the first to {@link PongOptions.winScore} points wins the match.
 *
 * Units: the 0–100 plane on a 16:9 screen, so one unit across is 9/16 of one unit down. Speeds
 * are "height units per second" (isotropic on screen) and converted on the x axis.
 */

/** Create-time options (all optional). */
export interface PongOptions {
  /** Seed of the serve-angle generator, for reproducible matches; default random. */
  seed?: number;
  /** Points needed to win a match; default 7. */
  winScore?: number;
}

/** x plane units per y plane unit on a 16:9 screen. */
const X_PER_Y = 9 / 16;

const BG: Color = rgba(9, 12, 26);
const LEFT_COLOR: Color = Colors.CYAN;
const RIGHT_COLOR: Color = Colors.ORANGE;
const DIM: Color = rgba(255, 255, 255, 70);
const SOFT: Color = rgba(226, 232, 240);

/** Paddle geometry in plane units. */
const PADDLE_W = 2;
const PADDLE_H = 18;
const LEFT_X = 2;
const RIGHT_X = 96;
/** Paddle speed in plane (y) units per second. */
const PADDLE_SPEED = 95;

/** Ball radius in y units (circles are round on screen). */
const BALL_R = 1.6;
/** Serve speed and cap, in y units per second (isotropic); each hit multiplies by SPEED_UP. */
const SERVE_SPEED = 70;
const MAX_SPEED = 230;
const SPEED_UP = 1.07;
/** Largest bounce angle off a paddle edge, radians. */
const MAX_BOUNCE = (60 * Math.PI) / 180;
/** Pause before a serve, ms. */
const SERVE_DELAY_MS = 1200;
/** Pause on the winner's banner, ms. */
const WIN_DELAY_MS = 3500;
/** How long a paddle flashes after a hit, ms. */
const FLASH_MS = 90;

type Side = 0 | 1;
type Phase = 'waiting' | 'serve' | 'play' | 'won';


class Paddle {
  /** Top edge, plane y units. */
  y = 50 - PADDLE_H / 2;
  flashMs = 0;
  readonly shape: Shape;

  constructor(readonly side: Side, readonly color: Color) {
    this.shape = new Shape({
      points: ShapeUtils.rectangle(this.left, this.y, PADDLE_W, PADDLE_H),
      fill: color,
      shadow: { color: rgba(color[0], color[1], color[2], 170), blur: 2.5 },
    });
  }

  get left(): number {
    return this.side === 0 ? LEFT_X : RIGHT_X;
  }

  get centre(): number {
    return this.y + PADDLE_H / 2;
  }

  moveTo(y: number): void {
    const ny = Math.max(0, Math.min(100 - PADDLE_H, y));
    if (ny === this.y) return;
    this.y = ny;
    this.shape.points = ShapeUtils.rectangle(this.left, ny, PADDLE_W, PADDLE_H);
  }

  reset(): void {
    this.moveTo(50 - PADDLE_H / 2);
  }

  flash(): void {
    this.flashMs = FLASH_MS;
    this.shape.fill = Colors.WHITE;
  }

  update(dtMs: number): void {
    if (this.flashMs > 0) {
      this.flashMs -= dtMs;
      if (this.flashMs <= 0) this.shape.fill = this.color;
    }
  }
}

/** Pong for two players; see the module comment. */
export default class Pong extends Game {
  static override metadata(): GameMetadata {
    return {
      name: 'Pong',
      description: 'Classic two-player Pong at 60 Hz: ↑/↓ or W/S move your paddle.',
      aspectRatio: { x: 16, y: 9 },
      tickRate: 60,
      maxPlayers: 2,
    };
  }

  /** The player in each seat: index 0 = left paddle, 1 = right paddle. */
  readonly seats: [PlayerId | null, PlayerId | null] = [null, null];
  readonly scores: [number, number] = [0, 0];
  readonly paddles: [Paddle, Paddle] = [new Paddle(0, LEFT_COLOR), new Paddle(1, RIGHT_COLOR)];
  /** Ball centre (plane units) and velocity (y units per second, isotropic). */
  readonly ball = { x: 50, y: 50, vx: 0, vy: 0, speed: SERVE_SPEED };
  phase: Phase = 'waiting';
  /** Time left in the current pause (serve / won), ms. */
  private timerMs = 0;
  /** Who receives the next serve. */
  private serveTo: Side;
  private readonly rand: () => number;
  private readonly winScore: number;

  private readonly root = new Group();
  /** The ball's circle node. */
  readonly ballShape: Shape;
  private readonly scoreTexts: [Text, Text];
  private readonly nameTexts: [Text, Text];
  /** Centre banner: waiting / get ready / winner. */
  readonly status: Text;
  /** Per-player private hint ("you are the left paddle"), keyed by player. */
  private readonly hints = new Map<PlayerId, Text>();

  constructor(options: Record<string, unknown> = {}) {
    super(options);
    const seed = typeof options.seed === 'number' ? options.seed : Math.floor(Math.random() * 2 ** 32);
    this.rand = seededRandom(seed);
    this.winScore = typeof options.winScore === 'number' && options.winScore > 0 ? Math.floor(options.winScore) : 7;
    this.serveTo = this.rand() < 0.5 ? 0 : 1;

    const background = new Shape({ points: ShapeUtils.rectangle(0, 0, 100, 100), fill: BG });
    const frame = new Shape({
      shapeType: 'line',
      points: [[0.4, 0.6], [99.6, 0.6], [99.6, 99.4], [0.4, 99.4], [0.4, 0.6]],
      stroke: rgba(255, 255, 255, 40),
      strokeWidth: 0.5,
    });
    const net = new Group();
    for (let y = 1.5; y < 100; y += 6) {
      net.addChild(new Shape({ shapeType: 'line', points: [[50, y], [50, Math.min(y + 3, 98.5)]], stroke: DIM, strokeWidth: 0.7 }));
    }
    this.scoreTexts = [
      new Text({ text: '0', x: 44, y: 4, size: 13, color: LEFT_COLOR, align: 'right', font: 'monospace' }),
      new Text({ text: '0', x: 56, y: 4, size: 13, color: RIGHT_COLOR, align: 'left', font: 'monospace' }),
    ];
    this.nameTexts = [
      new Text({ text: '', x: 25, y: 5, size: 3.5, color: SOFT, align: 'center' }),
      new Text({ text: '', x: 75, y: 5, size: 3.5, color: SOFT, align: 'center' }),
    ];
    this.status = new Text({
      text: 'Waiting for players…',
      x: 50,
      y: 62,
      size: 5,
      color: Colors.WHITE,
      align: 'center',
      shadow: { color: rgba(0, 0, 0, 200), blur: 1.5, offsetX: 0.3, offsetY: 0.4 },
    });
    this.ballShape = new Shape({
      shapeType: 'circle',
      x: 50,
      y: 50,
      radius: BALL_R,
      fill: Colors.WHITE,
      shadow: { color: rgba(255, 255, 255, 150), blur: 2 },
    });
    this.root.addChild(
      background, frame, net,
      ...this.scoreTexts, ...this.nameTexts,
      this.paddles[0].shape, this.paddles[1].shape,
      this.ballShape, this.status,
    );
    this.refreshNames();
  }

  override getLayers(): Node[] {
    return [this.root];
  }

  override onPlayerJoin(player: PlayerInfo): void {
    const side: Side = this.seats[0] === null ? 0 : 1;
    if (this.seats[side] !== null) return; // cannot happen with maxPlayers 2; ignore defensively
    this.seats[side] = player.id;
    const hint = new Text({
      text: `You are the ${side === 0 ? 'left' : 'right'} paddle · ↑/↓ or W/S`,
      x: side === 0 ? 6 : 94,
      y: 94,
      size: 3,
      color: this.paddles[side].color,
      align: side === 0 ? 'left' : 'right',
      playerIds: [player.id],
    });
    this.hints.set(player.id, hint);
    this.root.addChild(hint);
    this.refreshNames();
    if (this.seats[0] !== null && this.seats[1] !== null) this.newMatch();
  }

  override onPlayerLeave(playerId: PlayerId): void {
    const side = this.seats.indexOf(playerId);
    if (side < 0) return;
    this.seats[side] = null;
    this.hints.get(playerId)?.remove();
    this.hints.delete(playerId);
    // The one left behind waits for a new opponent; the match starts over.
    this.phase = 'waiting';
    this.scores[0] = this.scores[1] = 0;
    this.refreshScores();
    this.paddles[side].reset();
    this.placeBall(50, 50);
    this.refreshNames();
  }

  override tick(dtMs: number): void {
    const dt = Math.min(dtMs, 100);
    // Paddles move in every phase, so a lone player can warm up.
    for (const side of [0, 1] as const) {
      const paddle = this.paddles[side];
      paddle.update(dt);
      const id = this.seats[side];
      if (id === null) continue;
      const keys = this.keysDown(id);
      const dir = (keys.has('ArrowDown') || keys.has('s') || keys.has('S') ? 1 : 0) - (keys.has('ArrowUp') || keys.has('w') || keys.has('W') ? 1 : 0);
      if (dir !== 0) paddle.moveTo(paddle.y + (dir * PADDLE_SPEED * dt) / 1000);
    }

    switch (this.phase) {
      case 'waiting':
        return;
      case 'won':
        this.timerMs -= dt;
        if (this.timerMs <= 0) this.newMatch();
        return;
      case 'serve':
        this.timerMs -= dt;
        if (this.timerMs <= 0) this.serve();
        return;
      case 'play': {
        // Sub-step so a fast ball never tunnels through a paddle.
        const steps = Math.max(1, Math.ceil((this.ball.speed * dt) / 1000 / 1.5));
        for (let i = 0; i < steps && this.phase === 'play'; i++) this.step(dt / steps);
        this.placeBall(this.ball.x, this.ball.y);
      }
    }
  }

  // ------------------------------------------------------------------ rules

  private newMatch(): void {
    this.scores[0] = this.scores[1] = 0;
    this.refreshScores();
    this.startServe();
  }

  private startServe(): void {
    this.placeBall(50, 50);
    this.phase = 'serve';
    this.timerMs = SERVE_DELAY_MS;
    this.status.text = 'Get ready…';
    this.status.color = Colors.WHITE;
  }

  private serve(): void {
    const angle = (this.rand() * 2 - 1) * (Math.PI / 6);
    const dir = this.serveTo === 0 ? -1 : 1;
    this.ball.speed = SERVE_SPEED;
    this.ball.vx = dir * SERVE_SPEED * Math.cos(angle);
    this.ball.vy = SERVE_SPEED * Math.sin(angle);
    this.phase = 'play';
    this.status.text = '';
  }

  /** Advances the ball by `dtMs` (one sub-step): walls, paddles, goals. */
  private step(dtMs: number): void {
    const b = this.ball;
    const rx = BALL_R * X_PER_Y;
    const px = b.x;
    const py = b.y;
    let nx = px + ((b.vx * X_PER_Y) * dtMs) / 1000;
    let ny = py + (b.vy * dtMs) / 1000;

    if (ny - BALL_R < 0) {
      ny = BALL_R + (BALL_R - ny);
      b.vy = Math.abs(b.vy);
    } else if (ny + BALL_R > 100) {
      ny = 100 - BALL_R - (ny + BALL_R - 100);
      b.vy = -Math.abs(b.vy);
    }

    // Left paddle face at x = LEFT_X + PADDLE_W, right paddle face at x = RIGHT_X.
    if (b.vx < 0) {
      const face = LEFT_X + PADDLE_W;
      if (px - rx >= face && nx - rx < face) {
        const t = (px - rx - face) / (px - nx);
        if (this.hits(this.paddles[0], py + (ny - py) * t)) {
          nx = face + rx;
          this.bounce(this.paddles[0], py + (ny - py) * t, 1);
        }
      }
    } else if (b.vx > 0) {
      const face = RIGHT_X;
      if (px + rx <= face && nx + rx > face) {
        const t = (face - px - rx) / (nx - px);
        if (this.hits(this.paddles[1], py + (ny - py) * t)) {
          nx = face - rx;
          this.bounce(this.paddles[1], py + (ny - py) * t, -1);
        }
      }
    }
    b.x = nx;
    b.y = ny;

    if (b.x + rx < 0) this.point(1);
    else if (b.x - rx > 100) this.point(0);
  }

  private hits(p: Paddle, y: number): boolean {
    return y >= p.y - BALL_R && y <= p.y + PADDLE_H + BALL_R;
  }

  /** Sends the ball back; the further from the paddle's centre it hits, the steeper it leaves. */
  private bounce(p: Paddle, hitY: number, dir: 1 | -1): void {
    const rel = Math.max(-1, Math.min(1, (hitY - p.centre) / (PADDLE_H / 2 + BALL_R)));
    const angle = rel * MAX_BOUNCE;
    const b = this.ball;
    b.speed = Math.min(MAX_SPEED, b.speed * SPEED_UP);
    b.vx = dir * b.speed * Math.cos(angle);
    b.vy = b.speed * Math.sin(angle);
    p.flash();
  }

  private point(scorer: Side): void {
    this.scores[scorer]++;
    this.refreshScores();
    this.serveTo = scorer === 0 ? 1 : 0; // the player who conceded receives
    if (this.scores[scorer] >= this.winScore) {
      this.placeBall(50, 50);
      this.phase = 'won';
      this.timerMs = WIN_DELAY_MS;
      this.status.text = `${this.seatName(scorer)} wins ${this.scores[scorer]}–${this.scores[scorer === 0 ? 1 : 0]}!`;
      this.status.color = this.paddles[scorer].color;
      return;
    }
    this.startServe();
  }

  // ------------------------------------------------------------------ drawing

  private placeBall(x: number, y: number): void {
    this.ball.x = x;
    this.ball.y = y;
    this.ballShape.x = x;
    this.ballShape.y = y;
  }

  private seatName(side: Side): string {
    const id = this.seats[side];
    return id === null ? (side === 0 ? 'Left' : 'Right') : (this.players.get(id)?.name ?? `Player ${id}`);
  }

  private refreshScores(): void {
    this.scoreTexts[0].text = String(this.scores[0]);
    this.scoreTexts[1].text = String(this.scores[1]);
  }

  private refreshNames(): void {
    for (const side of [0, 1] as const) {
      this.nameTexts[side].text = this.seats[side] === null ? 'waiting…' : this.seatName(side);
      this.nameTexts[side].color = this.seats[side] === null ? DIM : SOFT;
    }
    if (this.phase === 'waiting') {
      const n = (this.seats[0] !== null ? 1 : 0) + (this.seats[1] !== null ? 1 : 0);
      this.status.text = n === 0 ? 'Waiting for players…' : 'Waiting for a second player…';
      this.status.color = Colors.WHITE;
    }
  }
}
