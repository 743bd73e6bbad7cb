#!/usr/bin/env node
// @ts-check
/**
 * The README's commands (`npm start`, `npm test`) land here, so that a fresh machine with only
 * Node 20 and npm needs nothing else. In order:
 *
 * 1. pnpm 12.4.2: the one on PATH if it is that version, else installed once into a cache folder
 *    with npm (no root needed; corepack does not work here) and put first on PATH — the workspace
 *    scripts call `pnpm` themselves, so running pnpm through `npx` alone is not enough.
 * 2. `npm_config_nodedir=/usr` when Debian's Node headers exist: better-sqlite3 12 has no prebuilt
 *    binary for this platform and node-gyp cannot download headers (pnpm 12 ignores `nodedir` in
 *    .npmrc, but honours the environment variable).
 * 3. `pnpm install --frozen-lockfile` (a no-op when node_modules is current).
 * 4. For `test`: Chromium for the browser suite — found, or installed from Debian packages when
 *    running as root (or with passwordless sudo); its path is exported as CONVSYNC_CHROMIUM.
 * 5. The task: `start` → `pnpm run start:product` (server + demo on SQLite), `test` →
 *    `pnpm run test:all`, `setup` → nothing more. Extra arguments are passed on.
 *
 * Exit status is the task's; SIGINT/SIGTERM/SIGHUP reach every process of the task (its own process
 * group), so the server shuts down gracefully however the signal arrives.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { constants, homedir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PNPM_VERSION = '12.4.2';
const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** @type {Record<string, string | null>} */
const tasks = { start: 'start:product', test: 'test:all', setup: null };
const task = process.argv[2] ?? '';
if (!Object.hasOwn(tasks, task)) {
  console.error(`usage: node scripts/bootstrap.mjs <${Object.keys(tasks).join('|')}> [args]`);
  process.exit(2);
}

/** @type {NodeJS.ProcessEnv} */
const env = { ...process.env };
if (!env.npm_config_nodedir && existsSync('/usr/include/node/node.h')) env.npm_config_nodedir = '/usr';

/**
 * Runs a command to completion with inherited stdio.
 * @param {string} cmd
 * @param {readonly string[]} args
 * @param {{env?: NodeJS.ProcessEnv, cwd?: string}} [options]
 * @returns {number} the exit status (1 when killed by a signal)
 */
function run(cmd, args, options = {}) {
  const result = spawnSync(cmd, args, { cwd: root, env, stdio: 'inherit', ...options });
  if (result.error) {
    console.error(`bootstrap: cannot run ${cmd}: ${result.error.message}`);
    return 127;
  }
  return result.status ?? 1;
}

/** @param {string} cmd */
function versionOf(cmd) {
  const probe = spawnSync(cmd, ['--version'], { env, encoding: 'utf8' });
  return probe.status === 0 ? probe.stdout.trim() : null;
}

/**
 * Makes `pnpm` on PATH (for us and for every script pnpm runs) the pinned version.
 * @returns {{cmd: string, prefix: string[]}}
 */
function ensurePnpm() {
  if (versionOf('pnpm') === PNPM_VERSION) return { cmd: 'pnpm', prefix: [] };
  const cacheRoot = env.XDG_CACHE_HOME ?? join(homedir(), '.cache');
  const dir = join(cacheRoot, 'convsync', `pnpm-${PNPM_VERSION}`);
  const bin = join(dir, 'node_modules', '.bin');
  if (!existsSync(join(bin, 'pnpm'))) {
    console.log(`bootstrap: installing pnpm ${PNPM_VERSION} into ${dir}`);
    mkdirSync(dir, { recursive: true });
    run('npm', ['install', '--prefix', dir, '--no-save', '--no-audit', '--no-fund', '--loglevel=error', `pnpm@${PNPM_VERSION}`]);
  }
  env.PATH = `${bin}${delimiter}${env.PATH ?? ''}`;
  if (versionOf('pnpm') === PNPM_VERSION) return { cmd: 'pnpm', prefix: [] };
  // Last resort: scripts that call `pnpm` themselves may then fail, but the install still runs.
  console.warn(`bootstrap: could not put pnpm ${PNPM_VERSION} on PATH; falling back to npx`);
  return { cmd: 'npx', prefix: ['-y', `pnpm@${PNPM_VERSION}`] };
}

/** Finds Chromium for the browser suite, installing Debian's package when allowed. */
function ensureChromium() {
  const candidates = [env.CONVSYNC_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'];
  const found = () => candidates.find((path) => path !== undefined && path !== '' && existsSync(path));
  let path = found();
  if (path === undefined && existsSync('/usr/bin/apt-get')) {
    const isRoot = process.getuid?.() === 0;
    const sudo = !isRoot && run('sudo', ['-n', 'true'], { env: { ...env } }) === 0;
    if (isRoot || sudo) {
      console.log('bootstrap: installing Chromium from Debian packages for the browser suite');
      const apt = (/** @type {string[]} */ ...args) =>
        sudo ? run('sudo', ['-n', 'env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', ...args])
          : run('apt-get', args, { env: { ...env, DEBIAN_FRONTEND: 'noninteractive' } });
      if (apt('update', '-qq') === 0) apt('install', '-y', '-qq', '--no-install-recommends', 'chromium');
      path = found();
    }
  }
  if (path === undefined) {
    console.error('bootstrap: the browser suite needs Chromium (Debian: apt-get install chromium), ' +
      'or set CONVSYNC_CHROMIUM to its path.');
    process.exit(1);
  }
  env.CONVSYNC_CHROMIUM = path;
}

/**
 * Runs the task in its own process group and forwards SIGINT/SIGTERM/SIGHUP to the whole group.
 *
 * Why a group: the task is a chain (pnpm → sh → node → server, vite…) and neither pnpm nor sh
 * passes a signal on, so a signal sent to this process alone (a service manager, `kill <pid>`,
 * npm on SIGTERM) would leave the server running. Signalling the group reaches every process, as
 * Ctrl-C in a terminal does. stdin is not given to the task: a background group reading the
 * terminal would be stopped.
 * @param {string} cmd
 * @param {string[]} args
 */
function runForwardingSignals(cmd, args) {
  const child = spawn(cmd, args, { cwd: root, env, stdio: ['ignore', 'inherit', 'inherit'], detached: true });
  /** @param {NodeJS.Signals} signal */
  const forward = (signal) => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, signal);
    } catch {
      // The group is already gone.
    }
  };
  for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM', 'SIGHUP'])) process.on(signal, forward);
  child.on('error', (error) => {
    console.error(`bootstrap: cannot run ${cmd}: ${error.message}`);
    process.exit(127);
  });
  child.on('exit', (code, signal) => {
    process.exit(code ?? (signal === null ? 1 : 128 + constants.signals[signal]));
  });
}

const pnpm = ensurePnpm();
const lockfile = existsSync(join(root, 'pnpm-lock.yaml'));
if (run(pnpm.cmd, [...pnpm.prefix, 'install', ...(lockfile ? ['--frozen-lockfile'] : [])]) !== 0) {
  console.error('bootstrap: pnpm install failed');
  process.exit(1);
}
if (task === 'test') ensureChromium();

const script = tasks[task];
if (script === null || script === undefined) process.exit(0);
if (task === 'start' && !existsSync(join(root, 'scripts', 'start-product.mjs'))) {
  console.error('bootstrap: scripts/start-product.mjs is not there yet; start the server alone with `pnpm dev`.');
  process.exit(1);
}
runForwardingSignals(pnpm.cmd, [...pnpm.prefix, 'run', script, ...process.argv.slice(3)]);
