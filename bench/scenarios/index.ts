/** Every scenario, in the order of the issue. */
import type { BaseRow, Scenario } from '../lib/scenario.js';
import freshSync from './fresh-sync.js';
import ingest from './ingest.js';

export const scenarios: readonly Scenario<BaseRow>[] = [freshSync, ingest];
