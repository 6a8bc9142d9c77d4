import { Colors, Game, Group, Shape, Text, rgba, type Color, type ClickHandler, type GameMetadata, type Node, type PlayerId, type PlayerInfo, type Point, seededRandom } from '@parlor/squish';

/**
 * "Highest card" for 2–4 players: a card game built on hidden information.
 *
 * Every player holds a private hand in the bottom band of the screen (y ≥ 70). The whole hand
 * is one group with `playerIds: [owner]`, so the server never sends those cards to anybody
 * else: opponents only see a public count ("Bob: 5 cards"), spectators see the bare felt.
 *
 * Each round every player clicks one card to play it face down (only its owner sees its face);
 * when everybody has played, the cards are revealed in the centre and the highest rank wins the
 * round (ties on rank are broken by suit: ♠ > ♥ > ♦ > ♣). Hands are 5 cards from a freshly
 * shuffled 52-card deck; when they run out a new deal starts. Players who join mid-round are
 * dealt in at the start of the next round with as many cards as everybody else holds.
 */

/** Create-time options (all optional). */
export interface HiddenHandOptions {
  /** Seed of the shuffler, for reproducible deals; default random. */
  seed?: number;
  /** How long revealed cards stay on the table, in ms; default 2600. */
  revealMs?: number;
}

/** A playing card: rank 2–14 (J = 11, Q = 12, K = 13, A = 14), suit 0–3 (♣ ♦ ♥ ♠, ascending). */
export interface Card {
  rank: number;
  suit: number;
}

const RANKS = ['', '', '2', '3', '4', '5', '6', '7', '8', '9', '10', 'J', 'Q', 'K', 'A'];
const SUITS = ['♣', '♦', '♥', '♠'];
/** Cards per player in a deal. */
export const HAND_SIZE = 5;
const MAX_PLAYERS = 4;

/** The label a card shows, e.g. `'10♥'` or `'A♠'`. */
export function cardLabel(c: Card): string {
  return RANKS[c.rank] + SUITS[c.suit];
}

/** x plane units per y plane unit on a 16:9 screen (so shapes stay round on screen). */
const X_PER_Y = 9 / 16;
/** Card size in plane units (≈ poker proportions on a 16:9 screen). */
const CARD_W = 8.5;
const CARD_H = 21;
/** Top of the bottom band where hands live. */
const BAND_Y = 70;
const HAND_Y = 75;
const HAND_GAP = 1.6;
const HOVER_LIFT = 2.2;
const TABLE_Y = 33;

const INK_RED: Color = rgba(196, 30, 58);
const INK_BLACK: Color = rgba(22, 22, 30);
const PAPER: Color = rgba(252, 250, 244);
const GOLD: Color = rgba(250, 204, 21);
const CARD_SHADOW = { color: rgba(0, 0, 0, 110), blur: 1.2, offsetX: 0.3, offsetY: 0.6 };
const SOFT: Color = rgba(236, 253, 245);
const MUTED: Color = rgba(187, 247, 208, 190);

type Phase = 'waiting' | 'playing' | 'reveal';

interface Seat {
  id: PlayerId;
  score: number;
  hand: Card[];
  /** The card played face down this round, if any. */
  played: Card | null;
  /** Dealt into the current deal (false while waiting to be dealt in). */
  active: boolean;
  /** Private root of this player's hand (bottom band). */
  handGroup: Group;
  /** Card nodes currently in the hand, in order (for hover). */
  cardNodes: Group[];
  hover: number;
  /** What the hand group currently draws (re-rendered only when this changes). */
  drawnKey: string;
}


/** A rectangle with rounded corners (radius `r` in y units, round on a 16:9 screen). */
function roundedRect(x: number, y: number, w: number, h: number, r: number): Point[] {
  const rx = r * X_PER_Y;
  const pts: Point[] = [];
  const corners: Array<[number, number, number]> = [
    [x + w - rx, y + r, -Math.PI / 2], // top right
    [x + w - rx, y + h - r, 0], // bottom right
    [x + rx, y + h - r, Math.PI / 2], // bottom left
    [x + rx, y + r, Math.PI], // top left
  ];
  for (const [cx, cy, a0] of corners) {
    for (let i = 0; i <= 3; i++) {
      const a = a0 + (i / 3) * (Math.PI / 2);
      pts.push([cx + rx * Math.cos(a), cy + r * Math.sin(a)]);
    }
  }
  return pts;
}

