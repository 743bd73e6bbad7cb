/**
 * The filter bar: all, unread only, chats, teams, and one chip per conversation group, each with
 * its live unread count from the engine (`totalUnreadCount$` / `unreadCountByFilter$`); "ignore
 * muted" takes muted conversations out of the counts and the list.
 */
import { useMemo } from 'preact/hooks';
import { ConversationType } from '@convsync/engine';
import { html } from '../app/html.js';
import { useObservable } from '../app/use-observable.js';
import type { ConversationGroup, ConversationService } from '../session/engine.js';

export type InboxFilter =
  | { kind: 'all' }
  | { kind: 'unread' }
  | { kind: 'p2p' }
  | { kind: 'teams' }
  | { kind: 'group'; groupId: string };

type ConversationOption = NonNullable<Parameters<ConversationService['conversationList$']>[0]>;
type ConversationFilter = Parameters<ConversationService['unreadCountByFilter$']>[0];

const TEAM_TYPES = [ConversationType.TEAM, ConversationType.SUPER_TEAM];

/** The list option of a filter (the same option `getConversationListByOption` takes). */
export function listOption(filter: InboxFilter): ConversationOption | undefined {
  switch (filter.kind) {
    case 'all': return undefined;
    case 'unread': return { onlyUnread: true };
    case 'p2p': return { conversationTypes: [ConversationType.P2P] };
    case 'teams': return { conversationTypes: TEAM_TYPES };
    case 'group': return { conversationGroupIds: [filter.groupId] };
  }
}

/** The unread filter matching a chip, or null for the total. */
function unreadFilter(filter: InboxFilter, ignoreMuted: boolean): ConversationFilter | null {
  const muted = ignoreMuted ? { ignoreMuted: true } : {};
  switch (filter.kind) {
    case 'all':
    case 'unread': return ignoreMuted ? { ignoreMuted: true } : null;
    case 'p2p': return { conversationTypes: [ConversationType.P2P], ...muted };
    case 'teams': return { conversationTypes: TEAM_TYPES, ...muted };
    case 'group': return { conversationGroupId: filter.groupId, ...muted };
  }
}

export function sameFilter(a: InboxFilter, b: InboxFilter): boolean {
  return a.kind === b.kind && (a.kind !== 'group' || (b.kind === 'group' && a.groupId === b.groupId));
}

function Chip(props: { service: ConversationService; filter: InboxFilter; label: string; selected: InboxFilter; ignoreMuted: boolean; onSelect: (filter: InboxFilter) => void }) {
  const { service, filter, ignoreMuted } = props;
  const key = JSON.stringify(unreadFilter(filter, ignoreMuted));
  const source = useMemo(() => {
    const unread = unreadFilter(filter, ignoreMuted);
    return unread === null ? service.totalUnreadCount$ : service.unreadCountByFilter$(unread);
  }, [service, key]);
  const count = useObservable<number>(source, 0);
  const active = sameFilter(filter, props.selected);
  const name = filter.kind === 'group' ? `group-${filter.groupId}` : filter.kind;
  return html`
    <button type="button" role="tab" class=${active ? 'chip active' : 'chip'} aria-selected=${active}
      data-filter=${name} onClick=${() => props.onSelect(filter)}
      aria-label=${`${props.label}${count > 0 ? `, ${count} unread` : ''}`}>
      ${props.label}${count > 0 ? html`<span class="chip-count" data-count=${count}>${count > 99 ? '99+' : count}</span>` : null}
    </button>`;
}

export function FilterBar(props: {
  service: ConversationService;
  groups: ConversationGroup[];
  selected: InboxFilter;
  ignoreMuted: boolean;
  onSelect: (filter: InboxFilter) => void;
  onIgnoreMuted: (value: boolean) => void;
}) {
  const common = { service: props.service, selected: props.selected, ignoreMuted: props.ignoreMuted, onSelect: props.onSelect };
  return html`
    <div class="filters">
      <div class="chips" role="tablist" aria-label="Filter conversations">
        <${Chip} ...${common} filter=${{ kind: 'all' }} label="All" />
        <${Chip} ...${common} filter=${{ kind: 'unread' }} label="Unread" />
        <${Chip} ...${common} filter=${{ kind: 'p2p' }} label="Chats" />
        <${Chip} ...${common} filter=${{ kind: 'teams' }} label="Teams" />
        ${props.groups.map((group) => html`<${Chip} key=${group.groupId} ...${common} filter=${{ kind: 'group', groupId: group.groupId }} label=${group.name} />`)}
      </div>
      <label class="toggle">
        <input type="checkbox" checked=${props.ignoreMuted} data-testid="ignore-muted"
          onChange=${(event: Event) => props.onIgnoreMuted((event.currentTarget as HTMLInputElement).checked)} />
        Ignore muted
      </label>
    </div>`;
}
