/**
 * `parlor bots <url-or-game> --count N --duration 30s [--script file]`: a load test with real
 * WebSocket clients that join as browsers do, play (plausibly, or as a script says) and measure
 * what they get. The logic is in ../bots/; this file reads the flags and prints.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { BotsUsageError, checkLoopback, checkServer, parseTarget } from '../bots/target.js';
import { formatReport, progressLine } from '../bots/report.js';
import { loadBotScript, type BotScript } from '../bots/script.js';
import { runSwarm } from '../bots/swarm.js';
import { fail, int } from './common.js';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Reads a time: `30s`, `2m`, `1h`, `500ms`, `1.5s`, or a bare number of ms. */
export function parseTime(v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(v.trim());
  if (!m) return NaN;
  return Math.round(Number(m[1]) * UNITS[m[2] ?? 'ms']);
}

function time(what: string, min: number, max: number) {
  return (v: string): number => {
    const ms = parseTime(v);
    if (!(ms >= min && ms <= max)) throw new InvalidArgumentError(`${what}: a time from ${min / 1000} s to ${max >= 3_600_000 ? `${max / 3_600_000} h` : `${max / 1000} s`}, e.g. 30s, 2m, or a number of ms`);
    return ms;
  };
}

interface BotsFlags {
  count: number;
  duration: number;
  ramp?: number;
  script?: string;
  host: string;
  port: number;
  allowRemote?: boolean;
  oneAddress?: boolean;
  json?: boolean;
}

export function botsCommand(): Command {
  return new Command('bots')
    .description('load-test a running server with real WebSocket clients that join, play and measure what they get')
    .argument('<url-or-game>', 'a play URL (http://host:port/play/<game>, or /play/<game>/<roomId> to put every bot in that room), or a game name on --host:--port')
    .addOption(new Option('-n, --count <n>', 'bots to run, 1–5000').default(10).argParser(int('a number of bots', 1, 5000)))
    .addOption(new Option('-d, --duration <time>', 'how long the run lasts, ramp included: 1s–1h (30s, 2m, or ms)').default(30_000, '30s').argParser(time('--duration', 1000, 3_600_000)))
    .addOption(new Option('--ramp <time>', 'joins spread evenly over this time (default ~1 s per 100 bots, at most half the duration)').argParser(time('--ramp', 0, 3_600_000)))
    .option('--script <file>', 'bot behaviour: a module with `export default function bot(ctx) {…}` (see the README)')
    .option('--host <host>', 'host of the server, for a bare game name', '127.0.0.1')
    .addOption(new Option('-p, --port <port>', 'port of the server, for a bare game name').default(8080).argParser(int('a port', 1, 65535)))
    .option('--allow-remote', 'allow a server on another machine (bots are a flood of connections and input: only at servers you run)')
    .option('--one-address', 'connect every bot from one address (default on loopback: one 127.77.x.y each, as players come from many)')
    .option('--json', 'print the report as JSON (progress still goes to stderr)')
    .addHelpText('after', `
What it measures (the final table; --json gives the same fields):
  clients       joined (got init), dropped (joined, then closed by the server or the network before
                the end), refused (closed before init, with the close code), timed out (no init in 15 s)
  frames/s      frames each bot received per second of its time joined: the median bot, and p5 (the
                slowest 5 %); bots joined for under 1 s are left out
  bytes/s       WebSocket payload bytes received per second: all bots together over the whole run
                (ramp included), and the median bot over its time joined
  join time     from starting to connect to receiving init (TCP, upgrade, join, room placement)
  input→frame   from sending an input to the first frame that arrives after it, measured once per
                frame (from the earliest input not yet answered). It is what a player waits to see
                the server's next picture after acting: the network both ways, the wait for the
                next tick, the tick and encode on the server, and this process's own event loop;
                not whether the game reacted to that input (a frame is sent only when the scene
                changed)
Exit code: 0 when every bot joined and stayed; 1 when any was dropped or never joined, a script
threw, or the run could not start (one line on stderr says why).

Examples:
  parlor bots pong --count 200 --duration 20s
  parlor bots http://127.0.0.1:8080/play/pong/my-room --count 2
  parlor bots pong --script my-bot.ts --json
`)
    .action(async (arg: string, flags: BotsFlags) => {
      try {
        await bots(arg, flags);
      } catch (err) {
        if (err instanceof BotsUsageError) fail(err.message);
        throw err;
      }
    });
}

async function bots(arg: string, flags: BotsFlags): Promise<void> {
  const target = parseTarget(arg, { host: flags.host, port: flags.port });
  checkLoopback(target, flags.count, flags.allowRemote === true);
  const rampMs = flags.ramp ?? Math.min(Math.round(flags.count * 10), Math.floor(flags.duration / 2));
  if (rampMs >= flags.duration) throw new BotsUsageError(`--ramp ${rampMs} ms is not shorter than --duration ${flags.duration} ms: the bots would still be joining when the run ends`);
  const script: BotScript | undefined = flags.script ? await loadBotScript(flags.script) : undefined;
  await checkServer(target);

  const tty = process.stderr.isTTY === true;
  const every = tty ? 1000 : Math.max(1000, Math.min(5000, Math.round(flags.duration / 10)));
  let stopSignal!: () => void;
  const interrupted = new Promise<void>((resolve) => (stopSignal = resolve));
  const onSignal = (): void => {
    process.stderr.write(`${tty ? '\n' : ''}parlor bots: interrupted; stopping the bots\n`);
    stopSignal();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.stderr.write(`parlor bots: ${flags.count} bot${flags.count === 1 ? '' : 's'} → ${target.playUrl} for ${flags.duration / 1000} s${script ? ` (script ${flags.script})` : ''}\n`);
  const report = await runSwarm({
    target, count: flags.count, durationMs: flags.duration, rampMs, script, oneAddress: flags.oneAddress === true,
    progressEveryMs: every, interrupted,
    onProgress: (p) => process.stderr.write(tty ? `\r\x1b[K${progressLine(p)}` : `${progressLine(p)}\n`),
  });
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  if (tty) process.stderr.write('\n');
  // exit once printed: an idle HTTP keep-alive socket of the server check must not hold the process
  const code = report.ok ? 0 : 1;
  process.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report)}\n`, () => process.exit(code));
}