function ellipse(cx: number, cy: number, rx: number, ry: number, n = 48): Point[] {
  const pts: Point[] = [];
  for (let i = 0; i < n; i++) {
    const a = (i / n) * Math.PI * 2;
    pts.push([cx + rx * Math.cos(a), cy + ry * Math.sin(a)]);
  }
  return pts;
}

/** A face-up card as a group at (x, y); children use card-local coordinates. */
function faceUp(card: Card, x: number, y: number, opts: { onClick?: ClickHandler; highlight?: boolean; playerIds?: PlayerId[] } = {}): Group {
  const ink = card.suit === 1 || card.suit === 2 ? INK_RED : INK_BLACK;
  const label = cardLabel(card);
  const body = new Shape({
    points: roundedRect(0, 0, CARD_W, CARD_H, 1.4),
    fill: PAPER,
    stroke: opts.highlight ? GOLD : rgba(0, 0, 0, 60),
    strokeWidth: opts.highlight ? 0.9 : 0.3,
    shadow: opts.highlight ? { color: rgba(250, 204, 21, 220), blur: 3 } : CARD_SHADOW,
    onClick: opts.onClick ?? null,
  });
  return new Group({
    x,
    y,
    playerIds: opts.playerIds ?? null,
    children: [
      body,
      new Text({ text: label, x: 0.7, y: 0.8, size: 3.6, color: ink, font: 'Georgia, serif' }),
      new Text({ text: SUITS[card.suit], x: CARD_W / 2, y: CARD_H / 2 - 5, size: 10, color: ink, align: 'center' }),
      new Text({ text: label, x: CARD_W - 0.7, y: CARD_H - 4.4, size: 3.6, color: ink, align: 'right', font: 'Georgia, serif' }),
    ],
  });
}

/** A face-down card (the same for every card, so it leaks nothing). */
function faceDown(x: number, y: number): Group {
  const inset = 0.9;
  return new Group({
    x,
    y,
    children: [
      new Shape({ points: roundedRect(0, 0, CARD_W, CARD_H, 1.4), fill: rgba(30, 58, 138), stroke: PAPER, strokeWidth: 0.5, shadow: CARD_SHADOW }),
      new Shape({ points: roundedRect(inset, inset * 1.6, CARD_W - 2 * inset, CARD_H - 3.2 * inset, 1), fill: null, stroke: rgba(147, 197, 253), strokeWidth: 0.3 }),
      new Shape({
        points: [[CARD_W / 2, CARD_H / 2 - 4], [CARD_W / 2 + 2.2, CARD_H / 2], [CARD_W / 2, CARD_H / 2 + 4], [CARD_W / 2 - 2.2, CARD_H / 2]],
        fill: rgba(96, 165, 250),
      }),
    ],
  });
}

/** "Highest card"; see the module comment. */
export default class HiddenHand extends Game {
  static override metadata(): GameMetadata {
    return {
      name: 'Hidden Hand',
      description: 'Highest card wins: each player sees only their own hand (2–4 players).',
      aspectRatio: { x: 16, y: 9 },
      tickRate: 20,
      maxPlayers: MAX_PLAYERS,
    };
  }

  /** Seats in join order. */
  readonly seats: Seat[] = [];
  phase: Phase = 'waiting';
  /** Cards not in any hand or on the table in the current deal. */
  deck: Card[] = [];
  /** Rounds resolved since the room started. */
  roundsPlayed = 0;
  private revealLeftMs = 0;
  private readonly revealMs: number;
  private readonly rand: () => number;

  private readonly root = new Group();
  /** Full-screen table felt (the only thing in the bottom band for spectators). */
  readonly felt: Shape;
  private readonly scoreboard = new Group();
  private readonly table = new Group();
  private readonly hands = new Group();
  /** Public status line above the table. */
  readonly status: Text;
  /** What the scoreboard and the table currently draw (each re-rendered only when its key changes). */
  private scoreboardKey = '';
  private tableKey = '';

