#!/usr/bin/env node
/**
 * The `parlor` command line:
 * - `parlor dev <game-file-or-folder> [--port 8080] [--host 127.0.0.1]`: serve one game, rebuild it on
 *   change (on 127.0.0.1 by default: the game runs unsandboxed);
 * - `parlor serve --games <dir> [--port 8080] [--host 0.0.0.0]`: serve every game in a folder.
 *   With `--fleet-url <ws-url> --fleet-key <key> [--name <name>] [--label k=v]… [--endpoint-url <url>]`
 *   it attaches a fleet agent (`@parlor/fleet-agent`) that reports to an orchestrator;
 * - `parlor validate <game> [--runtime auto|docker|process] [--smoke-ms 5000] [--json]`: the publish gate
 *   (a filter, not the security boundary);
 * - `parlor bots <url-or-game> [--count 10] [--duration 30s] [--script file] [--json]`: load-test a running
 *   server with real WebSocket clients (loopback only unless `--allow-remote`);
 * - `parlor init <dir> [--force] [--packs <folder>]`: scaffold a standalone game project;
 * - `parlor publish <dir> --version 1.2.0`, `parlor promote pong@1.2.0 --env prod`, `parlor rollback pong --env prod`,
 *   `parlor games [--env prod]`: the catalog (`--catalog-url`, key from `--key-file` or PARLOR_PUBLISHER_KEY / PARLOR_ADMIN_KEY);
 * - `parlor token --secret-file <path> --user alice [--role member]`: a signed identity token, for trying a game that needs sign-in;
 * - `parlor room pause|resume|restart|turn|stop <roomId>`, `parlor room patch <roomId> <version>`, `parlor room operations [roomId]`:
 *   lifecycle operations on a fleet room and the operation log, through the orchestrator's REST API (`--orchestrator`, PARLOR_ADMIN_KEY);
 * `PORT` sets the default port. A busy port, a refused one or an unknown interface is one line
 * naming the fix, not a stack. Each command lives in its own file of this folder.
 */
import { Command } from 'commander';
import { devCommand } from './dev.js';
import { initCommand } from './init.js';
import { serveCommand } from './serve.js';
import { validateCommand } from './validate.js';
import { botsCommand } from './bots.js';
import { catalogCommands } from './catalog.js';
import { tokenCommand } from './token.js';
import { roomCommand } from './room.js';

const program = new Command();
program
  .name('parlor')
  .version('0.1.0')
  .description('Parlor: serve server-authoritative multiplayer browser games.')
  // `parlor --version` before any command; after one, `--version` is that command's (`parlor publish <dir> --version 1.2.0`)
  .enablePositionalOptions();

program.addCommand(devCommand());
program.addCommand(serveCommand());
program.addCommand(validateCommand());
program.addCommand(initCommand());
program.addCommand(botsCommand());
for (const c of catalogCommands()) program.addCommand(c);
program.addCommand(tokenCommand());
program.addCommand(roomCommand());

program.showHelpAfterError();
program.addHelpText('after', `
Examples:
  parlor dev ./my-game            serve ./my-game (folder or file) at http://localhost:8080/play/my-game
  parlor dev pong.ts --port 3000  serve one file on port 3000
  parlor serve --games examples   serve every game in ./examples (lobby at /)
  parlor serve --games examples --runtime process   every room in a sandboxed child process
  parlor validate ./my-game       publish gate report (add --json for machines)
  parlor init my-game             a new game project in ./my-game (its own package.json, game and test)
  parlor bots pong --count 200 --duration 20s   load-test a running server's pong with 200 bots
  parlor publish ./pong --version 1.2.0          publish pong@1.2.0 to the catalog (PARLOR_PUBLISHER_KEY)
  parlor promote pong@1.2.0 --env prod            pin it in prod (PARLOR_ADMIN_KEY); parlor rollback pong --env prod undoes it
  parlor games                                    the catalog's games and what each environment runs
  parlor token --secret-file s.secret --user alice   an identity token for alice (/play/<game>?token=…)
  parlor room pause 3kTq9 --reason maintenance    pause a fleet room (PARLOR_ADMIN_KEY); parlor room operations 3kTq9 lists its operations
`);

program.parse(process.argv);
if (process.argv.length <= 2) program.help();
