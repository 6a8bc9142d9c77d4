/**
 * TypeBox schemas of the catalog's REST API (`/v1/games`, `/v1/manifests/:env`, …): every answer's
 * shape (the squish catalog contract's types) and every body, params and query the routes take.
 * A compile-time check below keeps the answer schemas equal to the TypeScript types.
 */
import { ENV_RE, SHA256_RE, SLUG_RE, VERSION_RE, type ArtifactRef, type CatalogGame, type GameVersion, type Manifest, type PublishRequest } from '@parlor/squish';
import { Type, type Static } from '@sinclair/typebox';
import type { GameConfigPatch, ManifestChange } from './types.js';

const Ms = Type.Integer({ minimum: 0, description: 'ms since the epoch' });
/** A slug in a path or body (the catalog checks it: a bad one is `VALIDATION`, an unknown one `UNKNOWN_GAME`). */
const Slug = Type.String({ minLength: 1, maxLength: 64, description: `Game slug (${SLUG_RE.source})` });
const Version = Type.String({ minLength: 1, maxLength: 128, description: `Version: semver (${VERSION_RE.source})` });
/** An environment name; one failing `ENV_RE` is `UNKNOWN_ENV` (404), so it is not checked here. */
const Env = Type.String({ minLength: 1, maxLength: 64, description: `Environment (${ENV_RE.source}); one nobody promoted to is an empty manifest` });

export const GameAccessSchema = Type.Object(
  {
    requiresAuth: Type.Boolean({ description: 'Anonymous players are refused' }),
    minRole: Type.Union([Type.String(), Type.Null()], { description: 'Least role a player needs, or null' }),
  },
  { additionalProperties: false },
);

export const CatalogGameSchema = Type.Object(
  {
    slug: Type.String(),
    name: Type.String(),
    description: Type.String(),
    tags: Type.Array(Type.String()),
    show: Type.Boolean(),
    access: GameAccessSchema,
    createdAt: Ms,
    updatedAt: Ms,
  },
  { additionalProperties: false },
);

export const PublishReportSchema = Type.Object(
  {
    passed: Type.Boolean(),
    findings: Type.Array(
      Type.Object({
        severity: Type.Union([Type.Literal('error'), Type.Literal('warning')]),
        rule: Type.String(),
        message: Type.String(),
        at: Type.Optional(Type.String({ description: 'file:line:col' })),
      }),
    ),
    runtime: Type.String(),
    text: Type.String(),
  },
  { additionalProperties: false },
);

export const GameVersionSchema = Type.Object(
  {
    slug: Type.String(),
    version: Type.String(),
    sha256: Type.String({ pattern: SHA256_RE.source }),
    size: Type.Integer({ minimum: 0, description: 'Artifact bytes' }),
    squishVersion: Type.Integer({ minimum: 1 }),
    publishedAt: Ms,
    publishedBy: Type.String(),
    gate: PublishReportSchema,
  },
  { additionalProperties: false },
);

export const PublishRequestSchema = Type.Object(
  {
    id: Type.String(),
    slug: Type.String(),
    version: Type.String(),
    state: Type.Union([Type.Literal('PENDING'), Type.Literal('PROCESSING'), Type.Literal('PUBLISHED'), Type.Literal('FAILED')]),
    publisher: Type.String(),
    error: Type.Union([Type.Object({ code: Type.String(), message: Type.String(), report: Type.Optional(PublishReportSchema) }, { additionalProperties: false }), Type.Null()]),
    sha256: Type.Union([Type.String({ pattern: SHA256_RE.source }), Type.Null()]),
    createdAt: Ms,
    updatedAt: Ms,
  },
  { additionalProperties: false },
);

