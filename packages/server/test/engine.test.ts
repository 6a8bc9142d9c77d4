import { describe, expect, it } from 'vitest';
import { Game, Group, SceneMirror, Text, type GameMetadata, type Node, type PlayerId } from '@parlor/squish';
import { InlineRuntime, RoomEngine, type EngineToHostMessage, type FramesMessage } from '../src/runtimes.js';
import { waitFor } from './helpers.js';

class Probe extends Game {
  static override metadata(): GameMetadata {
    return { name: 'Probe', tickRate: 100 };
  }
  static last: Probe | null = null;
  readonly log: string[] = [];
  readonly root = new Group({ children: [new Text({ text: 'hello' })] });
  dts: number[] = [];
  throwIn: string | null = null;
  constructor(options: Record<string, unknown> = {}) {
    super(options);
    Probe.last = this;
    if (options.failConstruct) throw new Error('cannot construct');
  }
  getLayers(): Node[] {
    return [this.root];
  }
  override onPlayerJoin(p: { id: PlayerId; name: string }): void {
    this.log.push(`join ${p.id} ${p.name} players=${[...this.players.keys()].join(',')}`);
  }
  override onPlayerLeave(id: PlayerId): void {
    this.log.push(`leave ${id} players=${[...this.players.keys()].join(',')}`);
  }
  override onKeyDown(id: PlayerId, key: string): void {
    if (this.throwIn === 'key') throw new Error('key hook failed');
    this.log.push(`down ${id} ${key} held=${[...this.keysDown(id)].join(',')}`);
  }
  override onKeyUp(id: PlayerId, key: string): void {
    this.log.push(`up ${id} ${key}`);
  }
  override onText(id: PlayerId, text: string): void {
    this.log.push(`text ${id} ${text}`);
  }
  override tick(dt: number): void {
    this.dts.push(dt);
    if (this.throwIn === 'tick') throw new Error('tick failed');
  }
}

function run(options: Record<string, unknown> = {}, maxConsecutiveErrors = 10) {
  const out: EngineToHostMessage[] = [];
  const engine = new RoomEngine({ gameClass: Probe, options, maxConsecutiveErrors }, (m) => out.push(m));
  engine.start();
  return { engine, out, game: Probe.last! };
}

describe('RoomEngine', () => {
  it('maintains players, hides spectators from the game, drops key auto-repeat and ticks with real dt', async () => {
    const { engine, out, game } = run();
    engine.handle({ type: 'join', playerId: 1, name: 'Ada', spectator: false });
    engine.handle({ type: 'join', playerId: 2, name: 'Spec', spectator: true });
    engine.handle({ type: 'input', playerId: 1, event: { kind: 'keydown', key: 'a' } });
    engine.handle({ type: 'input', playerId: 1, event: { kind: 'keydown', key: 'a' } });
    engine.handle({ type: 'input', playerId: 2, event: { kind: 'keydown', key: 'b' } });
    engine.handle({ type: 'input', playerId: 1, event: { kind: 'keyup', key: 'a' } });
    engine.handle({ type: 'input', playerId: 1, event: { kind: 'text', text: 'hi' } });
    engine.handle({ type: 'leave', playerId: 2 });
    engine.handle({ type: 'leave', playerId: 1 });
    expect(game.log).toEqual(['join 1 Ada players=1', 'down 1 a held=a', 'up 1 a', 'text 1 hi', 'leave 1 players=']);
    expect([...game.players.keys()]).toEqual([]);
    await waitFor(() => game.dts.length >= 3, 'three ticks');
    expect(game.dts.every((dt) => dt > 0)).toBe(true);
    engine.stop();
    expect(out.at(-1)).toEqual({ type: 'stopped' });
  });

  it('sends each new player a full frame that a SceneMirror decodes', async () => {
    const { engine, out } = run();
    engine.handle({ type: 'join', playerId: 7, name: 'x', spectator: false });
    await waitFor(() => out.some((m) => m.type === 'frames' && m.sends.length > 0), 'a frames message with a send');
    const f = out.find((m): m is FramesMessage => m.type === 'frames' && m.sends.length > 0)!;
    const send = f.sends[0];
    expect(send.playerId).toBe(7);
    const bytes = Buffer.concat(send.parts.map((i) => f.parts[i]));
    const mirror = new SceneMirror();
    expect(mirror.apply(bytes)).toMatchObject({ full: true });
    expect([...mirror.nodes.values()].some((n) => n instanceof Text && n.text === 'hello')).toBe(true);
    engine.stop();
  });

  it('reports hook errors, keeps running, and stops after N consecutive failures', async () => {
    const { engine, out, game } = run({}, 3);
    engine.handle({ type: 'join', playerId: 1, name: 'x', spectator: false });
    game.throwIn = 'key';
    engine.handle({ type: 'input', playerId: 1, event: { kind: 'keydown', key: 'a' } });
    expect(out.filter((m) => m.type === 'error')).toMatchObject([{ where: 'onKeyDown', fatal: false, message: 'key hook failed' }]);
    game.throwIn = 'tick';
    await waitFor(() => out.some((m) => m.type === 'stopped'), 'engine stopped');
    const errors = out.filter((m) => m.type === 'error');
    expect(errors.at(-1)).toMatchObject({ where: 'tick', fatal: true });
    expect(errors.filter((e) => e.type === 'error' && e.fatal)).toHaveLength(1);
    const n = out.length;
    engine.handle({ type: 'input', playerId: 1, event: { kind: 'text', text: 'after' } });
    expect(out.length).toBe(n);
  });

  it('a constructor that throws is fatal at once', () => {
    const { out } = run({ failConstruct: true });
    expect(out).toMatchObject([{ type: 'error', where: 'constructor', fatal: true, message: 'cannot construct' }, { type: 'stopped' }]);
  });
});

describe('InlineRuntime', () => {
  it('carries messages both ways asynchronously, in order', async () => {
    const rt = new InlineRuntime();
    const s = rt.start({ roomId: 's1', game: 'probe', gameClass: Probe });
    const got: EngineToHostMessage[] = [];
    s.onMessage((m) => got.push(m));
    s.send({ type: 'join', playerId: 1, name: 'a', spectator: false });
    expect(Probe.last!.players.size).toBe(0); // not delivered synchronously
    await waitFor(() => got.some((m) => m.type === 'frames' && m.sends.length === 1), 'frames for player 1');
    expect(Probe.last!.players.size).toBe(1);
    s.send({ type: 'stop' });
    await waitFor(() => got.some((m) => m.type === 'stopped'), 'stopped');
    await s.terminate();
  });
});
