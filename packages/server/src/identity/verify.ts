/**
 * Who a joining player is: verifies the join's identity token with `jose` (HS256 secrets, or a
 * JWKS URL for asymmetric keys), or asks the integrator's `authenticate` hook. The outcome is an
 * identity, anonymous (`null`), or a refusal with a reason the player is shown (close code 4498).
 */
import { createRemoteJWKSet, decodeProtectedHeader, errors, jwtVerify, type JWTPayload, type JWTVerifyOptions } from 'jose';
import type { PlayerIdentity } from '@parlor/squish';
import type { Logger } from '../logger.js';
import type { IdentitySettings, JoinRequest } from './options.js';

/** Longest `userId` accepted (characters). */
export const MAX_USER_ID_LENGTH = 256;
/** Most roles kept per player; longer role names (over 64 characters) are dropped. */
export const MAX_ROLES = 64;

/** What {@link Authenticator.identify} decided. */
export type IdentityOutcome = { ok: true; identity: PlayerIdentity | null } | { ok: false; detail: string };

/** Asymmetric algorithms accepted from a JWKS (never `none`, never HMAC with a public key). */
const JWKS_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];

/** Identifies joining players: see the file's opening comment. */
export class Authenticator {
  private readonly jwks: ReturnType<typeof createRemoteJWKSet> | null;

  constructor(
    private readonly s: IdentitySettings,
    private readonly logger: Logger,
  ) {
    this.jwks = s.jwksUrl ? createRemoteJWKSet(s.jwksUrl) : null;
  }

  /** Whether any identity source is configured (else every join is anonymous). */
  get enabled(): boolean {
    return this.s.authenticate !== null || this.s.secrets.length > 0 || this.jwks !== null;
  }

  /** The role ladder `minRole` is ranked on, lowest first. */
  get roleLadder(): readonly string[] {
    return this.s.roleLadder;
  }

  /** Identifies a join. Never throws. */
  async identify(join: JoinRequest): Promise<IdentityOutcome> {
    if (this.s.authenticate) return this.viaHook(join);
    if (!join.token || !this.enabled) return { ok: true, identity: null };
    try {
      return { ok: true, identity: this.fromClaims(await this.verify(join.token)) };
    } catch (err) {
      return { ok: false, detail: this.explain(err) };
    }
  }

  private async viaHook(join: JoinRequest): Promise<IdentityOutcome> {
    let got: unknown;
    try {
      got = await this.s.authenticate!(join);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      return { ok: false, detail: message.slice(0, 200) || 'sign-in refused' };
    }
    if (got === null || got === undefined) return { ok: true, identity: null };
    const g = got as { userId?: unknown; roles?: unknown };
    if (typeof g.userId !== 'string' || g.userId === '' || g.userId.length > MAX_USER_ID_LENGTH || (g.roles !== undefined && !Array.isArray(g.roles))) {
      this.logger.error({ game: join.game }, 'identity.authenticate returned neither null nor { userId: string (1–256 characters), roles?: string[] }; join refused');
      return { ok: false, detail: 'the server could not check your sign-in' };
    }
    return { ok: true, identity: { userId: g.userId, roles: cleanRoles(g.roles) } };
  }

  private async verify(token: string): Promise<JWTPayload> {
    const { issuer, audience } = this.s;
    const base: JWTVerifyOptions = { clockTolerance: this.s.clockToleranceSec, ...(issuer ? { issuer } : {}), ...(audience ? { audience } : {}) };
    let alg: string;
    try {
      alg = decodeProtectedHeader(token).alg ?? '';
    } catch {
      throw new Refusal('identity token malformed');
    }
    if (alg.startsWith('HS')) {
      if (this.s.secrets.length === 0) throw new Refusal(`identity tokens signed with ${alg} are not accepted here`);
      let last: unknown;
      for (const secret of this.s.secrets) {
        try {
          return (await jwtVerify(token, secret, { ...base, algorithms: ['HS256'] })).payload;
        } catch (err) {
          // another secret of a rotation may verify it; any other failure is the token's
          if (!(err instanceof errors.JWSSignatureVerificationFailed)) throw err;
          last = err;
        }
      }
      throw last;
    }
    if (!this.jwks) throw new Refusal(`identity tokens signed with ${alg || 'no algorithm'} are not accepted here`);
    return (await jwtVerify(token, this.jwks, { ...base, algorithms: JWKS_ALGORITHMS })).payload;
  }

  private fromClaims(p: JWTPayload): PlayerIdentity {
    if (typeof p.sub !== 'string' || p.sub === '' || p.sub.length > MAX_USER_ID_LENGTH) throw new Refusal('identity token has no subject (sub)');
    const raw = p[this.s.rolesClaim];
    return { userId: p.sub, roles: cleanRoles(typeof raw === 'string' ? raw.split(' ') : raw) };
  }

  /** The reason shown to the player (and logged) for a token that did not verify. */
  private explain(err: unknown): string {
    if (err instanceof Refusal) return err.message;
    if (err instanceof errors.JWTExpired) return 'your sign-in has expired (identity token exp); sign in again';
    if (err instanceof errors.JWTClaimValidationFailed) return `identity token refused: its ${err.claim} claim ${err.reason === 'check_failed' ? 'does not match this server' : err.reason.replace(/_/g, ' ')}`;
    if (err instanceof errors.JWSSignatureVerificationFailed) return 'identity token signature does not verify';
    if (err instanceof errors.JWKSNoMatchingKey) return 'identity token signed with a key this server does not know';
    if (err instanceof errors.JOSEAlgNotAllowed) return 'identity token algorithm not accepted';
    if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid || err instanceof errors.JOSENotSupported) return 'identity token malformed';
    this.logger.error({ jwksUrl: this.s.jwksUrl?.href, error: err instanceof Error ? err.message : String(err) }, 'identity keys unavailable');
    return 'the server could not fetch the keys to check your sign-in; try again later';
  }
}

/** A refusal with its own reason. */
class Refusal extends Error {}

function cleanRoles(raw: unknown): string[] {
  if (!Array.isArray(raw)) return [];
  return raw.filter((r): r is string => typeof r === 'string' && r !== '' && r.length <= 64).slice(0, MAX_ROLES);
}
