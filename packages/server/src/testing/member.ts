import {
  NodeKind, SceneMirror, SquishEncodeError, decodeClientMessage, encodeClientMessage, frameNodes,
  type FrameNodeEntry, type InputEvent, type Node, type PlaneAspect, type PlaneHitOptions, type PlayerId,
} from '@parlor/squish';
import { misuse } from './errors.js';
import type { OrderResult } from './turns.js';
import { describeNode, TestView } from './view.js';

/** @internal What a member needs from its room: where its input and orders go (after the real wire's encode and decode). */
export interface MemberPort {
  readonly aspect: PlaneAspect;
  readonly hit: PlaneHitOptions;
  input(member: TestPlayer, event: InputEvent): void;
  order(member: TestPlayer, id: number, order: string): void;
}

/**
 * A room member as the test kit simulates it: a player ({@link TestPlayer}) or a spectator
 * ({@link TestSpectator}), with the view its socket's bytes give it and those bytes themselves.
 *
 * @example
 * const [ann] = room.players;
 * room.step();
 * ann.view.texts();           // what Ann sees
 * ann.bytesContain('A♠');     // whether that string is anywhere in the bytes Ann was sent
 */
export abstract class TestMember {
  /** Every frame message this member's socket received, in order (each one WebSocket message: its parts joined). */
  readonly received: Uint8Array[] = [];
  /** The member's decoded view: the scene rebuilt from {@link received} by squish's `SceneMirror`. */
  readonly view: TestView;
  /** Whether the player is a spectator. */
  abstract readonly spectator: boolean;
  private gotFull = false;
  private _left = false;

  /** @internal */
  constructor(
    /** The id the room gave this member (the engine's `PlayerId`; players and spectators share one sequence from 1). */
    readonly id: PlayerId,
    /** The member's name (what `onPlayerJoin` gets for a player). */
    readonly name: string,
    aspect: PlaneAspect,
    hit: PlaneHitOptions,
  ) {
    this.view = new TestView(new SceneMirror(), aspect, name, hit);
  }

  /** Whether the member has left the room ({@link TestRoom.leave}); its view keeps the last frame it got. */
  get left(): boolean {
    return this._left;
  }

  /**
   * Whether `text` (as UTF-8) appears anywhere in the bytes this member was ever sent: a raw
   * check that no encoding of the view hides.
   * @example expect(bob.bytesContain(cardLabel(annsCard))).toBe(false)
   */
  bytesContain(text: string): boolean {
    const pat = new TextEncoder().encode(text);
    return this.received.some((buf) => indexOf(buf, pat) >= 0);
  }

  /**
   * @internal one frame message for this member, as fan-out delivers it (nothing before a first
   * full frame); returns what it carried, node by node, or `null` when it was not delivered
   */
  _receive(bytes: Uint8Array, full: boolean): FrameNodeEntry[] | null {
    if (!this.gotFull && !full) return null;
    this.gotFull = true;
    this.received.push(bytes);
    const carried = frameNodes(bytes, this.view.mirror.nodes);
    const applied = this.view.mirror.apply(bytes);
    if (applied.full !== full) throw new Error(`the engine marked a frame for ${this.name} ${full ? 'full' : 'delta'} but its bytes are a ${applied.full ? 'full frame' : 'delta'}: a Parlor bug`);
    return carried;
  }

  /** @internal */
  _leave(): void {
    this._left = true;
  }

  /** @internal throws when the member left */
  protected present(what: string): void {
    if (this._left) throw misuse(`${this.name} left the room and cannot ${what}`);
  }
}

/**
 * A spectator: watches the room (spectators are never shown to the game, and their client sends
 * no input), with its own {@link TestView} of what spectators are sent.
 * @example
 * const room = createTestRoom(HiddenHand, { players: 2, spectators: 1 });
 * room.step();
 * room.spectators[0].view.texts(); // what a spectator sees: counts, never cards
 */
export class TestSpectator extends TestMember {
  /** Always `true`. */
  readonly spectator = true as const;
}

