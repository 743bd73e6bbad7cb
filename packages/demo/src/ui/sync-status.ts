/**
 * The connection indicator: offline / syncing / synced / error, from `engine.syncState$`, and
 * whether the browser itself has a network (offline in the browser wins: that is what the user
 * can act on).
 */
import { useEffect, useState } from 'preact/hooks';
import { html } from '../app/html.js';
import type { SyncState } from '../session/engine.js';

const LABELS: Record<SyncState | 'no-network', string> = {
  synced: 'Synced',
  syncing: 'Syncing…',
  offline: 'Connecting…',
  error: 'Sync error',
  'no-network': 'Offline',
};

export function useBrowserOnline(): boolean {
  const [online, setOnline] = useState(navigator.onLine);
  useEffect(() => {
    const update = (): void => setOnline(navigator.onLine);
    window.addEventListener('online', update);
    window.addEventListener('offline', update);
    return () => {
      window.removeEventListener('online', update);
      window.removeEventListener('offline', update);
    };
  }, []);
  return online;
}

export function SyncStatus(props: { state: SyncState; onToggle: () => void; paused: boolean }) {
  const online = useBrowserOnline();
  const key = !online ? 'no-network' : props.paused ? 'no-network' : props.state;
  const label = props.paused && online ? 'Offline (paused)' : LABELS[key];
  return html`
    <button type="button" class=${`sync-status ${key}`} data-state=${key} aria-pressed=${props.paused}
      title=${props.paused ? 'Sync paused: click to reconnect' : 'Click to pause sync (work offline)'}
      aria-label=${`${label}. ${props.paused ? 'Resume sync' : 'Pause sync'}`} onClick=${props.onToggle}>
      <span class="dot" aria-hidden="true"></span>${label}
    </button>
    <span class="visually-hidden" role="status">Sync status: ${label}</span>`;
}
