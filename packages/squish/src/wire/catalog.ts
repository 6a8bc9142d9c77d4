/**
 * The catalog's shared contract: what the orchestrator's catalog (publish, versions, manifests)
 * and the server hosts (which fetch and run artifacts, and enforce access at join) agree on.
 * Types and name rules only; the catalog's REST API (`/v1/games`, `/v1/manifests/:env`, …)
 * carries these shapes inside the `/v1` envelope.
 *
 * Follows the Games module notes (artifacts stored once and immutable; per-environment manifests
 * with entries `slug, name, src, url_path, version, access_control {requires_auth, min_role},
 * tags, show`) and Homegames' publish requests (`PENDING → PROCESSING → PUBLISHED | FAILED`).
 */

/** A game's slug: its route name everywhere (`/play/<slug>`), same rule as game names. */
export const SLUG_RE = /^[a-z0-9][a-z0-9-]{0,63}$/;
/** An environment's name (`dev`, `staging`, `prod`, or another of the operator's). */
export const ENV_RE = /^[a-z][a-z0-9-]{0,31}$/;
/** A version: semver `MAJOR.MINOR.PATCH` with an optional pre-release (`1.2.0`, `1.3.0-rc.1`); no build metadata. */
export const VERSION_RE = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/;
/** A sha256 in lower-case hex (64 characters): how artifacts are addressed. */
export const SHA256_RE = /^[0-9a-f]{64}$/;

/** Who may join a game's rooms. Enforced by the host at join (close code `AUTH_REQUIRED` / `ROLE_REQUIRED`). */
export interface GameAccess {
  /** Anonymous players are refused when `true`. Default `false`. */
  requiresAuth: boolean;
  /** The least role a player needs (roles are ordered by the host's configured role ladder), or `null` for none. Implies `requiresAuth`. */
  minRole: string | null;
}

/** A game's configuration in the catalog (what `PUT /v1/games/:slug` edits). Versions are separate. */
export interface CatalogGame {
  slug: string;
  /** Display name; default the slug. */
  name: string;
  description: string;
  tags: string[];
  /** Listed in lobbies and manifests' `show`; a hidden game can still be played by URL. */
  show: boolean;
  access: GameAccess;
  /** Creation time, ms since the epoch. */
  createdAt: number;
  /** Last config change, ms since the epoch. */
  updatedAt: number;
}

/** What the publish gate found, kept with the version or the failed request. */
export interface PublishReport {
  /** `true` when the gate passed. */
  passed: boolean;
  /** The gate's findings, each with `file:line:col` where it has one. */
  findings: { severity: 'error' | 'warning'; rule: string; message: string; at?: string }[];
  /** Which runtime smoke-ran the game (`docker`, `process`, `inline`). */
  runtime: string;
  /** The whole report as `parlor validate` prints it. */
  text: string;
}

/** One published, immutable version of a game. */
export interface GameVersion {
  slug: string;
  version: string;
  /** sha256 of the artifact's bytes (the artifact is a deterministic tar: bundle, assets, metadata). */
  sha256: string;
  /** Artifact size in bytes. */
  size: number;
  /** The squish (codec) version the game needs; hosts that cannot encode it are not placed on. */
  squishVersion: number;
  /** ms since the epoch. */
  publishedAt: number;
  /** The publisher's name (the name of the key that published it). */
  publishedBy: string;
  gate: PublishReport;
}

/** Where a publish request is: `PENDING → PROCESSING → PUBLISHED | FAILED` (Homegames). */
export type PublishState = 'PENDING' | 'PROCESSING' | 'PUBLISHED' | 'FAILED';

/** A publish request, recorded before the gate runs. */
export interface PublishRequest {
  /** Request id. */
  id: string;
  slug: string;
  version: string;
  state: PublishState;
  publisher: string;
  /** When `FAILED`: why (`GATE_FAILED`, `VERSION_EXISTS`, `BAD_UPLOAD`, `INTERRUPTED`, …) and the gate's report where it ran. */
  error: { code: string; message: string; report?: PublishReport } | null;
  /** The version's artifact, once `PUBLISHED`. */
  sha256: string | null;
  createdAt: number;
  updatedAt: number;
}

/**
 * One game in an environment's manifest: the seed's `prod.games.json` entry, plus the artifact's
 * hash and squish version so a host can fetch and verify it. Snake case, as the seed writes it.
 */
export interface ManifestEntry {
  slug: string;
  name: string;
  /** Where the version's files are served (`/v1/game-files/<slug>/<version>/`). */
  src: string;
  /** Where players open it (`/play/<slug>`). */
  url_path: string;
  version: string;
  sha256: string;
  squish_version: number;
  access_control: { requires_auth: boolean; min_role: string | null };
  tags: string[];
  show: boolean;
}

/** An environment's manifest (`GET /v1/manifests/:env`). */
export interface Manifest {
  env: string;
  /** ms since the epoch. */
  generatedAt: number;
  games: ManifestEntry[];
}

/** One manifest change (`POST /v1/manifests/:env/promote` or `…/rollback`), kept for rollback and audit. */
export interface ManifestChange {
  env: string;
  slug: string;
  /** The version now pinned, or `null` when the game was removed from the environment. */
  version: string | null;
  /** The version pinned before, or `null`. */
  previous: string | null;
  action: 'promote' | 'rollback' | 'remove';
  /** Who made the change (the key's name). */
  by: string;
  /** ms since the epoch. */
  at: number;
}

/**
 * A resolved catalog version, which is all placement and the fleet ever see of the catalog
 * (placement never reads manifests or artifacts). `url` is where a host fetches the artifact
 * (`GET /v1/artifacts/<sha256>`); the host verifies the sha256 before anything runs.
 */
export interface ArtifactRef {
  slug: string;
  version: string;
  sha256: string;
  squishVersion: number;
  /** Absolute URL of the artifact. */
  url: string;
  /** Access rules at the time of resolution (enforced at join). */
  access: GameAccess;
}

/**
 * A signed-in player's identity, as verified by the host (a JWT, or the integrator's
 * `authenticate` hook). Anonymous players have none.
 */
export interface PlayerIdentity {
  /** Stable user id (the token's `sub`). */
  userId: string;
  /** Roles (the token's `roles` claim); default `[]`. */
  roles: string[];
}