/**
 * A gamepad state to send: missing buttons and axes are empty lists, `index` defaults to 0.
 * @example
 * const stickLeft: GamepadInput = { axes: [-1, 0] };
 */
export interface GamepadInput {
  /** The pad's index (0–255); default 0. */
  index?: number;
  /** Button values 0–1 (pressed = 1). */
  buttons?: readonly number[];
  /** Axis values −1–1. */
  axes?: readonly number[];
}

/**
 * A point in plane units (0–100 across and down the screen).
 * @example
 * ann.click({ x: 50, y: 85 } satisfies PlanePoint);
 */
export interface PlanePoint {
  x: number;
  y: number;
}

/**
 * What {@link TestPlayer.click} clicks: a node id, a text (exact string or RegExp), a node of the view, or a point.
 * @example
 * const targets: ClickTarget[] = [12, 'Deal', /^Deal/, game.dealButton, { x: 50, y: 85 }];
 */
export type ClickTarget = number | string | RegExp | Node | PlanePoint;

/**
 * A simulated player. Every input helper sends what the browser client sends for that gesture
 * (see `@parlor/client`'s `InputController`), through the real wire encoding and decoding, and
 * the game's hooks run at once; what they change reaches the views on the next `room.step()`.
 *
 * - keys: {@link press} (down, up), {@link hold}, {@link release} — `KeyboardEvent.key` values
 *   such as `'ArrowUp'`, `'a'`, `' '`; the client sends one `keydown` per held key (no auto-repeat).
 * - pointer, in plane units: {@link pointerDown} (a `pointerdown`, then a `click` on the node the
 *   client's hit test finds there), {@link pointerMove}, {@link pointerUp}, and {@link click}
 *   (down and up, on a node by id, text or position).
 * - {@link gamepad}: one pad's state, rounded as the client rounds it.
 * - {@link send}: any raw input event, for what the helpers do not cover.
 *
 * @example
 * const [ann, bob] = room.players;
 * ann.hold('ArrowDown');
 * room.step(500);              // half a second with the key held
 * ann.release('ArrowDown');
 * bob.click('Deal');           // the Text "Deal" (or the clickable node under it)
 * bob.click({ x: 50, y: 85 }); // whatever a click there reaches
 * room.step();
 */
export class TestPlayer extends TestMember {
  /** Always `false`. */
  readonly spectator = false as const;
  /**
   * Every `orderResult` this player's client got, in order: answers to {@link order}, and (id 0)
   * input refused while the room is paused, generating a turn or finished (one per refused input
   * event; a live host sends at most one a second), and orders the game made from this player's
   * clicks (`submitOrder`).
   */
  readonly orderResults: OrderResult[] = [];
  private readonly heldKeys = new Set<string>();
  private pointerIsDown = false;
  private nextOrderId = 1;

  /** @internal */
  constructor(id: PlayerId, name: string, private readonly port: MemberPort) {
    super(id, name, port.aspect, port.hit);
  }

  /** Keys this player holds now (as their client sent them). */
  get held(): ReadonlySet<string> {
    return this.heldKeys;
  }

  /**
   * Presses and releases a key: `keydown`, then `keyup`.
   * @throws `SERVER_TESTING_MISUSE` when the key is held (a held key is not pressed again) or the player left
   * @example ann.press('+');
   */
  press(key: string): this {
    this.hold(key);
    return this.release(key);
  }

  /**
   * Presses a key and keeps it held (`keydown`); `game.keysDown(id)` has it until {@link release}.
   * @throws `SERVER_TESTING_MISUSE` when the key is already held (the client sends no auto-repeat) or the player left
   * @example ann.hold('ArrowDown'); room.step(1000);
   */
  hold(key: string): this {
    this.present(`hold ${JSON.stringify(key)}`);
    if (this.heldKeys.has(key)) throw misuse(`${this.name} already holds ${JSON.stringify(key)}: the client sends one keydown per held key (release it first)`);
    this.send({ kind: 'keydown', key });
    this.heldKeys.add(key);
    return this;
  }