  constructor(options: Record<string, unknown> = {}) {
    super(options);
    const seed = typeof options.seed === 'number' ? options.seed : Math.floor(Math.random() * 2 ** 32);
    this.rand = seededRandom(seed);
    this.revealMs = typeof options.revealMs === 'number' && options.revealMs >= 0 ? options.revealMs : 2600;

    this.felt = new Shape({ points: [[0, 0], [100, 0], [100, 100], [0, 100]], fill: Colors.FELT });
    const tableTop = new Shape({
      points: ellipse(50, 46, 40, 20),
      fill: rgba(17, 87, 52),
      stroke: rgba(120, 72, 36),
      strokeWidth: 1.2,
      shadow: { color: rgba(0, 0, 0, 120), blur: 2.5, offsetY: 0.6 },
    });
    const title = new Text({ text: 'Hidden Hand', x: 2, y: 1.6, size: 3.6, color: SOFT, font: 'Georgia, serif' });
    const subtitle = new Text({ text: 'highest card wins the round', x: 2, y: 5.6, size: 2.4, color: MUTED });
    this.status = new Text({
      text: 'Waiting for players…',
      x: 50,
      y: 28.2,
      size: 3.4,
      color: SOFT,
      align: 'center',
      shadow: { color: rgba(0, 0, 0, 160), blur: 1, offsetY: 0.3 },
    });
    this.root.addChild(this.felt, tableTop, title, subtitle, this.scoreboard, this.status, this.table, this.hands);
    this.renderAll();
  }

  override getLayers(): Node[] {
    return [this.root];
  }

  // ------------------------------------------------------------------ players

  override onPlayerJoin(player: PlayerInfo): void {
    if (this.seats.length >= MAX_PLAYERS || this.seat(player.id)) return;
    const seat: Seat = {
      id: player.id,
      score: 0,
      hand: [],
      played: null,
      active: false,
      handGroup: new Group({ playerIds: [player.id] }),
      cardNodes: [],
      hover: -1,
      drawnKey: '',
    };
    this.seats.push(seat);
    this.hands.addChild(seat.handGroup);
    if (this.phase === 'waiting' && this.seats.length >= 2) this.startRound();
    else this.renderAll();
  }

  override onPlayerLeave(playerId: PlayerId): void {
    const seat = this.seat(playerId);
    if (!seat) return;
    this.seats.splice(this.seats.indexOf(seat), 1);
    seat.handGroup.remove();
    // Their cards go back into the deck, unseen.
    this.deck.push(...seat.hand);
    if (seat.played && this.phase === 'playing') this.deck.push(seat.played);
    this.shuffle(this.deck);

    if (this.phase === 'playing') {
      const active = this.seats.filter((s) => s.active);
      if (active.length < 2) {
        // Not enough players left for this round: take back the played cards and start again.
        for (const s of active) {
          if (s.played) s.hand.push(s.played);
          s.played = null;
        }
        this.phase = 'waiting';
        if (this.seats.length >= 2) return this.startRound();
      } else if (active.every((s) => s.played)) {
        return this.reveal();
      }
    }
    // During a reveal the leaver's card just disappears; the tick ends the reveal as usual.
    this.renderAll();
  }

  override onPointerMove(playerId: PlayerId, x: number, y: number): void {
    const seat = this.seat(playerId);
    if (!seat) return;
    const i = y >= BAND_Y ? this.cardIndexAt(seat, x, y) : -1;
    if (i === seat.hover) return;
    if (seat.hover >= 0 && seat.cardNodes[seat.hover]) seat.cardNodes[seat.hover].y = HAND_Y;
    seat.hover = i;
    if (i >= 0 && this.canPlay(seat)) seat.cardNodes[i].y = HAND_Y - HOVER_LIFT;
  }

  override tick(dtMs: number): void {
    if (this.phase !== 'reveal') return;
    this.revealLeftMs -= dtMs;
    if (this.revealLeftMs > 0) return;
    for (const s of this.seats) s.played = null;
    this.phase = 'waiting';
    if (this.seats.length >= 2) this.startRound();
    else this.renderAll();
  }

  // ------------------------------------------------------------------ rules

