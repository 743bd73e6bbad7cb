/**
 * The first sync's progress bar, from `engine.syncProgress$` (`{ pulled, total }` in log
 * positions): shown while a new profile's replica fills in behind the first screen (the list and
 * the unread counts are already right), gone once caught up. A device that has synced before never
 * shows it.
 */
import { html } from '../app/html.js';

export interface SyncProgressValue {
  pulled: number;
  total: number;
}

export function SyncProgressBar(props: { progress: SyncProgressValue | null }) {
  const progress = props.progress;
  if (progress === null || progress.total <= 0 || progress.pulled >= progress.total) return null;
  const percent = Math.min(99, Math.floor((progress.pulled / progress.total) * 100));
  return html`
    <div class="sync-progress" data-testid="sync-progress" role="progressbar" aria-label="Loading the rest of your conversations"
      aria-valuemin="0" aria-valuemax="100" aria-valuenow=${percent}>
      <div class="sync-progress-bar" style=${`width: ${percent}%`}></div>
    </div>`;
}