  /**
   * Releases a held key (`keyup`).
   * @throws `SERVER_TESTING_MISUSE` when the key is not held or the player left
   * @example ann.release('ArrowDown');
   */
  release(key: string): this {
    this.present(`release ${JSON.stringify(key)}`);
    if (!this.heldKeys.has(key)) {
      const held = [...this.heldKeys].map((k) => JSON.stringify(k)).join(', ');
      throw misuse(`${this.name} does not hold ${JSON.stringify(key)} (held: ${held || 'nothing'})`);
    }
    this.heldKeys.delete(key);
    this.send({ kind: 'keyup', key });
    return this;
  }

  /** Releases every held key, as the client does when its window loses focus. @example ann.releaseAll(); */
  releaseAll(): this {
    for (const key of [...this.heldKeys]) this.release(key);
    return this;
  }

  /**
   * Moves the pointer to (`x`, `y`) in plane units (`pointermove`).
   * @throws `SERVER_TESTING_MISUSE` for a point outside 0–100 while no pointer is down (the client only reports moves outside the game area while a press is captured)
   * @example ann.pointerMove(40, 85);
   */
  pointerMove(x: number, y: number): this {
    this.present('move the pointer');
    if (!this.pointerIsDown) this.onPlane(x, y, 'move the pointer');
    return this.send({ kind: 'pointermove', x, y });
  }

  /**
   * Presses the pointer at (`x`, `y`): a `pointerdown`, then, when the client's hit test finds a
   * clickable node there, a `click` on it (what the browser sends on a press).
   * @throws `SERVER_TESTING_MISUSE` for a point outside 0–100 (the client ignores presses on the letterbox bars), a pointer already down, or a player who left
   * @example ann.pointerDown(50, 85).pointerUp(50, 85);
   */
  pointerDown(x: number, y: number): this {
    this.present('press the pointer');
    this.onPlane(x, y, 'press');
    if (this.pointerIsDown) throw misuse(`${this.name}'s pointer is already down (pointerUp first)`);
    const target = this.view.ready ? this.view.clickableAt(x, y) : null;
    this.send({ kind: 'pointerdown', x, y });
    this.pointerIsDown = true;
    if (target) this.send({ kind: 'click', nodeId: target.id, x, y });
    return this;
  }

  /**
   * Releases the pointer at (`x`, `y`) (`pointerup`).
   * @throws `SERVER_TESTING_MISUSE` when no pointer is down or the player left
   * @example ann.pointerUp(50, 85);
   */
  pointerUp(x: number, y: number): this {
    this.present('release the pointer');
    if (!this.pointerIsDown) throw misuse(`${this.name}'s pointer is not down (pointerDown first)`);
    this.pointerIsDown = false;
    return this.send({ kind: 'pointerup', x, y });
  }

  /**
   * Clicks (pointer down and up) where the browser would for the target:
   * - a point `{ x, y }`: there, whatever the client's hit test finds (maybe nothing);
   * - a node id, a `Node`, a text (exact string) or a RegExp (one `Text` matching it) in this
   *   player's view: at a point inside that node (centre first) where the client's hit test
   *   reaches the node itself if it is clickable, else its nearest clickable ancestor, else
   *   whatever clickable node lies under it (a label drawn on a card clicks the card). Texts that
   *   all click the same node (a card's two corner labels) count as one.
   * The game's `onClick` gets the player's id and the point, in plane units.
   * @throws `SERVER_TESTING_MISUSE` when the player was not shown the node, neither it nor an
   *   ancestor is clickable, other nodes cover it everywhere or it is off the screen;
   *   `SERVER_TESTING_QUERY` when no text or several match
   * @example
   * ann.click('Play');              // the text "Play" or the button under it
   * ann.click(cardNode);            // a node of Ann's view (or of the game: the same id)
   * ann.click({ x: 50, y: 85 });
   */
  click(target: ClickTarget): this {
    this.present('click');
    const p = isPoint(target) ? target : this.pointOn(target);
    return this.pointerDown(p.x, p.y).pointerUp(p.x, p.y);
  }