  /** Plays the card at `index` of the player's hand face down. Returns whether it was played. */
  play(playerId: PlayerId, index: number): boolean {
    const seat = this.seat(playerId);
    if (!seat || !this.canPlay(seat) || index < 0 || index >= seat.hand.length) return false;
    seat.played = seat.hand.splice(index, 1)[0];
    seat.hover = -1;
    if (this.seats.filter((s) => s.active).every((s) => s.played)) this.reveal();
    else this.renderAll();
    return true;
  }

  private canPlay(seat: Seat): boolean {
    return this.phase === 'playing' && seat.active && seat.played === null;
  }

  private seat(id: PlayerId): Seat | undefined {
    return this.seats.find((s) => s.id === id);
  }

  private name(id: PlayerId): string {
    return this.players.get(id)?.name ?? `Player ${id}`;
  }

  private shuffle(cards: Card[]): void {
    for (let i = cards.length - 1; i > 0; i--) {
      const j = Math.floor(this.rand() * (i + 1));
      [cards[i], cards[j]] = [cards[j], cards[i]];
    }
  }

  private freshDeal(): void {
    this.deck = [];
    for (let suit = 0; suit < 4; suit++) for (let rank = 2; rank <= 14; rank++) this.deck.push({ rank, suit });
    this.shuffle(this.deck);
    for (const s of this.seats) {
      s.hand = this.deck.splice(0, HAND_SIZE).sort(byRank);
      s.played = null;
      s.active = true;
    }
  }

  /** Starts a round: deals a new hand when hands are empty, and deals in late joiners. */
  private startRound(): void {
    const active = this.seats.filter((s) => s.active && s.hand.length > 0);
    const waiting = this.seats.filter((s) => !active.includes(s));
    const size = active.length ? active[0].hand.length : 0;
    if (active.length === 0 || size * waiting.length > this.deck.length) {
      this.freshDeal();
    } else {
      for (const s of waiting) {
        s.hand = this.deck.splice(0, size).sort(byRank);
        s.active = true;
      }
    }
    for (const s of this.seats) s.played = null;
    this.phase = 'playing';
    this.renderAll();
  }

  private reveal(): void {
    const played = this.seats.filter((s) => s.active && s.played);
    let winner: Seat | null = null;
    for (const s of played) {
      if (!winner || beats(s.played!, winner.played!)) winner = s;
    }
    this.phase = 'reveal';
    this.revealLeftMs = this.revealMs;
    this.roundsPlayed++;
    if (winner) {
      winner.score++;
      this.status.text = `${this.name(winner.id)} wins the round with ${cardLabel(winner.played!)}!`;
    }
    this.renderAll(winner);
  }

  // ------------------------------------------------------------------ drawing

  private renderAll(winner: Seat | null = null): void {
    this.renderScoreboard();
    this.renderTable(winner);
    for (const s of this.seats) this.renderHand(s);
    if (this.phase === 'waiting') {
      this.status.text = this.seats.length < 2 ? `Waiting for players… (${this.seats.length}/2)` : 'Dealing…';
    } else if (this.phase === 'playing') {
      const pending = this.seats.filter((s) => s.active && !s.played).map((s) => this.name(s.id));
      this.status.text = pending.length ? `Waiting for ${pending.join(', ')}` : '';
    }
  }

  private renderScoreboard(): void {
    const state = (s: Seat): string =>
      !s.active ? 'dealt in next round' : s.played ? (this.phase === 'reveal' ? 'revealed' : 'played ✓') : this.phase === 'playing' ? 'thinking…' : '';
    const key = this.seats.map((s) => `${s.id}:${this.name(s.id)}:${s.hand.length}:${s.score}:${state(s)}`).join('|');
    if (key === this.scoreboardKey) return;
    this.scoreboardKey = key;
    this.scoreboard.clearChildren();
    this.seats.forEach((s, i) => {
      const x = 12.5 + 25 * i;
      const cards = s.hand.length;
      this.scoreboard.addChild(
        // Only you see the highlight behind your own entry.
        new Shape({ points: roundedRect(x - 11, 9.4, 22, 11.6, 1.2), fill: rgba(255, 255, 255, 28), stroke: rgba(255, 255, 255, 90), strokeWidth: 0.25, playerIds: [s.id] }),
        new Text({ text: `${this.name(s.id)}: ${cards} card${cards === 1 ? '' : 's'}`, x, y: 10.2, size: 3.2, color: SOFT, align: 'center' }),
        new Text({ text: `${s.score} pt${s.score === 1 ? '' : 's'}${state(s) ? ' · ' + state(s) : ''}`, x, y: 14.8, size: 2.5, color: MUTED, align: 'center' }),
      );
    });
  }

