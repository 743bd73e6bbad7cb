#!/usr/bin/env node
// @ts-check
/**
 * The consumer test (`pnpm test:consumer`): proves the published packages work in an app outside
 * this workspace, as docs/API.md and the README promise.
 *
 * 1. `pnpm pack` @convsync/protocol, engine and server (prepack builds dist/), then `publint` and
 *    `attw` (esm-only profile) on every tarball.
 * 2. A scratch app in a temporary folder `npm install`s the tarballs (plus rxjs, vite, typescript
 *    and @types/node at the workspace's versions), with no workspace on its resolution path.
 * 3. In it: (a) plain `node` runs app/sync.mjs — a server on SQLite and two engines syncing a
 *    conversation both ways; (b) `tsc --module nodenext --moduleResolution nodenext` type-checks
 *    app/types.ts and app/browser.ts against the shipped declarations; (c) `vite build` bundles
 *    the engine for the browser, with exactly one Dexie (4.4.2) and one rxjs, the engine from
 *    dist/, and no Node built-in pulled into the bundle; (d) the installed `convsync-server`
 *    answers `--version` and `--help`, and starts, serves /healthz and stops on SIGTERM.
 *
 * Any failed step fails the run (exit 1). The scratch folder is removed afterwards unless
 * CONVSYNC_KEEP_CONSUMER=1.
 *
 * better-sqlite3 (the server's SQLite driver) is native. An app normally gets a prebuilt binary
 * from its release downloads, which this machine cannot reach; compiling SQLite instead takes
 * minutes on 2 busy cores. So the workspace's own build of the same better-sqlite3 version, for
 * this Node ABI, is offered to its installer as a local prebuild (prebuild-install's
 * `npm_config_better_sqlite3_local_prebuilds`) — the path a consumer with a download takes. If the
 * scratch app resolves another version, it compiles from source (npm_config_nodedir defaults to
 * /usr when Debian's Node headers are there).
 */
import { spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const PACKAGES = ['protocol', 'engine', 'server'];
const STEP_TIMEOUT_MS = 10 * 60_000;

/** npm settings a machine may need for the scratch install (registry, proxy, cache, headers). */
const KEPT_NPM_SETTINGS = new Set(['registry', 'cache', 'proxy', 'https_proxy', 'noproxy', 'strict_ssl', 'cafile', 'userconfig', 'nodedir']);

/**
 * The environment of the scratch app's commands: the caller's, minus what pnpm and npm scripts
 * inject (the workspace's package and lifecycle variables, its prefix, the `source` condition some
 * runners put in NODE_OPTIONS), so the app sees what a fresh shell would.
 * @returns {NodeJS.ProcessEnv}
 */
function cleanEnv() {
  /** @type {NodeJS.ProcessEnv} */
  const env = {};
  for (const [key, value] of Object.entries(process.env)) {
    const npmSetting = /^npm_config_(.+)$/i.exec(key)?.[1]?.toLowerCase();
    if (npmSetting !== undefined ? !KEPT_NPM_SETTINGS.has(npmSetting) : /^(npm_|pnpm_)/i.test(key)) continue;
    if (key === 'NODE_OPTIONS' || key === 'INIT_CWD' || key.startsWith('PNPM_')) continue;
    env[key] = value;
  }
  const nodedir = process.env.npm_config_nodedir ?? (existsSync('/usr/include/node/node.h') ? '/usr' : undefined);
  if (nodedir !== undefined) env.npm_config_nodedir = nodedir;
  return env;
}

/**
 * Runs a command; resolves with its output, rejects (with the output) on a non-zero exit or after
 * the timeout.
 * @param {string} command
 * @param {string[]} args
 * @param {{cwd: string, env?: NodeJS.ProcessEnv, timeoutMs?: number}} options
 * @returns {Promise<{stdout: string, stderr: string}>}
 */
function run(command, args, { cwd, env = process.env, timeoutMs = STEP_TIMEOUT_MS }) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => { stdout += String(chunk); });
    child.stderr.on('data', (chunk) => { stderr += String(chunk); });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (error) => { clearTimeout(timer); reject(error); });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve({ stdout, stderr });
      else reject(new Error(`${command} ${args.join(' ')} exited with ${code ?? signal}\n--- stdout\n${stdout}\n--- stderr\n${stderr}`));
    });
  });
}

/** @type {{name: string, ms: number}[]} */
const timings = [];

/**
 * @template T
 * @param {string} name
 * @param {() => Promise<T>} body
 * @returns {Promise<T>}
 */
async function step(name, body) {
  const t0 = Date.now();
  process.stdout.write(`▶ ${name}\n`);
  const result = await body();
  const ms = Date.now() - t0;
  timings.push({ name, ms });
  process.stdout.write(`  ✔ ${(ms / 1000).toFixed(1)} s\n`);
  return result;
}

/** @param {unknown} condition @param {string} message @returns {asserts condition} */
function check(condition, message) {
  if (!condition) throw new Error(message);
}

