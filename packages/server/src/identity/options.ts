/**
 * Player identity options ({@link IdentityOptions}, `GameServerOptions.identity`): how a join's
 * identity token is verified (HS256 secrets, a JWKS URL, or the integrator's `authenticate`
 * hook), and the role ladder `minRole` is ranked on. Validated once, at server start.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { PlayerIdentity } from '@parlor/squish';
import { ServerConfigError } from '../errors.js';

/** The default role ladder, lowest first: a signed-in player ranks at least `player`. */
export const DEFAULT_ROLE_LADDER: readonly string[] = Object.freeze(['player', 'member', 'moderator', 'admin']);

/** Shortest HS256 secret accepted, in bytes (RFC 7518 §3.2: at least the hash's 256 bits). */
export const MIN_SECRET_BYTES = 32;

/** A join as the `authenticate` hook sees it. */
export interface JoinRequest {
  /** The join's identity token (`join.token`), or `undefined` when it carried none. */
  readonly token: string | undefined;
  /** Room asked for; `''` = any open room. */
  readonly roomId: string;
  /** Game name (the route's `:game`). */
  readonly game: string;
  /** Whether the join is a spectator's. */
  readonly spectate: boolean;
  /** Headers of the WebSocket upgrade request (cookies included, e.g. for a session cookie). */
  readonly headers: IncomingHttpHeaders;
  /** The TCP peer's address. */
  readonly remoteAddress: string;
}

/**
 * The integrator's own authentication: returns the player's identity, or `null` for an anonymous
 * player (refused by games that need one, with 4402). Throwing (or rejecting) refuses the join
 * with 4498 `TOKEN_REJECTED`, the thrown message as the reason shown to the player.
 */
export type AuthenticateHook = (join: JoinRequest) => PlayerIdentity | null | Promise<PlayerIdentity | null>;

/**
 * How the server learns who a player is (`GameServerOptions.identity`). A join may carry a signed
 * identity token (a JWT: `join.token`; the browser client sends `?token=` or the `parlor:token`
 * sessionStorage entry). Its `sub` becomes `player.userId`, its `roles` claim `player.roles`. A
 * token that does not verify refuses the join (4498), whatever the game; a join without one is
 * anonymous and admitted where the game's access allows. Without any of `secrets`, `jwksUrl`,
 * `authenticate`, every join is anonymous (a token is ignored).
 */
export interface IdentityOptions {
  /**
   * HS256 secrets (UTF-8 strings or bytes, each at least 32 bytes); several for a rotation (any one
   * that verifies admits). `parlor serve --identity-secret-file <file>`: one secret per line.
   */
  secrets?: string | Uint8Array | ReadonlyArray<string | Uint8Array>;
  /**
   * URL of a JSON Web Key Set (`https://…/.well-known/jwks.json`) for asymmetrically signed tokens
   * (RS256, ES256, EdDSA…); keys are fetched on first use and cached (jose's `createRemoteJWKSet`).
   */
  jwksUrl?: string;
  /** Required `iss` (one or any of several); default: not checked. */
  issuer?: string | string[];
  /** Required `aud` (one or any of several); default: not checked. */
  audience?: string | string[];
  /** Leeway for `exp` / `nbf` / `iat`, in seconds. Default 30. */
  clockToleranceSec?: number;
  /** The claim holding the roles: an array of strings (or one space-separated string). Default `'roles'`. */
  rolesClaim?: string;
  /**
   * Roles ranked lowest first, for the games' `minRole`: a player ranks as their highest role on
   * the ladder, and a signed-in player ranks at least the first. A game whose `minRole` is not on
   * the ladder admits nobody (fail closed). Default `['player', 'member', 'moderator', 'admin']`.
   */
  roleLadder?: readonly string[];
  /**
   * The integrator's own authentication ({@link AuthenticateHook}). When given it alone decides:
   * `secrets` / `jwksUrl` are not consulted.
   */
  authenticate?: AuthenticateHook;
}

