import { Colors, Game, Group, Shape, ShapeUtils, Text, type GameMetadata, type Node, type PlayerId, type PlayerInfo } from '@parlor/squish';

/** Points that win a round. */
export const WIN_SCORE = 10;
/** The dot's radius at the start of a round, and its smallest (plane units). */
const START_RADIUS = 6;
const MIN_RADIUS = 2;

/**
 * Click the dot: everyone sees the same dot, and whoever clicks it first scores a point. The dot
 * then jumps somewhere else and shrinks a little; the first to {@link WIN_SCORE} wins the round.
 *
 * The game runs on the server: the browser only draws what it is sent and sends clicks back.
 */
export default class ClickTheDot extends Game {
  static override metadata(): GameMetadata {
    return { name: '{{title}}', aspectRatio: { x: 16, y: 9 }, tickRate: 20, maxPlayers: 8 };
  }

  /** Points of each player in this round. */
  readonly scores = new Map<PlayerId, number>();
  /** The score line at the top (and the winner's name after a round). */
  readonly board = new Text({ text: 'Click the dot!', x: 50, y: 4, size: 5, align: 'center', color: Colors.WHITE });
  /** The dot to click. */
  readonly dot = new Shape({
    shapeType: 'circle',
    x: 50,
    y: 55,
    radius: START_RADIUS,
    fill: Colors.RED,
    onClick: (playerId) => this.hit(playerId),
  });
  private readonly root = new Group({
    children: [new Shape({ points: ShapeUtils.rectangle(0, 0, 100, 100), fill: Colors.NAVY }), this.board, this.dot],
  });

  override getLayers(): Node[] {
    return [this.root];
  }

  override onPlayerJoin(player: PlayerInfo): void {
    this.scores.set(player.id, 0);
    this.showScores();
  }

  override onPlayerLeave(playerId: PlayerId): void {
    this.scores.delete(playerId);
    this.showScores();
  }

  private hit(playerId: PlayerId): void {
    const score = (this.scores.get(playerId) ?? 0) + 1;
    this.dot.x = 10 + Math.random() * 80;
    this.dot.y = 20 + Math.random() * 70;
    if (score >= WIN_SCORE) {
      for (const id of this.scores.keys()) this.scores.set(id, 0);
      this.dot.radius = START_RADIUS;
      this.board.text = `${this.nameOf(playerId)} wins the round! Click the dot to play again`;
      return;
    }
    this.scores.set(playerId, score);
    this.dot.radius = Math.max(MIN_RADIUS, this.dot.radius - 0.4);
    this.showScores();
  }

  private showScores(): void {
    const line = [...this.scores].map(([id, points]) => `${this.nameOf(id)}: ${points}`).join('   ');
    this.board.text = line || 'Click the dot!';
  }

  private nameOf(playerId: PlayerId): string {
    return this.players.get(playerId)?.name ?? `player ${playerId}`;
  }
}