  /**
   * Sends one gamepad's state (`gamepad`), rounded as the client rounds it: values clamped (buttons
   * 0–1, axes −1–1) to steps of 0.01, axes within 0.08 of 0 sent as 0.
   * @example ann.gamepad({ axes: [0, -1], buttons: [1] }); // stick up, A pressed
   */
  gamepad(state: GamepadInput): this {
    this.present('use a gamepad');
    const round = (v: number): number => Math.round(v * 100) / 100 + 0;
    return this.send({
      kind: 'gamepad',
      index: state.index ?? 0,
      buttons: (state.buttons ?? []).map((b) => round(Math.min(1, Math.max(0, b || 0)))),
      axes: (state.axes ?? []).map((a) => (Math.abs(a) < 0.08 ? 0 : round(Math.min(1, Math.max(-1, a))))),
    });
  }

  /**
   * Sends one raw input event, as the wire carries it (encoded and decoded by the real protocol
   * code, so coordinates arrive quantized to 0.01); the helpers above are built on it.
   * @throws `SERVER_TESTING_MISUSE` for an event the protocol cannot carry (a non-finite
   *   coordinate, an unknown kind), or a player who left
   * @example ann.send({ kind: 'keydown', key: '+' }); // e.g. an auto-repeat the engine must drop
   */
  send(event: InputEvent): this {
    this.present('send input');
    let bytes: Uint8Array;
    try {
      bytes = encodeClientMessage({ type: 'input', event });
    } catch (err) {
      if (err instanceof SquishEncodeError) throw misuse(`${this.name}'s input ${JSON.stringify(event)} cannot be sent: ${err.message}`);
      throw err;
    }
    const msg = decodeClientMessage(bytes);
    if (msg.type === 'input') this.port.input(this, msg.event);
    return this;
  }

