/** `parlor validate <game>`: the publish gate (a filter, not the security boundary). */
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { createLogger } from '../logger.js';
import { DEFAULT_SMOKE_MS, GATE_DISCLAIMER, formatGateReport, validateGame, type GateRuntimeChoice } from '../gate/validate.js';
import { describeError, fail, int } from './common.js';

const GATE_RUNTIMES: readonly string[] = ['auto', 'docker', 'process'];

/** The `validate` command. */
export function validateCommand(): Command {
  return new Command('validate')
    .argument('<game>')
    .description(
      'publish gate: static scan, type check, load in the sandbox, metadata and asset checks, and a smoke run with synthetic players; exit code 0 = pass, 1 = fail. ' +
        'The gate is a filter, not the security boundary: the runtime the game is served in is.',
    )
    .option('--json', 'print the report as JSON')
    .addOption(new Option('--smoke-ms <ms>', 'length of the smoke run in ms (0 skips it)').default(DEFAULT_SMOKE_MS).argParser(int('milliseconds', 0, 600_000)))
    .addOption(
      new Option('--runtime <runtime>', 'runtime for loading and the smoke run (auto: docker when an engine answers, else process; never weaker than your servers; never inline)')
        .choices(GATE_RUNTIMES)
        .default('auto'),
    )
    .option('--image <image>', 'runner image of the docker runtime (default parlor-runner:local)')
    .option('--no-type-check', "skip TypeScript's type check of the game (type errors otherwise fail the gate)")
    .option('--unsafe-weak-sandbox', 'development only: run in the process runtime even where the kernel cannot isolate it (loudly reported)')
    .action((game: string, opts: { json?: boolean; smokeMs: number; runtime: string; image?: string; typeCheck: boolean; unsafeWeakSandbox?: boolean }) => {
      validateGame(resolve(game), {
        smokeMs: opts.smokeMs,
        runtime: opts.runtime as GateRuntimeChoice,
        docker: opts.image ? { image: opts.image } : undefined,
        unsafeWeakSandbox: opts.unsafeWeakSandbox === true,
        typeCheck: opts.typeCheck,
        // warnings and errors as JSON lines on stderr, so stdout stays the report
        logger: createLogger({ level: opts.json ? 'silent' : 'error', destination: process.stderr }),
      }).then(
        (report) => {
          console.log(opts.json ? JSON.stringify({ ...report, note: GATE_DISCLAIMER }, null, 2) : formatGateReport(report));
          process.exit(report.ok ? 0 : 1);
        },
        (err: unknown) => fail(describeError(err)),
      );
    });
}