/** {@link IdentityOptions} validated. */
export interface IdentitySettings {
  readonly secrets: readonly Uint8Array[];
  readonly jwksUrl: URL | null;
  readonly issuer: string | string[] | undefined;
  readonly audience: string | string[] | undefined;
  readonly clockToleranceSec: number;
  readonly rolesClaim: string;
  readonly roleLadder: readonly string[];
  readonly authenticate: AuthenticateHook | null;
}

/**
 * Validates {@link IdentityOptions} (`undefined`: anonymous only).
 * @throws {ServerConfigError} naming the offending `identity.*` option.
 */
export function resolveIdentity(o: IdentityOptions | undefined): IdentitySettings {
  const opts = o ?? {};
  if (typeof opts !== 'object' || opts === null) throw new ServerConfigError('identity must be an object of identity options');
  const raw = opts.secrets === undefined ? [] : Array.isArray(opts.secrets) ? opts.secrets : [opts.secrets as string | Uint8Array];
  const secrets = raw.map((s, i) => {
    const bytes = typeof s === 'string' ? new TextEncoder().encode(s) : s instanceof Uint8Array ? s : null;
    if (!bytes) throw new ServerConfigError(`identity.secrets[${i}] must be a string or a Uint8Array`);
    if (bytes.length < MIN_SECRET_BYTES) {
      throw new ServerConfigError(`identity.secrets[${i}] is ${bytes.length} bytes; an HS256 secret needs at least ${MIN_SECRET_BYTES} (e.g. openssl rand -base64 48)`);
    }
    return bytes;
  });
  let jwksUrl: URL | null = null;
  if (opts.jwksUrl !== undefined) {
    try {
      jwksUrl = new URL(opts.jwksUrl);
    } catch {
      throw new ServerConfigError(`identity.jwksUrl is not a URL: ${JSON.stringify(String(opts.jwksUrl).slice(0, 200))}`);
    }
    if (jwksUrl.protocol !== 'https:' && jwksUrl.protocol !== 'http:') throw new ServerConfigError(`identity.jwksUrl must be http(s) (got ${jwksUrl.protocol})`);
  }
  const names = (v: unknown, what: string): string | string[] | undefined => {
    if (v === undefined) return undefined;
    const list = Array.isArray(v) ? v : [v];
    if (list.length === 0 || !list.every((x) => typeof x === 'string' && x.length > 0)) throw new ServerConfigError(`identity.${what} must be a non-empty string or array of them`);
    return v as string | string[];
  };
  const clockToleranceSec = opts.clockToleranceSec ?? 30;
  if (typeof clockToleranceSec !== 'number' || !Number.isFinite(clockToleranceSec) || clockToleranceSec < 0) {
    throw new ServerConfigError(`identity.clockToleranceSec must be a non-negative number of seconds (got ${String(clockToleranceSec)})`);
  }
  const rolesClaim = opts.rolesClaim ?? 'roles';
  if (typeof rolesClaim !== 'string' || rolesClaim === '') throw new ServerConfigError('identity.rolesClaim must be a non-empty string');
  const roleLadder = opts.roleLadder ?? DEFAULT_ROLE_LADDER;
  if (!Array.isArray(roleLadder) || roleLadder.length === 0 || !roleLadder.every((r) => typeof r === 'string' && r !== '') || new Set(roleLadder).size !== roleLadder.length) {
    throw new ServerConfigError('identity.roleLadder must be a non-empty array of distinct role names, lowest first');
  }
  if (opts.authenticate !== undefined && typeof opts.authenticate !== 'function') throw new ServerConfigError('identity.authenticate must be a function');
  return {
    secrets,
    jwksUrl,
    issuer: names(opts.issuer, 'issuer'),
    audience: names(opts.audience, 'audience'),
    clockToleranceSec,
    rolesClaim,
    roleLadder: Object.freeze([...roleLadder]),
    authenticate: opts.authenticate ?? null,
  };
}
