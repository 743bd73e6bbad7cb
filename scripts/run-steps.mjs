#!/usr/bin/env node
// @ts-check
/**
 * Runs workspace scripts one after another and prints how long each took:
 * `node scripts/run-steps.mjs typecheck lint test:unit`.
 *
 * Every step runs even when an earlier one failed — a lint error should not hide a failing test —
 * and the exit status is non-zero if any step failed. This is what `pnpm test:all` (and so
 * `npm test` and `.ci/run`) uses, so CI logs show each suite's time against the 20-minute budget.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const steps = process.argv.slice(2);
if (steps.length === 0) {
  console.error('usage: node scripts/run-steps.mjs <script> [script…]');
  process.exit(2);
}

/** @type {import('node:child_process').ChildProcess | undefined} */
let current;
for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM'])) {
  process.on(signal, () => {
    current?.kill(signal);
    process.exit(130);
  });
}

/**
 * @param {string} script
 * @returns {Promise<number>} the exit status
 */
function runScript(script) {
  return new Promise((resolve) => {
    current = spawn('pnpm', ['run', script], { cwd: root, stdio: 'inherit' });
    current.on('error', (error) => {
      console.error(`run-steps: cannot run pnpm: ${error.message}`);
      resolve(127);
    });
    current.on('exit', (code) => resolve(code ?? 1));
  });
}

/** @param {number} ms */
const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;

/** @type {{step: string, status: number, ms: number}[]} */
const results = [];
const started = Date.now();
for (const step of steps) {
  console.log(`\n▶ ${step}`);
  const t0 = Date.now();
  const status = await runScript(step);
  const ms = Date.now() - t0;
  results.push({ step, status, ms });
  console.log(`${status === 0 ? '✔' : '✘'} ${step}: ${status === 0 ? 'passed' : `failed (exit ${status})`} in ${seconds(ms)}`);
}

const width = Math.max(...steps.map((s) => s.length));
console.log('\nstep'.padEnd(width + 3) + 'result   time');
for (const { step, status, ms } of results) {
  console.log(`${step.padEnd(width + 2)}${(status === 0 ? 'ok' : 'FAILED').padEnd(9)}${seconds(ms)}`);
}
console.log(`${'total'.padEnd(width + 2)}${''.padEnd(9)}${seconds(Date.now() - started)}`);
process.exit(results.some((r) => r.status !== 0) ? 1 : 0);
