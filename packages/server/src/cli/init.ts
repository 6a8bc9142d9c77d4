/**
 * `parlor init <dir>`: scaffolds a standalone game project from `templates/init/` (a package.json
 * depending on `@parlor/squish` and `@parlor/server` at this version, a strict tsconfig, a starter
 * game, its test on the test kit, a README, a .gitignore). `--packs <folder>` points the @parlor
 * dependencies at tarballs packed from a Parlor checkout (`npm pack`) instead of the registry.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { fail } from './common.js';

/** What a project may be named: the folder's name is its npm package name and the game's route (`/play/<name>`). */
const PROJECT_NAME_RE = /^[a-z0-9][a-z0-9._-]{0,63}$/;
/** The packages a game project installs (the server's own @parlor dependencies included), in `npm pack` order. */
const PACKED = ['squish', 'client', 'fleet-agent', 'server'] as const;

/** `@parlor/server`'s folder: the first parent of this module with its package.json (dist/ when built, src/cli/ from source). */
function serverPackageDir(): { dir: string; version: string } {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === '@parlor/server' && typeof pkg.version === 'string') return { dir, version: pkg.version };
    }
    const up = dirname(dir);
    if (up === dir) fail('cannot find the package.json of @parlor/server above this command: reinstall @parlor/server');
    dir = up;
  }
}

/** Every file under `root`, as paths relative to it with `/` separators. */
function listFiles(root: string, under = ''): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(root, under), { withFileTypes: true })) {
    const rel = under ? `${under}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...listFiles(root, rel));
    else if (entry.isFile()) out.push(rel);
  }
  return out.sort();
}

/** "my-game" -> "My game": the game's display name. */
function titleOf(name: string): string {
  const words = name.replace(/[-_.]+/g, ' ').trim() || name;
  return words[0]!.toUpperCase() + words.slice(1);
}

/** A `file:` spec from the project folder to a tarball (relative, `/` separators, so project and packs can move together). */
function fileSpec(projectDir: string, tarball: string): string {
  const rel = relative(projectDir, tarball).split(sep).join('/');
  return `file:${rel.startsWith('.') ? rel : `./${rel}`}`;
}

/**
 * The @parlor dependencies as `file:` specs to the tarballs in `packs`, and `overrides` so the
 * server's own @parlor dependencies (client, fleet-agent, squish) come from there too, never from a registry.
 */
function packedDependencies(packs: string, projectDir: string, version: string): { dependencies: Record<string, string>; overrides: Record<string, string> } {
  const folder = resolve(packs);
  if (!existsSync(folder) || !statSync(folder).isDirectory()) fail(`--packs ${packs}: no such folder (the folder \`npm pack --pack-destination\` wrote the tarballs to)`);
  const spec: Record<string, string> = {};
  for (const pkg of PACKED) {
    const file = join(folder, `parlor-${pkg}-${version}.tgz`);
    if (!existsSync(file)) {
      fail(
        `--packs ${packs}: no parlor-${pkg}-${version}.tgz there. In the Parlor repository, run \`npm run build\`, then ` +
          `\`npm pack ${PACKED.map((p) => `-w @parlor/${p}`).join(' ')} --pack-destination ${folder}\``,
      );
    }
    spec[`@parlor/${pkg}`] = fileSpec(projectDir, file);
  }
  return {
    dependencies: { '@parlor/server': spec['@parlor/server']!, '@parlor/squish': spec['@parlor/squish']! },
    // "$name" reuses the project's own spec of a package it depends on directly (npm requires it)
    overrides: { '@parlor/client': spec['@parlor/client']!, '@parlor/fleet-agent': spec['@parlor/fleet-agent']!, '@parlor/squish': '$@parlor/squish' },
  };
}

/** Options of {@link init}. */
interface InitOptions {
  force?: boolean;
  packs?: string;
}

function init(target: string, opts: InitOptions): void {
  const dir = resolve(target);
  const name = basename(dir);
  if (!PROJECT_NAME_RE.test(name)) {
    fail(
      `${JSON.stringify(name)} cannot name a project: the folder's name is the package name and the game's address (/play/<name>), ` +
        `so use 1–64 lowercase letters, digits, '-', '_' or '.', starting with a letter or digit (e.g. parlor init my-game)`,
    );
  }
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) fail(`${dir} is a file: choose a new folder for the project`);
    if (readdirSync(dir).length > 0 && !opts.force) {
      fail(`${dir} is not empty: choose a new folder, or add --force to write the project's files into it (files of the same name are replaced)`);
    }
  }
  const server = serverPackageDir();
  const templates = join(server.dir, 'templates', 'init');
  if (!existsSync(templates)) fail(`the project templates are missing (${templates}): reinstall @parlor/server`);
  const values: Record<string, string> = { name, title: titleOf(name), version: server.version };
  const fill = (text: string): string => text.replace(/\{\{(\w+)\}\}/g, (all, key: string) => values[key] ?? all);
  const packed = opts.packs === undefined ? null : packedDependencies(opts.packs, dir, server.version);

  const written: string[] = [];
  for (const rel of listFiles(templates)) {
    // npm never packs a file named .gitignore, so the template is stored without its dot
    const out = rel === 'gitignore' ? '.gitignore' : rel;
    let text = fill(readFileSync(join(templates, rel), 'utf8'));
    if (out === 'package.json' && packed) {
      const pkg = JSON.parse(text) as { dependencies: Record<string, string>; overrides?: Record<string, string> };
      pkg.dependencies = { ...pkg.dependencies, ...packed.dependencies };
      pkg.overrides = packed.overrides;
      text = `${JSON.stringify(pkg, null, 2)}\n`;
    }
    mkdirSync(dirname(join(dir, out)), { recursive: true });
    writeFileSync(join(dir, out), text);
    written.push(out);
  }

  const rel = relative(process.cwd(), dir);
  const cd = rel ? `\n    cd ${rel.includes(' ') ? JSON.stringify(rel) : rel}` : '';
  console.log(`
  Created ${name} in ${dir}: ${written.join(', ')}
  The game is src/index.ts, its test test/game.test.ts.${
    packed ? `\n  @parlor packages: the tarballs in ${resolve(opts.packs!)}.` : `\n  @parlor packages: ${server.version} from the npm registry (--packs <folder> installs tarballs packed from a Parlor checkout instead).`
  }

  Next:${cd}
    npm install
    npm run dev       # then open http://localhost:8080/play/${name} in two tabs
    npm test
`);
}

/** The `init` command. */
export function initCommand(): Command {
  return new Command('init')
    .argument('<dir>', "the new project's folder; its name is the package name and the game's address (/play/<name>)")
    .description('create a standalone game project: package.json, a strict tsconfig, a starter game, its test, a README')
    .option('--force', 'write into a folder that is not empty (files of the same name are replaced)')
    .option('--packs <folder>', 'install the @parlor packages from the tarballs `npm pack` wrote to this folder, not from the npm registry')
    .addHelpText(
      'after',
      `
Examples:
  parlor init my-game                          then: cd my-game && npm install && npm run dev
  parlor init ../my-game --packs ../packs      @parlor packages from tarballs (npm pack --pack-destination ../packs)`,
    )
    .action((dir: string, opts: InitOptions) => {
      try {
        init(dir, opts);
      } catch (err) {
        fail(`cannot create the project in ${resolve(dir)}: ${(err as Error)?.message ?? String(err)}`);
      }
    });
}
