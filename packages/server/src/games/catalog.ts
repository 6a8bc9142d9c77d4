/**
 * The games a server serves, by route name, and the index of their assets by URL. Loading is
 * the loader's; which runtime may run a game is the server's (passed in as `prepare`).
 */
import type { LoadedAsset } from './assets.js';
import { loadGame, type GameSource, type LoadGameOptions, type LoadedGame } from './loader.js';

/** A game as listed in the lobby and `/parlor/api/games`. */
export interface GameInfo {
  /** Route name. */
  name: string;
  /** Display title (`metadata().name`). */
  title: string;
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

/** The served games and their assets: see the file's opening comment. */
export class GameCatalog {
  private readonly games = new Map<string, LoadedGame>();
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

  /** A game asset by its URL path. */
  asset(path: string): LoadedAsset | undefined {
    return this.assets.get(path);
  }

  /** The games as the lobby and `/parlor/api/games` show them. */
  info(): GameInfo[] {
    return [...this.games.values()].map((g) => ({
      name: g.name,
      title: g.metadata.name,
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
    this.assets.clear();
    for (const g of this.games.values()) for (const a of g.assets) this.assets.set(a.url, a);
    return game;
  }
}
