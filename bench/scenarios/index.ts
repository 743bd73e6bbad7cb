/** Every scenario, in the order of the issue. */
import type { BaseRow, Scenario } from '../lib/scenario.js';
import browser from './browser.js';
import coldStart from './cold-start.js';
import firstScreen from './first-screen.js';
import freshSync from './fresh-sync.js';
import ingest from './ingest.js';
import propagation from './propagation.js';
import serverMemory from './server-memory.js';
import unreadViews from './unread-views.js';

export const scenarios: readonly Scenario<BaseRow>[] = [freshSync, coldStart, browser, propagation, unreadViews, ingest, serverMemory, firstScreen];
