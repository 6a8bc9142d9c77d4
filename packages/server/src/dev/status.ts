/**
 * Development status of the games `parlor dev` serves: whether each game's last build loaded, and
 * the diagnostics (build, type, load and room errors, at the author's file:line:column) that the
 * terminal prints and the browser's dev overlay shows.
 *
 * The dev command is the only writer (`report`); the server reads it (`get`, the `change` event)
 * to serve it to browsers. A server created without one serves no dev status at all.
 */
import { EventEmitter } from 'eventemitter3';

/** One problem in a game, located in the author's source (never in the bundle). */
export interface GameDiagnostic {
  /**
   * What failed: `build` (esbuild could not bundle), `type` (TypeScript's checker), `load` (the
   * module threw while loading, or its export is not a game), `room` (a running room threw or ended
   * with an error).
   */
  kind: 'build' | 'type' | 'load' | 'room';
  /** `error` stops the game from being served (or ended a room); `warning` does not (type errors in dev). */
  severity: 'error' | 'warning';
  /** One line, without the location. */
  message: string;
  /** Absolute path of the author's file, when known. */
  file?: string;
  /** 1-based line in `file`. */
  line?: number;
  /** 1-based column in `file`. */
  column?: number;
  /** A few source lines around `line` with a marker under `column`, plain text (no colours). */
  codeFrame?: string;
}

/** A game's development status. */
export interface DevGameState {
  /** The game's route name. */
  game: string;
  /** Increases by one on every report (a browser reloads when it sees a newer `ok` build). */
  revision: number;
  /** The last build loaded and is what new rooms run (warnings allowed). */
  ok: boolean;
  /** Every current diagnostic, errors first. Empty when all is well. */
  diagnostics: GameDiagnostic[];
}

/** Events of {@link DevStatus}. */
export interface DevStatusEvents {
  /** A game's status was reported. */
  change: [state: DevGameState];
}

/** The development status of every game a dev server serves. */
export class DevStatus extends EventEmitter<DevStatusEvents> {
  private readonly games = new Map<string, DevGameState>();

  /**
   * Records a game's status after a build (or a room failure) and emits `change`.
   * @param game the game's route name
   * @param ok whether the game is served (its last build loaded)
   * @param diagnostics what is wrong; errors are sorted before warnings
   */
  report(game: string, ok: boolean, diagnostics: readonly GameDiagnostic[] = []): DevGameState {
    const revision = (this.games.get(game)?.revision ?? 0) + 1;
    const sorted = [...diagnostics].sort((a, b) => (a.severity === b.severity ? 0 : a.severity === 'error' ? -1 : 1));
    const state: DevGameState = { game, revision, ok, diagnostics: sorted };
    this.games.set(game, state);
    this.emit('change', state);
    return state;
  }

  /** A game's last reported status, or `undefined` if none was reported. */
  get(game: string): DevGameState | undefined {
    return this.games.get(game);
  }
}
