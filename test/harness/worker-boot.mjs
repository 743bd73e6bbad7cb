/**
 * Entry of a device worker thread: Node 20 does not pass `--import tsx` on to workers, so the
 * worker registers tsx itself, then imports the TypeScript module named in `workerData.entry`.
 * (`--conditions=source` does pass through `execArgv`.)
 */
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(/** @type {{ entry: string }} */ (workerData).entry);