export const ManifestEntrySchema = Type.Object(
  {
    slug: Type.String(),
    name: Type.String(),
    src: Type.String({ description: 'Where the version files are served: /v1/game-files/<slug>/<version>/' }),
    url_path: Type.String({ description: '/play/<slug>' }),
    version: Type.String(),
    sha256: Type.String({ pattern: SHA256_RE.source }),
    squish_version: Type.Integer({ minimum: 1 }),
    access_control: Type.Object({ requires_auth: Type.Boolean(), min_role: Type.Union([Type.String(), Type.Null()]) }, { additionalProperties: false }),
    tags: Type.Array(Type.String()),
    show: Type.Boolean(),
  },
  { additionalProperties: false },
);

export const ManifestSchema = Type.Object({ env: Type.String(), generatedAt: Ms, games: Type.Array(ManifestEntrySchema) }, { additionalProperties: false });

export const ManifestChangeSchema = Type.Object(
  {
    env: Type.String(),
    slug: Type.String(),
    version: Type.Union([Type.String(), Type.Null()]),
    previous: Type.Union([Type.String(), Type.Null()]),
    action: Type.Union([Type.Literal('promote'), Type.Literal('rollback'), Type.Literal('remove')]),
    by: Type.String(),
    at: Ms,
  },
  { additionalProperties: false },
);

export const ArtifactRefSchema = Type.Object(
  {
    slug: Type.String(),
    version: Type.String(),
    sha256: Type.String({ pattern: SHA256_RE.source }),
    squishVersion: Type.Integer({ minimum: 1 }),
    url: Type.String({ description: 'Absolute URL of the artifact (GET /v1/artifacts/<sha256>)' }),
    access: GameAccessSchema,
  },
  { additionalProperties: false },
);

/** Body of `PUT /v1/games/:slug`: the fields to change. */
export const GameConfigPatchSchema = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    description: Type.Optional(Type.String({ maxLength: 4096 })),
    tags: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 32 })),
    show: Type.Optional(Type.Boolean()),
    access: Type.Optional(Type.Object({ requiresAuth: Type.Optional(Type.Boolean()), minRole: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 64 }), Type.Null()])) }, { additionalProperties: false })),
  },
  { additionalProperties: false },
);

export const SlugParams = Type.Object({ slug: Slug });
export const VersionParams = Type.Object({ slug: Slug, version: Version });
export const EnvParams = Type.Object({ env: Env });
export const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) });
export const ShaParams = Type.Object({ sha256: Type.String({ pattern: SHA256_RE.source, description: 'sha256 of the artifact, lower-case hex' }) });
export const GameFileParams = Type.Object({ slug: Slug, version: Version, '*': Type.String({ minLength: 1, maxLength: 1024, description: "The file's path in the version (relative)" }) });
export const SlugQuery = Type.Object({ slug: Type.Optional(Slug) });
export const ResolveQuery = Type.Object({
  game: Type.String({ minLength: 1, maxLength: 200, description: '`pong` (the version `env` pins) or `pong@1.2.0`' }),
  env: Type.Optional(Env),
});
/** Body of `POST /v1/manifests/:env/promote`. */
export const PromoteBody = Type.Object({ slug: Slug, version: Version }, { additionalProperties: false });
/** Body of `POST /v1/manifests/:env/rollback`. */
export const RollbackBody = Type.Object({ slug: Slug }, { additionalProperties: false });

// The answer schemas describe exactly the contract's types (a compile error here means they drifted).
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const drift: [
  Same<Static<typeof CatalogGameSchema>, CatalogGame>,
  Same<Static<typeof GameVersionSchema>, GameVersion>,
  Same<Static<typeof PublishRequestSchema>, PublishRequest>,
  Same<Static<typeof ManifestSchema>, Manifest>,
  Same<Static<typeof ManifestChangeSchema>, ManifestChange>,
  Same<Static<typeof ArtifactRefSchema>, ArtifactRef>,
  Same<Static<typeof GameConfigPatchSchema>, GameConfigPatch>,
] = [true, true, true, true, true, true, true];
void drift;
