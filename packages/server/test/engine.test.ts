import { describe, expect, it } from 'vitest';
import { Game, Group, SceneMirror, Text, messageFor, type GameMetadata, type Node, type PlayerId } from '@parlor/squish';
import { ServerConfigError } from '@parlor/server';
import { InlineRuntime, RoomEngine, type EngineToHostMessage, type FramesMessage } from '../src/runtimes.js';
import { waitFor } from './helpers.js';

class Probe extends Game {
  static override metadata(): GameMetadata {
    return { name: 'Probe', tickRate: 100 };
  }
  static last: Probe | null = null;
  readonly log: string[] = [];
  readonly label = new Text({ text: 'hello' });
  readonly root = new Group({ children: [this.label] });
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
    expect(send).toMatchObject({ playerId: 7, full: true });
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

describe('RoomEngine on a manual clock (the test kit)', () => {
  const manual = (maxConsecutiveErrors = 10) => {
    const out: EngineToHostMessage[] = [];
    const engine = new RoomEngine({ gameClass: Probe, maxConsecutiveErrors }, { clock: 'manual', post: (m) => out.push(m) });
    return { engine, out };
  };
  const texts = (m: SceneMirror) => [...m.nodes.values()].filter((n): n is Text => n instanceof Text).map((n) => n.text);

  it('step() runs exactly one tick with the given dt and returns the frames it posted, marked full or delta', () => {
    const { engine, out } = manual();
    engine.start();
    const game = engine.game!;
    expect(game).toBeInstanceOf(Probe);
    engine.handle({ type: 'join', playerId: 7, name: 'Ada', spectator: false });
    engine.handle({ type: 'input', playerId: 7, event: { kind: 'keydown', key: 'a' } });
    engine.handle({ type: 'input', playerId: 7, event: { kind: 'keydown', key: 'a' } });
    // Applied at once, in order, auto-repeat dropped; no tick has run.
    expect(game.log).toEqual(['join 7 Ada players=7', 'down 7 a held=a']);
    expect(game.dts).toEqual([]);
    expect(out).toEqual([]);

    const first = engine.step(5)!;
    expect(game.dts).toEqual([5]);
    expect(out).toEqual([first]);
    expect(first.sends).toMatchObject([{ playerId: 7, full: true }]);
    const mirror = new SceneMirror();
    expect(mirror.apply(messageFor(first, 7)!)).toMatchObject({ full: true, seq: first.seq });
    expect(texts(mirror)).toEqual(['hello']);

    // Default dt: one tick period (tickRate 100 → 10 ms); nothing changed, nobody is sent anything.
    const idle = engine.step()!;
    expect(game.dts).toEqual([5, 10]);
    expect(idle.sends).toEqual([]);

    game.label.text = 'bye';
    const delta = engine.step(0)!;
    expect(delta.sends).toMatchObject([{ playerId: 7, full: false }]);
    expect(mirror.apply(messageFor(delta, 7)!)).toMatchObject({ full: false });
    expect(texts(mirror)).toEqual(['bye']);

    engine.handle({ type: 'resync', playerId: 7 });
    const resync = engine.step(0)!;
    expect(resync.sends).toMatchObject([{ playerId: 7, full: true }]);
    expect(new SceneMirror().apply(messageFor(resync, 7)!)).toMatchObject({ full: true });
    expect(out).toHaveLength(4);
    engine.stop();
    expect(engine.step(1)).toBeNull();
    expect(game.dts).toEqual([5, 10, 0, 0]);
  });

  it('step() starts the engine if needed; game errors are posted; N consecutive failures stop it', () => {
    const { engine, out } = manual(2);
    expect(engine.game).toBeNull();
    engine.step(1);
    const game = engine.game!;
    expect(game.dts).toEqual([1]);
    game.throwIn = 'tick';
    expect(engine.step(1)).toMatchObject({ type: 'frames', sends: [] }); // a tick that threw still flushes
    expect(out.filter((m) => m.type === 'error')).toMatchObject([{ where: 'tick', fatal: false }]);
    expect(engine.step(1)).toBeNull();
    expect(out.filter((m) => m.type === 'error')).toMatchObject([{ where: 'tick', fatal: false }, { where: 'tick', fatal: true }]);
    expect(out.at(-1)).toEqual({ type: 'stopped' });
    expect(engine.step(1)).toBeNull();
    expect(game.dts).toEqual([1, 1, 1]);
  });

  it('step() on an engine with the real clock is a usage error', () => {
    const engine = new RoomEngine({ gameClass: Probe }, () => {});
    let caught: unknown;
    try {
      engine.step();
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ServerConfigError);
    expect(caught).toMatchObject({ code: 'SERVER_CONFIG' });
    expect(engine.game).toBeNull();
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
