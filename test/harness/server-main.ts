/**
 * The harness's own server entry point: `startServer` with crash points armed (`faults`), which the
 * shipped command line deliberately cannot do. Spawned by `server-process.ts` when a test arms
 * faults; takes the subset of the CLI's flags the harness uses, plus `--faults <json>` (a
 * `FaultPlan`: `[{"point":"crash-after-commit","event":"sync:push","nth":2}]`).
 */
import { parseArgs } from 'node:util';
import { startServer, type FaultPlan, type LogLevel } from '@convsync/server';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    db: { type: 'string' },
    secret: { type: 'string' },
    origin: { type: 'string', multiple: true },
    'log-level': { type: 'string' },
    faults: { type: 'string' },
  },
  strict: true,
});

function required(name: 'port' | 'db' | 'secret'): string {
  const value = values[name];
  if (value === undefined) throw new Error(`--${name} is required`);
  return value;
}

const faults = JSON.parse(values.faults ?? '[]') as FaultPlan;
const server = await startServer({
  port: Number(required('port')),
  database: required('db'),
  secret: required('secret'),
  logLevel: (values['log-level'] ?? 'warn') as LogLevel,
  faults,
  ...(values.origin === undefined ? {} : { allowedOrigins: values.origin }),
});

let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  server.close().then(() => process.exit(0), () => process.exit(1));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
