/**
 * Access control at join: a game's access (the catalog's, else its `metadata().access`) against a
 * player's identity, ranked on the role ladder. Pure: no state.
 */
import { CloseCode, type GameAccess, type PlayerIdentity } from '@parlor/squish';
import type { LoadedGame } from '../games/loader.js';

/** Why a join is refused by a game's access: its close code, the metrics reason and the player-facing text. */
export interface AccessRefusal {
  readonly code: number;
  readonly reason: 'auth_required' | 'role_required';
  readonly detail: string;
}

/** The access that applies to `game`: its `access` (the catalog's), else its metadata's; `null` = anyone. */
export function accessOf(game: LoadedGame): GameAccess | null {
  const a = game.access ?? game.metadata.access;
  if (!a || (!a.requiresAuth && a.minRole === null)) return null;
  return a;
}

/**
 * A player's rank on `ladder`: the index of their highest role on it; a signed-in player ranks at
 * least 0 (the first role); an anonymous one −1.
 */
export function rankOf(identity: PlayerIdentity | null, ladder: readonly string[]): number {
  if (!identity) return -1;
  let rank = 0;
  for (const r of identity.roles) rank = Math.max(rank, ladder.indexOf(r));
  return rank;
}

/**
 * Whether `identity` may join a game with `access`: `null` when admitted, else the refusal
 * (4402 no identity; 4407 a rank below `minRole`, or a `minRole` not on the ladder).
 */
export function checkAccess(access: GameAccess | null, identity: PlayerIdentity | null, ladder: readonly string[]): AccessRefusal | null {
  if (!access) return null;
  if (!identity) {
    if (access.requiresAuth || access.minRole !== null) return { code: CloseCode.AUTH_REQUIRED, reason: 'auth_required', detail: 'This game needs you to sign in' };
    return null;
  }
  if (access.minRole === null) return null;
  const need = ladder.indexOf(access.minRole);
  if (need < 0 || rankOf(identity, ladder) < need) {
    return { code: CloseCode.ROLE_REQUIRED, reason: 'role_required', detail: `This game needs the role ${access.minRole}` };
  }
  return null;
}
