/**
 * The inbox list: `conversationList$(option)` already ordered by the engine (pinned first, then
 * newest first). Arrow keys, Home and End move between rows; Enter opens one.
 */
import { useMemo } from 'preact/hooks';
import { html } from '../app/html.js';
import { useObservable } from '../app/use-observable.js';
import type { Conversation, ConversationService } from '../session/engine.js';
import { ConversationRow } from './conversation-row.js';
import { listOption, type InboxFilter } from './filters.js';

function moveFocus(event: KeyboardEvent): void {
  const list = event.currentTarget as HTMLElement;
  const links = [...list.querySelectorAll<HTMLAnchorElement>('.row-link')];
  const index = links.indexOf(document.activeElement as HTMLAnchorElement);
  let next = -1;
  if (event.key === 'ArrowDown' || event.key === 'j') next = Math.min(links.length - 1, index + 1);
  else if (event.key === 'ArrowUp' || event.key === 'k') next = Math.max(0, index - 1);
  else if (event.key === 'Home') next = 0;
  else if (event.key === 'End') next = links.length - 1;
  else return;
  event.preventDefault();
  links[next]?.focus();
}

export function ConversationList(props: {
  service: ConversationService;
  self: string;
  filter: InboxFilter;
  ignoreMuted: boolean;
  selectedId: string | null;
  onOpen: (id: string) => void;
}) {
  const key = JSON.stringify(props.filter);
  const source = useMemo(() => props.service.conversationList$(listOption(props.filter)), [props.service, key]);
  const all = useObservable<Conversation[] | null>(source, null);
  if (all === null) return html`<p class="empty" role="status">Opening your conversations…</p>`;
  const list = props.ignoreMuted ? all.filter((c) => !c.mute) : all;
  if (list.length === 0) {
    return html`<p class="empty" role="status">${props.filter.kind === 'all' ? 'No conversations yet. Start one with “New chat”.' : 'Nothing here.'}</p>`;
  }
  return html`
    <ul class="conversation-list" aria-label="Conversations" onKeyDown=${moveFocus}>
      ${list.map((c) => html`<${ConversationRow} key=${c.conversationId} conversation=${c} self=${props.self}
        selected=${c.conversationId === props.selectedId} onOpen=${props.onOpen} />`)}
    </ul>`;
}
