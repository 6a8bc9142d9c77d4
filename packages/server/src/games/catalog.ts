/**
 * The games a server serves, by route name, and the index of their assets by URL. Loading is
 * the loader's; which runtime may run a game is the server's (passed in as `prepare`).
 * Catalog versions live side by side: each loaded `slug@version` is kept (rooms of it keep running)
 * while one build per name is current (the lobby's, and new rooms').
 */
import type { LoadedAsset } from './assets.js';
import type { GameAccess } from '@parlor/squish';
import { ServerConfigError } from '../errors.js';
import { loadGame, type GameSource, type LoadGameOptions, type LoadedGame } from './loader.js';

/** A game as listed in the lobby and `/parlor/api/games`. */
export interface GameInfo {
  /** Route name. */
  name: string;
  /** Display title (`metadata().name`). */
  title: string;
  /** The catalog version new rooms run; absent for a game served from source. */
  version?: string;
  description: string;
  maxPlayers: number;
  tickRate: number;
  aspectRatio: { x: number; y: number };
}

/** How the catalog loads a game: loader options per game, and a check run before a build is served. */
export interface CatalogLoading {
  /** Loader options for a game (e.g. evaluated in its runtime's sandbox). */
  options(name: string): LoadGameOptions;
  /** Throws when the build may not be served (e.g. a class game under a sandboxed runtime). */
  check(game: LoadedGame): void;
}

/** A catalog version to load: its extracted artifact (see `ArtifactCache.load`) and what the catalog resolved. */
export interface CatalogVersionSource {
  slug: string;
  version: string;
  /** sha256 of its artifact. */
  sha256: string;
  /** The folder the artifact was extracted into (asset paths resolve against it). */
  dir: string;
  /** Its bundle (`<dir>/index.cjs`). */
  entry: string;
  /** Who may join its rooms (the `ArtifactRef`'s `access`); absent means anyone. A changed access replaces the loaded one for new rooms. */
  access?: GameAccess;
  /**
   * Whether the game is listed in the lobby and `/parlor/api/games` while this version is current
   * (a manifest entry's `show`); an unlisted game is still played by URL. Default `true`.
   */
  listed?: boolean;
}

/** The served games and their assets: see the file's opening comment. */
export class GameCatalog {
  private readonly games = new Map<string, LoadedGame>();
  /** Loaded catalog versions by `slug@version`. */
  private readonly versions = new Map<string, LoadedGame>();
  private readonly pending = new Map<string, Promise<LoadedGame>>();
  /** Current games not listed in the lobby (a manifest's `show: false`). */
  private readonly unlisted = new Set<string>();
  private readonly assets = new Map<string, LoadedAsset>();

  constructor(private readonly loading: CatalogLoading) {}

  /** Route names of the games served. */
  names(): string[] {
    return [...this.games.keys()];
  }

  /** The current build of a game. */
  get(name: string): LoadedGame | undefined {
    return this.games.get(name);
  }

  /** A loaded catalog version (current or not). */
  version(slug: string, version: string): LoadedGame | undefined {
    return this.versions.get(`${slug}@${version}`);
  }

  /** A game asset by its URL path. */
  asset(path: string): LoadedAsset | undefined {
    return this.assets.get(path);
  }

  /** The games as the lobby and `/parlor/api/games` show them. */
  info(): GameInfo[] {
    return [...this.games.values()].filter((g) => !this.unlisted.has(g.name)).map((g) => ({
      name: g.name,
      title: g.metadata.name,
      ...(g.version !== undefined ? { version: g.version } : {}),
      description: g.metadata.description,
      maxPlayers: g.metadata.maxPlayers,
      tickRate: g.metadata.tickRate,
      aspectRatio: g.metadata.aspectRatio,
    }));
  }

  /**
   * Loads a game and serves it under `name` (replacing an older build; the old build keeps
   * serving when this throws).
   * @throws {GameLoadError} when the build fails; whatever `check` throws.
   */
  async load(name: string, source: GameSource | LoadedGame | string): Promise<LoadedGame> {
    const game = await loadGame(name, source, this.loading.options(name));
    this.loading.check(game);
    this.games.set(name, game);
    this.unlisted.delete(name);
    this.reindex();
    return game;
  }

  /**
   * Loads a catalog version from its extracted artifact (bundled and evaluated as a local game, in
   * the runtime's `inspect` when it has one) and keeps it under `slug@version`. It becomes the
   * current build of `slug` when `current` is set or `slug` has none. A version already loaded from
   * the same sha256 is not loaded again.
   * @throws {ServerConfigError} when that version is loaded from another sha256; as {@link load}.
   */
  async loadVersion(src: CatalogVersionSource, options: { current?: boolean } = {}): Promise<LoadedGame> {
    const key = `${src.slug}@${src.version}`;
    let game = this.versions.get(key);
    if (game && game.sha256 !== src.sha256) throw new ServerConfigError(`${key} is already loaded from another artifact (${game.sha256})`);
    if (!game) {
      // Concurrent loads of one version share one build, so its rooms all run the same LoadedGame.
      let pending = this.pending.get(key);
      if (!pending) {
        pending = this.build(src).finally(() => this.pending.delete(key));
        this.pending.set(key, pending);
      }
      game = await pending;
      if (game.sha256 !== src.sha256) throw new ServerConfigError(`${key} is already loaded from another artifact (${game.sha256})`);
    }
    if (src.access && !sameAccess(src.access, game.access)) {
      // The catalog changed who may join: new rooms get the new rules (running rooms keep theirs).
      const wasCurrent = this.games.get(src.slug) === game;
      game = { ...game, access: src.access };
      this.versions.set(key, game);
      if (wasCurrent) this.games.set(src.slug, game);
    }
    if (options.current || !this.games.has(src.slug)) {
      this.games.set(src.slug, game);
      if (src.listed === false) this.unlisted.add(src.slug);
      else this.unlisted.delete(src.slug);
    }
    this.reindex();
    return game;
  }

  private async build(src: CatalogVersionSource): Promise<LoadedGame> {
    const loaded = await loadGame(src.slug, { file: src.entry, dir: src.dir }, this.loading.options(src.slug));
    const game: LoadedGame = { ...loaded, version: src.version, sha256: src.sha256, ...(src.access ? { access: src.access } : {}) };
    this.loading.check(game);
    this.versions.set(`${src.slug}@${src.version}`, game);
    return game;
  }

  /** Stops serving `name` as a current game (lobby, new rooms); loaded versions stay until {@link prune}d. */
  retire(name: string): void {
    this.games.delete(name);
    this.unlisted.delete(name);
  }

  /**
   * Forgets the catalog versions that are not current and for which `inUse` is false (no live
   * room runs them). @returns the versions forgotten.
   */
  prune(inUse: (game: LoadedGame) => boolean): LoadedGame[] {
    const current = new Set(this.games.values());
    const gone: LoadedGame[] = [];
    for (const [key, game] of this.versions) {
      if (current.has(game) || inUse(game)) continue;
      this.versions.delete(key);
      gone.push(game);
    }
    if (gone.length) this.reindex();
    return gone;
  }

  /** Rebuilds the asset index from every build served: current ones and loaded versions (their URLs carry the content hash). */
  private reindex(): void {
    this.assets.clear();
    for (const g of [...this.versions.values(), ...this.games.values()]) for (const a of g.assets) this.assets.set(a.url, a);
  }
}

function sameAccess(a: GameAccess, b: GameAccess | undefined): boolean {
  return b !== undefined && a.requiresAuth === b.requiresAuth && a.minRole === b.minRole;
}
