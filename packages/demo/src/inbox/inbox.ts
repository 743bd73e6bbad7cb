/**
 * The signed-in screen: the inbox (header with sync status, filters, list) and the open
 * conversation — side by side on a wide screen, one at a time on a phone. The open conversation is
 * in the address (#/c/<id>), so Back works and a reload reopens it.
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { html } from '../app/html.js';
import { Icon } from '../ui/icons.js';
import { useObservable } from '../app/use-observable.js';
import { ConversationView } from '../conversation/conversation-view.js';
import { ManageGroupsDialog, useGroups } from '../groups/groups.js';
import { showUnreadCount } from '../platform/badge.js';
import type { Engine, SyncState } from '../session/engine.js';
import { useSharedPaused } from '../session/paused.js';
import type { Session } from '../session/session.js';
import { SyncProgressBar, type SyncProgressValue } from '../ui/sync-progress.js';
import { SyncStatus, useBrowserOnline } from '../ui/sync-status.js';
import { ConversationList } from './conversation-list.js';
import { FilterBar, type InboxFilter } from './filters.js';
import { NewChatDialog } from './new-chat.js';

function idFromHash(): string | null {
  const match = /^#\/c\/(.+)$/.exec(location.hash);
  if (match?.[1] === undefined) return null;
  try {
    return decodeURIComponent(match[1]);
  } catch {
    return null;
  }
}

function useHashSelection(): [string | null, (id: string | null) => void] {
  const [selected, setSelected] = useState(idFromHash);
  useEffect(() => {
    const update = (): void => setSelected(idFromHash());
    window.addEventListener('hashchange', update);
    return () => window.removeEventListener('hashchange', update);
  }, []);
  const select = (id: string | null): void => {
    if (id === null) {
      if (location.hash !== '') history.pushState(null, '', `${location.pathname}${location.search}`);
    } else {
      location.hash = `#/c/${encodeURIComponent(id)}`;
    }
    setSelected(id);
  };
  return [selected, select];
}

export function Inbox(props: { engine: Engine; session: Session; onSignOut: () => void }) {
  const { engine, session } = props;
  const service = engine.conversationService;
  const syncState = useObservable<SyncState>(engine.syncState$, 'offline');
  const progress = useObservable<SyncProgressValue | null>(engine.syncProgress$, null);
  const total = useObservable<number>(service.totalUnreadCount$, 0);
  const groups = useGroups(engine.conversationGroupService);
  const [filter, setFilter] = useState<InboxFilter>({ kind: 'all' });
  const [ignoreMuted, setIgnoreMuted] = useState(false);
  const mutedFilter = useMemo(() => service.unreadCountByFilter$({ ignoreMuted: true }), [service]);
  const totalIgnoringMuted = useObservable<number>(mutedFilter, 0);
  const [selected, select] = useHashSelection();
  const [dialog, setDialog] = useState<'groups' | 'new-chat' | null>(null);
  const [paused, setPaused] = useSharedPaused();
  const [error, setError] = useState<string | null>(null);

  const badgeCount = ignoreMuted ? totalIgnoringMuted : total;
  useEffect(() => showUnreadCount(badgeCount), [badgeCount]);
  useEffect(() => () => showUnreadCount(0), []);

  // A filter on a group that was deleted falls back to everything.
  useEffect(() => {
    if (filter.kind === 'group' && !groups.some((g) => g.groupId === filter.groupId)) setFilter({ kind: 'all' });
  }, [groups, filter]);

  // Background trouble no call could report (e.g. a write the server refused) still reaches the user.
  useEffect(() => {
    const subscription = engine.errors$.subscribe((failure) => setError(failure.desc || failure.message));
    return () => subscription.unsubscribe();
  }, [engine]);

  useEffect(() => {
    if (error === null) return undefined;
    const timer = setTimeout(() => setError(null), 6000);
    return () => clearTimeout(timer);
  }, [error]);

  // Follow the browser's network state: stop at once when it goes offline (sockets can linger), and
  // reconnect the moment it is back instead of waiting for the next retry.
  const browserOnline = useBrowserOnline();
  useEffect(() => {
    if (paused || !browserOnline) engine.disconnect();
    else engine.connect();
  }, [engine, paused, browserOnline]);

  const togglePaused = (): void => setPaused(!paused);

  return html`
    <div class=${selected === null ? 'layout' : 'layout has-selection'}>
      <aside class="sidebar" aria-label="Inbox">
        <header class="app-header">
          <div class="brand">
            <img src="./icon.svg" alt="" width="28" height="28" />
            <h1>Inbox</h1>
            ${total > 0 ? html`<span class="total" data-testid="total-unread" aria-label=${`${total} unread in total`}>${total}</span>` : null}
          </div>
          <${SyncStatus} state=${syncState} paused=${paused} onToggle=${togglePaused} />
        </header>
        <${SyncProgressBar} progress=${progress} />
        <div class="account-bar">
          <span class="account" title=${`Device ${session.deviceId}`}>Signed in as <strong data-testid="account">${session.accountId}</strong></span>
          <span class="account-actions">
            <button type="button" class="link-button" onClick=${() => setDialog('new-chat')}>New chat</button>
            <button type="button" class="link-button" onClick=${() => setDialog('groups')}>Groups</button>
            <button type="button" class="link-button" onClick=${() => void service.clearTotalUnreadCount().catch((e: unknown) => setError(String(e)))}>Read all</button>
            <button type="button" class="link-button" onClick=${props.onSignOut}>Sign out</button>
          </span>
        </div>
        <${FilterBar} service=${service} groups=${groups} selected=${filter} ignoreMuted=${ignoreMuted}
          onSelect=${setFilter} onIgnoreMuted=${setIgnoreMuted} />
        <nav class="list-scroll" aria-label="Conversation list">
          <${ConversationList} service=${service} self=${session.accountId} filter=${filter} ignoreMuted=${ignoreMuted}
            selectedId=${selected} onOpen=${select} />
        </nav>
      </aside>
      <main class="pane">
        ${selected === null
          ? html`<div class="placeholder"><img src="./icon.svg" alt="" width="72" height="72" /><p>Select a conversation</p><p class="hint">Everything works offline: reads, pins and messages are kept on this device and synced when you are back.</p></div>`
          : html`<${ConversationView} key=${selected} engine=${engine} conversationId=${selected} self=${session.accountId}
              syncState=${syncState} groups=${groups} onBack=${() => select(null)} onError=${setError} />`}
      </main>
      ${error !== null ? html`<div class="toast" role="alert">${error}<button type="button" class="icon-button" aria-label="Dismiss" onClick=${() => setError(null)}><${Icon} name="close" /></button></div>` : null}
      ${dialog === 'groups' ? html`<${ManageGroupsDialog} service=${engine.conversationGroupService} groups=${groups} onClose=${() => setDialog(null)} onError=${setError} />` : null}
      ${dialog === 'new-chat' ? html`<${NewChatDialog} engine=${engine} onClose=${() => setDialog(null)} onError=${setError}
          onOpen=${(id: string) => { setDialog(null); select(id); }} />` : null}
    </div>`;
}
