import { ViewableGame, type Game, type InputEvent, type PlayerId, type PlayerInfo, type Squisher } from '@parlor/squish';
import type { HostToEngineMessage } from './messages.js';

/**
 * Routes one player's input event to the game's hook through `hook` (which catches and reports
 * what the game throws): keys held are tracked per player (auto-repeat dropped), a click reaches
 * the clicked node's `onClick` only when the node exists, has one and is visible to the player.
 */
export function routeInput(game: Game, squisher: Squisher, pid: PlayerId, ev: InputEvent, hook: (where: string, fn: () => void) => void): void {
  switch (ev.kind) {
    case 'keydown': {
      const keys = game._keys.get(pid);
      if (!keys || keys.has(ev.key)) return; // auto-repeat
      keys.add(ev.key);
      hook('onKeyDown', () => game.onKeyDown(pid, ev.key));
      return;
    }
    case 'keyup': {
      const keys = game._keys.get(pid);
      if (!keys || !keys.delete(ev.key)) return;
      hook('onKeyUp', () => game.onKeyUp(pid, ev.key));
      return;
    }
    case 'pointerdown':
      hook('onPointerDown', () => game.onPointerDown(pid, ev.x, ev.y));
      return;
    case 'pointermove':
      hook('onPointerMove', () => game.onPointerMove(pid, ev.x, ev.y));
      return;
    case 'pointerup':
      hook('onPointerUp', () => game.onPointerUp(pid, ev.x, ev.y));
      return;
    case 'click': {
      const node = squisher.nodeById(ev.nodeId);
      const onClick = node?.onClick;
      if (!node || !onClick || !node.isVisibleTo(pid)) return;
      hook('onClick', () => onClick.call(node, pid, ev.x, ev.y));
      return;
    }
    case 'gamepad':
      hook('onGamepad', () => game.onGamepad(pid, { index: ev.index, buttons: ev.buttons, axes: ev.axes }));
      return;
    case 'text':
      hook('onText', () => game.onText(pid, ev.text));
      return;
  }
}

/** Whether a game is a `ViewableGame` (or looks like one: `getView`, `getSpectatorView`, `world`). */
export function isViewable(game: Game): game is ViewableGame {
  if (game instanceof ViewableGame) return true;
  const g = game as unknown as Partial<ViewableGame>;
  return typeof g.getView === 'function' && typeof g.getSpectatorView === 'function' && g.world !== undefined;
}

/** The game's view of a joining player: id, name and, for a signed-in one, `userId` and a frozen copy of `roles`. */
export function playerInfo(msg: Extract<HostToEngineMessage, { type: 'join' }>): PlayerInfo {
  const roles = Array.isArray(msg.roles) ? Object.freeze(msg.roles.filter((r): r is string => typeof r === 'string')) : NO_ROLES;
  return typeof msg.userId === 'string' && msg.userId !== ''
    ? { id: msg.playerId, name: msg.name, userId: msg.userId, roles }
    : { id: msg.playerId, name: msg.name, roles };
}

const NO_ROLES: readonly string[] = Object.freeze([]);
