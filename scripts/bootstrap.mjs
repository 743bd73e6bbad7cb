#!/usr/bin/env node
// The README's commands (`npm start`, `npm test`) land here so that a fresh machine with only
// Node 20 and npm needs nothing else: this installs the pinned pnpm if missing, installs the
// workspace (building better-sqlite3 against the machine's Node headers when no prebuilt binary
// can be downloaded), installs Chromium for the browser suite when it can, then runs the task.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PNPM_VERSION = '12.4.2';
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const task = process.argv[2];
const tasks = { start: 'start:product', test: 'test:all', setup: null };
if (!(task in tasks)) {
  console.error(`usage: node scripts/bootstrap.mjs <${Object.keys(tasks).join('|')}> [args]`);
  process.exit(2);
}

const env = { ...process.env };
// node-gyp cannot download Node's headers here; Debian ships them under /usr/include/node.
if (!env.npm_config_nodedir && existsSync('/usr/include/node/node.h')) env.npm_config_nodedir = '/usr';

function run(cmd, args, options = {}) {
  const result = spawnSync(cmd, args, { cwd: root, env, stdio: 'inherit', ...options });
  if (result.error) throw result.error;
  return result.status ?? 1;
}

function pnpmCommand() {
  const probe = spawnSync('pnpm', ['--version'], { env, encoding: 'utf8' });
  if (probe.status === 0 && probe.stdout.trim() === PNPM_VERSION) return ['pnpm', []];
  return ['npx', ['-y', `pnpm@${PNPM_VERSION}`]];
}

const [pnpm, pnpmPrefix] = pnpmCommand();
const pnpmRun = (args) => run(pnpm, [...pnpmPrefix, ...args]);

const frozen = existsSync(join(root, 'pnpm-lock.yaml')) ? ['--frozen-lockfile'] : [];
if (pnpmRun(['install', ...frozen]) !== 0) process.exit(1);

if (task === 'test') ensureChromium();
if (tasks[task] === null) process.exit(0);
process.exit(pnpmRun(['run', tasks[task], ...process.argv.slice(3)]));

function ensureChromium() {
  const path = env.CONVSYNC_CHROMIUM ?? '/usr/bin/chromium';
  if (existsSync(path)) return;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (isRoot && existsSync('/usr/bin/apt-get')) {
    console.log('Installing Chromium from Debian packages for the browser suite…');
    const aptEnv = { ...env, DEBIAN_FRONTEND: 'noninteractive' };
    if (run('apt-get', ['update', '-qq'], { env: aptEnv }) === 0 &&
        run('apt-get', ['install', '-y', '-qq', 'chromium'], { env: aptEnv }) === 0) return;
  }
  console.error(`The browser suite needs Chromium at ${path} (Debian: apt-get install chromium; ` +
    'or set CONVSYNC_CHROMIUM to its path).');
  process.exit(1);
}