/** @param {string} path @returns {Promise<any>} */
async function readJson(path) {
  return JSON.parse(await readFile(path, 'utf8'));
}

/**
 * Packs the workspace's compiled better-sqlite3 as the prebuild file its installer looks for;
 * returns the folder, or undefined when there is no such build.
 * @param {string} into
 * @returns {Promise<string | undefined>}
 */
async function localSqlitePrebuild(into) {
  const packageDir = join(root, 'packages', 'server', 'node_modules', 'better-sqlite3');
  const binary = join(packageDir, 'build', 'Release', 'better_sqlite3.node');
  if (!existsSync(binary)) return undefined;
  const { version } = await readJson(join(packageDir, 'package.json'));
  // glibc naming (no libc suffix): on musl the name does not match and the installer compiles.
  const name = `better-sqlite3-v${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
  await mkdir(into, { recursive: true });
  await run('tar', ['czf', join(into, name), '-C', packageDir, 'build/Release/better_sqlite3.node'], { cwd: into });
  return into;
}

/** A version from the workspace's installed tree, so the scratch app builds with the same tools. */
async function workspaceVersion(/** @type {string} */ packageDir) {
  return /** @type {string} */ ((await readJson(join(root, packageDir, 'package.json'))).version);
}

/**
 * Starts the installed CLI on a free port, waits for its "server listening" log line, checks
 * /healthz, and stops it with SIGTERM (it must exit 0).
 * @param {string} bin
 * @param {string} cwd
 * @param {NodeJS.ProcessEnv} env
 */
async function serveOnce(bin, cwd, env) {
  const child = spawn(bin, ['--port', '0', '--db', join(cwd, 'cli.sqlite'), '--secret', 'consumer-test-secret'], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  try {
    const url = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`convsync-server did not start:\n${stderr}`)), 60_000);
      child.stderr.on('data', (chunk) => {
        stderr += String(chunk);
        for (const line of stderr.split('\n')) {
          const match = /"msg":"server listening".*?"url":"([^"]+)"|"url":"([^"]+)".*?"msg":"server listening"/.exec(line);
          if (match !== null) { clearTimeout(timer); resolve(match[1] ?? match[2]); }
        }
      });
      child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`convsync-server exited with ${code}:\n${stderr}`)); });
    });
    const health = await fetch(`${url}/healthz`);
    check(health.status === 200, `/healthz answered ${health.status}`);
    await health.text();
  } finally {
    if (child.exitCode === null) child.kill('SIGTERM');
  }
  const code = await exited;
  check(code === 0, `convsync-server exited with ${code} on SIGTERM:\n${stderr}`);
}

const work = await mkdtemp(join(tmpdir(), 'convsync-consumer-'));
const tarballDir = join(work, 'tarballs');
const app = join(work, 'app');
const env = cleanEnv();
let failed = false;
const started = Date.now();
try {
  /** @type {Record<string, string>} */
  const tarballs = await step('pnpm pack protocol, engine, server (prepack builds dist/)', async () => {
    await mkdir(tarballDir);
    /** @type {Record<string, string>} */
    const files = {};
    for (const name of PACKAGES) {
      const before = new Set(await readdir(tarballDir));
      await run('pnpm', ['pack', '--pack-destination', tarballDir], { cwd: join(root, 'packages', name) });
      const added = (await readdir(tarballDir)).filter((file) => !before.has(file) && file.endsWith('.tgz'));
      check(added.length === 1 && added[0] !== undefined, `pnpm pack of ${name} made ${added.length} tarballs`);
      files[name] = join(tarballDir, added[0]);
      const listing = (await run('tar', ['tzf', files[name]], { cwd: work })).stdout.split('\n');
      for (const required of ['package/dist/index.js', 'package/dist/index.d.ts', 'package/LICENSE', 'package/package.json']) {
        check(listing.includes(required), `${added[0]} lacks ${required}`);
      }
      process.stdout.write(`  ${added[0]}: ${((await stat(files[name])).size / 1024).toFixed(1)} KiB, ${listing.filter(Boolean).length} files\n`);
    }
    return files;
  });

  await step('publint and attw on every tarball', async () => {
    const bin = join(root, 'node_modules', '.bin');
    for (const file of Object.values(tarballs)) {
      await run(join(bin, 'publint'), ['run', '--strict', file], { cwd: root });
      await run(join(bin, 'attw'), ['--pack', file, '--profile', 'esm-only', '--format', 'ascii'], { cwd: root });
    }
  });

  await step('npm install the tarballs into a scratch app', async () => {
    await cp(join(here, 'app'), app, { recursive: true });
    const [rxjs, vite, typescript, typesNode] = await Promise.all([
      workspaceVersion('packages/engine/node_modules/rxjs'),
      workspaceVersion('packages/demo/node_modules/vite'),
      workspaceVersion('node_modules/typescript'),
      workspaceVersion('node_modules/@types/node'),
    ]);
    await writeFile(join(app, 'package.json'), `${JSON.stringify({
      name: 'convsync-consumer-app',
      private: true,
      type: 'module',
      dependencies: {
        '@convsync/protocol': `file:${tarballs.protocol}`,
        '@convsync/engine': `file:${tarballs.engine}`,
        '@convsync/server': `file:${tarballs.server}`,
        rxjs,
      },
      devDependencies: { vite, typescript, '@types/node': typesNode },
    }, null, 2)}\n`);
    const prebuilds = await localSqlitePrebuild(join(work, 'prebuilds'));
    const installEnv = prebuilds === undefined ? env : { ...env, npm_config_better_sqlite3_local_prebuilds: prebuilds };
    // Compiling SQLite (no matching prebuild) can take many minutes on a busy machine.
    await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], { cwd: app, env: installEnv, timeoutMs: 30 * 60_000 });
  });

  await step('(a) plain node: a server and two engines sync a conversation', async () => {
    const { stdout } = await run(process.execPath, ['sync.mjs'], { cwd: app, env, timeoutMs: 120_000 });
    process.stdout.write(`  ${stdout.trim()}\n`);
  });

  await step('(b) tsc --module nodenext against the shipped declarations', async () => {
    await run(process.execPath, [join(app, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json', '--module', 'nodenext', '--moduleResolution', 'nodenext'], { cwd: app, env });
  });

  await step('(c) vite build of the engine for the browser', async () => {
    const { stdout, stderr } = await run(process.execPath, [join(app, 'node_modules', 'vite', 'bin', 'vite.js'), 'build'], { cwd: app, env });
    check(!/externalized for browser compatibility/.test(stdout + stderr), `the browser bundle pulls in a Node built-in:\n${stdout}${stderr}`);
    /** @type {string[]} */
    const ids = await readJson(join(app, 'bundled-modules.json'));
    /** @param {string} name */
    const copies = (name) => new Set(ids.flatMap((id) => {
      const at = id.lastIndexOf(`/node_modules/${name}/`);
      return at < 0 ? [] : [id.slice(0, at + `/node_modules/${name}`.length)];
    }));
    const dexie = copies('dexie');
    check(dexie.size === 1, `expected one Dexie in the bundle, found ${dexie.size}: ${[...dexie].join(', ')}`);
    const dexieVersion = (await readJson(join([...dexie][0] ?? '', 'package.json'))).version;
    check(dexieVersion === '4.4.2', `the bundle's Dexie is ${dexieVersion}, not 4.4.2`);
    const rxjs = copies('rxjs');
    check(rxjs.size === 1, `expected one rxjs in the bundle, found ${rxjs.size}: ${[...rxjs].join(', ')}`);
    check(ids.some((id) => id.includes('/node_modules/@convsync/engine/dist/')), 'the bundle does not contain the engine from dist/');
    check(!ids.some((id) => /\/node_modules\/@convsync\/[^/]+\/src\//.test(id)), 'the bundle took TypeScript sources of a package');
    const assets = await readdir(join(app, 'dist-browser', 'assets'));
    const js = assets.filter((file) => file.endsWith('.js'));
    const bytes = (await Promise.all(js.map((file) => stat(join(app, 'dist-browser', 'assets', file))))).reduce((sum, s) => sum + s.size, 0);
    process.stdout.write(`  ${ids.length} modules, one Dexie ${dexieVersion}, one rxjs; ${js.length} JS file(s), ${(bytes / 1024).toFixed(0)} KiB\n`);
  });

  await step('(d) the installed convsync-server: --version, --help, serve and stop', async () => {
    const bin = join(app, 'node_modules', '.bin', 'convsync-server');
    const serverVersion = (await readJson(join(app, 'node_modules', '@convsync', 'server', 'package.json'))).version;
    for (const flag of ['--version', '-v']) {
      const { stdout } = await run(bin, [flag], { cwd: app, env });
      check(stdout.startsWith(`convsync-server ${serverVersion} `), `${flag} printed ${JSON.stringify(stdout)}`);
    }
    const { stdout: help } = await run(bin, ['--help'], { cwd: app, env });
    check(/Usage: convsync-server/.test(help) && /--port/.test(help) && /--version/.test(help), `--help printed ${JSON.stringify(help)}`);
    check(!existsSync(join(app, 'node_modules', 'tsx')), 'tsx is installed in the app: the CLI must not need it');
    await serveOnce(bin, app, env);
  });
} catch (error) {
  failed = true;
  process.stderr.write(`\nconsumer test FAILED: ${error instanceof Error ? error.message : String(error)}\n`);
} finally {
  if (process.env.CONVSYNC_KEEP_CONSUMER === '1') process.stdout.write(`scratch app kept in ${work}\n`);
  else await rm(work, { recursive: true, force: true });
}

process.stdout.write('\nconsumer test steps:\n');
for (const { name, ms } of timings) process.stdout.write(`  ${(ms / 1000).toFixed(1).padStart(6)} s  ${name}\n`);
process.stdout.write(`  ${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s  total — ${failed ? 'FAILED' : 'passed'}\n`);
process.exit(failed ? 1 : 0);