  private renderTable(winner: Seat | null): void {
    const seated = this.seats.filter((s) => s.active);
    const key = `${this.phase}:${winner?.id ?? ''}:` + seated.map((s) => `${s.id}:${this.name(s.id)}:${s.played ? cardLabel(s.played) : ''}`).join('|');
    if (key === this.tableKey) return;
    this.tableKey = key;
    this.table.clearChildren();
    const step = 16;
    const x0 = 50 - ((seated.length - 1) * step) / 2 - CARD_W / 2;
    seated.forEach((s, i) => {
      const x = x0 + i * step;
      this.table.addChild(
        new Shape({ points: roundedRect(x, TABLE_Y, CARD_W, CARD_H, 1.4), fill: rgba(0, 0, 0, 40), stroke: rgba(255, 255, 255, 60), strokeWidth: 0.25 }),
        new Text({ text: this.name(s.id), x: x + CARD_W / 2, y: TABLE_Y + CARD_H + 1.2, size: 2.6, color: SOFT, align: 'center' }),
      );
      if (!s.played) return;
      if (this.phase === 'reveal') {
        const won = s === winner;
        this.table.addChild(faceUp(s.played, x, TABLE_Y, { highlight: won }));
        if (won) this.table.addChild(new Text({ text: '+1', x: x + CARD_W + 0.6, y: TABLE_Y - 1, size: 3.4, color: GOLD, shadow: { color: rgba(0, 0, 0, 180), blur: 0.8 } }));
      } else {
        // Everybody sees the back; only the owner sees the face, drawn over it.
        this.table.addChild(faceDown(x, TABLE_Y), faceUp(s.played, x, TABLE_Y, { playerIds: [s.id] }));
      }
    });
  }

  private renderHand(seat: Seat): void {
    const canPlay = this.canPlay(seat);
    const hint = !seat.active
      ? 'You will be dealt in next round'
      : canPlay
        ? 'Your hand · click a card to play it face down'
        : this.phase === 'playing'
          ? 'Your hand · waiting for the others'
          : 'Your hand';
    const key = `${hint}:${seat.hand.map(cardLabel).join(',')}`;
    if (key === seat.drawnKey) return;
    seat.drawnKey = key;
    const g = seat.handGroup;
    g.clearChildren();
    seat.cardNodes = [];
    seat.hover = -1;
    g.addChild(new Text({ text: hint, x: 50, y: BAND_Y + 0.6, size: 2.6, color: MUTED, align: 'center' }));
    const n = seat.hand.length;
    const x0 = 50 - (n * CARD_W + (n - 1) * HAND_GAP) / 2;
    seat.hand.forEach((card, i) => {
      const node = faceUp(card, x0 + i * (CARD_W + HAND_GAP), HAND_Y, {
        // Only the owner can see (and so click) the card; check anyway.
        onClick: canPlay ? (pid) => void (pid === seat.id && this.play(pid, seat.hand.indexOf(card))) : undefined,
      });
      seat.cardNodes.push(node);
      g.addChild(node);
    });
  }

  private cardIndexAt(seat: Seat, x: number, y: number): number {
    if (y < HAND_Y - HOVER_LIFT || y > HAND_Y + CARD_H) return -1;
    const n = seat.hand.length;
    const x0 = 50 - (n * CARD_W + (n - 1) * HAND_GAP) / 2;
    const i = Math.floor((x - x0) / (CARD_W + HAND_GAP));
    if (i < 0 || i >= n || x - x0 - i * (CARD_W + HAND_GAP) > CARD_W) return -1;
    return i;
  }
}

function beats(a: Card, b: Card): boolean {
  return a.rank !== b.rank ? a.rank > b.rank : a.suit > b.suit;
}

function byRank(a: Card, b: Card): number {
  return a.rank - b.rank || a.suit - b.suit;
}
