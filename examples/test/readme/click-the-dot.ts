import { Game, Group, Shape, ShapeUtils, Text, Colors, type PlayerInfo, type PlayerId } from '@parlor/squish';

export default class ClickTheDot extends Game {
  static override metadata() {
    return { name: 'Click the dot', aspectRatio: { x: 16, y: 9 }, tickRate: 20, maxPlayers: 8 };
  }

  private scores = new Map<PlayerId, number>();
  private board = new Text({ text: 'Click the dot!', x: 50, y: 4, size: 5, align: 'center' });
  private dot = new Shape({
    shapeType: 'circle', x: 50, y: 50, radius: 5, fill: Colors.RED,
    onClick: (playerId) => this.hit(playerId),
  });
  private root = new Group({
    children: [new Shape({ points: ShapeUtils.rectangle(0, 0, 100, 100), fill: Colors.NAVY }), this.board, this.dot],
  });

  override getLayers() {
    return [this.root];
  }

  override onPlayerJoin(player: PlayerInfo) {
    this.scores.set(player.id, 0);
    this.showScores();
  }

  override onPlayerLeave(playerId: PlayerId) {
    this.scores.delete(playerId);
    this.showScores();
  }

  private hit(playerId: PlayerId) {
    this.scores.set(playerId, (this.scores.get(playerId) ?? 0) + 1);
    this.dot.x = 10 + Math.random() * 80;
    this.dot.y = 20 + Math.random() * 70;
    this.showScores();
  }

  private showScores() {
    this.board.text = [...this.scores].map(([id, n]) => `${this.players.get(id)?.name}: ${n}`).join('   ');
  }
}