  /**
   * Gives an order in a turn-based game, as the browser client's `sendOrder` does: its JSON text
   * through the real wire encoding (ids 1, 2, … per player), the host's guards (refused
   * `GAME_PAUSED` while paused, `TURN_ALREADY_CLOSED` while a turn generates, `GAME_FINISHED`,
   * `NOT_TURN_BASED`, `ORDER_INVALID` over `ORDER_LIMITS.bytes`), then the game's `onOrder` (an
   * `OrderRejectedError` refuses it `ORDER_REJECTED` with the game's message). Accepted: the
   * snapshot after it is {@link TestRoom.snapshot}. Synchronous (the kit's room answers at once);
   * the result is also appended to {@link orderResults}.
   * @param order any JSON-serialisable value
   * @throws {TestKitError} `SERVER_TESTING_MISUSE` for an order with no JSON form (`undefined`, a
   *   function, a cycle), a player who left, or a room that stopped; `SERVER_TESTING_GAME_FAILED`
   *   when `onOrder` threw something other than an `OrderRejectedError`
   * @example
   * const r = ann.order({ from: 1, to: 4, ships: 3 });
   * expect(r).toMatchObject({ accepted: true, turn: 1 });
   * room.pause();
   * expect(ann.order({ from: 1, to: 4, ships: 1 }).code).toBe('GAME_PAUSED');
   */
  order(order: unknown): OrderResult {
    this.present('give an order');
    let text: string | undefined;
    try {
      text = JSON.stringify(order);
    } catch (err) {
      throw misuse(`${this.name}'s order cannot be turned into JSON: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (typeof text !== 'string') throw misuse(`${this.name}'s order (${typeof order}) has no JSON form; orders are plain JSON data`);
    const id = this.nextOrderId++;
    const msg = decodeClientMessage(encodeClientMessage({ type: 'order', id, order: text }));
    const before = this.orderResults.length;
    if (msg.type === 'order') this.port.order(this, msg.id, msg.order);
    const answer = this.orderResults.slice(before).find((r) => r.id === id);
    if (!answer) throw misuse(`${this.name}'s order ${id} got no answer: the room has stopped`);
    return answer;
  }

  /** @internal an `orderResult` for this player's client */
  _orderResult(result: OrderResult): void {
    this.orderResults.push(result);
  }

  private onPlane(x: number, y: number, what: string): void {
    if (!(x >= 0 && x <= 100 && y >= 0 && y <= 100)) throw misuse(`${this.name} cannot ${what} at (${x}, ${y}): outside the game area (plane 0–100); the client ignores it`);
  }

  /**
   * A point inside `target`'s area where the client's hit test reaches a clickable node: the node
   * itself or its nearest clickable ancestor if it has one, else whatever clickable node lies
   * under it (a label drawn on a card clicks the card).
   */
  private pointOn(target: Exclude<ClickTarget, PlanePoint>): PlanePoint {
    const view = this.view;
    if (typeof target === 'string' || target instanceof RegExp) {
      // several texts that click the same node (a card's two corner labels) are one target
      const matches = view.all(target);
      if (matches.length > 1) {
        const spots = matches.map((m) => this.spotOn(m));
        const targets = new Set(spots.map((x) => x?.target ?? null));
        if (targets.size === 1 && spots[0]) return spots[0].point;
      }
      return this.clickSpot(view.one(target));
    }
    return this.clickSpot(view.resolve(target));
  }

  private clickSpot(node: Node): PlanePoint {
    const spot = this.spotOn(node);
    if (spot) return spot.point;
    const b = this.view.box(node);
    const where = `(box ${fmt(b.x0)},${fmt(b.y0)}–${fmt(b.x1)},${fmt(b.y1)})`;
    if (clickableOf(node)) throw misuse(`${this.name} cannot click ${describeNode(node)}: it is off the screen or other clickable nodes cover it everywhere ${where}`);
    throw misuse(`${this.name} cannot click ${describeNode(node)}: neither it, a group around it, nor anything under it is clickable ${where}`);
  }

  private spotOn(node: Node): { point: PlanePoint; target: Node } | null {
    const view = this.view;
    const own = clickableOf(node);
    const b = view.box(node);
    const candidates: PlanePoint[] = [{ x: (b.x0 + b.x1) / 2, y: (b.y0 + b.y1) / 2 }];
    const N = 8;
    for (let i = 0; i <= N; i++) for (let j = 0; j <= N; j++) candidates.push({ x: b.x0 + ((b.x1 - b.x0) * i) / N, y: b.y0 + ((b.y1 - b.y0) * j) / N });
    for (const p of candidates) {
      if (!(p.x >= 0 && p.x <= 100 && p.y >= 0 && p.y <= 100)) continue;
      const hit = view.clickableAt(p.x, p.y);
      if (!hit || (own && hit !== own)) continue;
      if (hit !== node && node.kind !== NodeKind.GROUP && !view.at(p.x, p.y).includes(node)) continue;
      return { point: p, target: hit };
    }
    return null;
  }
}

/** The node a click on `node` reaches: itself if clickable, else its nearest clickable ancestor. */
function clickableOf(node: Node): Node | null {
  for (let a: Node | null = node; a; a = a.parent) if (a.clickable) return a;
  return null;
}

function fmt(v: number): string {
  return String(Math.round(v * 100) / 100);
}

function isPoint(t: ClickTarget): t is PlanePoint {
  return typeof t === 'object' && !(t instanceof RegExp) && !('kind' in t) && typeof (t as PlanePoint).x === 'number' && typeof (t as PlanePoint).y === 'number';
}

function indexOf(hay: Uint8Array, pat: Uint8Array): number {
  if (pat.length === 0) return 0;
  outer: for (let i = 0; i + pat.length <= hay.length; i++) {
    for (let j = 0; j < pat.length; j++) if (hay[i + j] !== pat[j]) continue outer;
    return i;
  }
  return -1;
}
