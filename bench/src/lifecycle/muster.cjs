'use strict';
/**
 * The lifecycle bench's turn-based game (not one of the repository's examples): up to 8 players,
 * no schedule (`turns: {}`: the bench forces each cutoff), orders `{ "move": <0–9> }` kept per turn
 * and counted in the snapshot. With the room option `ticker: true` a tick counter changes every
 * tick, so frames flow at the tick rate (the restart/patch rows time the gap between two frames);
 * without it the scene changes only on orders and turns (the 100-room row, 800 players).
 * The LABEL is replaced in the artifacts of other versions.
 */
/* global require, exports */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a game file is CommonJS, as the server loads it
const { Colors, Group, Text, TurnBasedGame, OrderRejectedError } = require('@parlor/squish');

const LABEL = 'muster 1.0.0';

class Muster extends TurnBasedGame {
  static metadata() {
    return { name: 'Muster', tickRate: 30, maxPlayers: 8, turns: {} };
  }

  static restore(s, options) {
    const g = new this(options);
    g.moves = Array.isArray(s.moves) ? s.moves.slice() : [];
    g.totals = Array.isArray(s.totals) ? s.totals.slice() : [];
    g.show();
    return g;
  }

  constructor(options) {
    super(options);
    this.ticker = Boolean(options && options.ticker);
    this.moves = [];
    this.totals = [];
    this.ticks = 0;
    this.label = new Text({ text: LABEL, x: 5, y: 5, size: 4, color: Colors.WHITE });
    this.turnText = new Text({ text: '', x: 5, y: 15, size: 4, color: Colors.WHITE });
    this.tickText = new Text({ text: 'tick 0', x: 5, y: 25, size: 4, color: Colors.WHITE });
    this.root = new Group({ children: [this.label, this.turnText, this.tickText] });
    this.show();
  }

  getLayers() {
    return [this.root];
  }

  tick() {
    if (!this.ticker) return;
    this.ticks++;
    this.tickText.text = 'tick ' + this.ticks;
  }

  onOrder(playerId, order) {
    if (!order || !Number.isInteger(order.move) || order.move < 0 || order.move > 9) throw new OrderRejectedError('send { "move": <0–9> }');
    this.moves.push({ turn: this.turn, player: playerId, move: order.move });
  }

  generateTurn(turn) {
    const total = this.moves.filter((m) => m.turn === turn).reduce((sum, m) => sum + m.move, 0);
    this.totals.push(total);
    this.moves = this.moves.filter((m) => m.turn > turn);
    this.show();
  }

  save() {
    return { moves: this.moves, totals: this.totals };
  }

  show() {
    this.turnText.text = 'turn ' + this.turn + ' totals ' + this.totals.slice(-5).join(',');
  }
}

exports.default = Muster;
