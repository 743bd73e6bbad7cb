/** One row of the inbox, as chat apps draw it: avatar, name, time, preview, unread badge, markers. */
import { ConversationType } from '@convsync/engine';
import { html } from '../app/html.js';
import type { Conversation } from '../session/engine.js';
import { Avatar } from '../ui/avatar.js';
import { fullTime, listTime } from '../ui/format.js';
import { Icon } from '../ui/icons.js';

/** The preview line: "You: …" for our own message, "Name: …" in a team, the text alone in a chat. */
export function previewOf(conversation: Conversation, self: string): string {
  const last = conversation.lastMessage;
  if (last === undefined) return 'No messages yet';
  if (last.lastMessageState === 1) return 'Message revoked';
  const text = last.messageType === 0 ? last.text : '[custom message]';
  if (last.messageRefer.senderId === self) return `You: ${text}`;
  if (conversation.type !== ConversationType.P2P) return `${last.senderName || last.messageRefer.senderId}: ${text}`;
  return text;
}

/** What a row's time shows: the last message's, else when the conversation was created. */
export function timeOf(conversation: Conversation): number {
  return conversation.lastMessage?.messageRefer.createTime ?? conversation.createTime;
}

export function displayName(conversation: Conversation): string {
  if (conversation.name !== '') return conversation.name;
  const parts = conversation.conversationId.split('|');
  return parts[2] ?? conversation.conversationId;
}

export function ConversationRow(props: { conversation: Conversation; self: string; selected: boolean; onOpen: (id: string) => void }) {
  const c = props.conversation;
  const name = displayName(c);
  const unread = c.unreadCount;
  const time = timeOf(c);
  const label = [
    name,
    c.stickTop ? 'pinned' : '',
    c.mute ? 'muted' : '',
    unread > 0 ? `${unread} unread` : '',
    previewOf(c, props.self),
  ].filter((part) => part !== '').join(', ');
  return html`
    <li class=${`row${c.stickTop ? ' pinned' : ''}${props.selected ? ' selected' : ''}${unread > 0 ? ' has-unread' : ''}`}
      data-conversation-id=${c.conversationId} data-pinned=${c.stickTop} data-muted=${c.mute} data-unread=${unread}>
      <a href=${`#/c/${encodeURIComponent(c.conversationId)}`} class="row-link" aria-label=${label}
        aria-current=${props.selected ? 'true' : undefined}
        onClick=${(event: MouseEvent) => { event.preventDefault(); props.onOpen(c.conversationId); }}>
        <${Avatar} name=${name} src=${c.avatar} keyText=${c.conversationId} team=${c.type !== ConversationType.P2P} />
        <span class="row-main">
          <span class="row-top">
            <span class="row-name">${name}</span>
            ${c.stickTop ? html`<span class="marker pin" title="Pinned"><${Icon} name="pin" size=${14} /></span>` : null}
            ${c.mute ? html`<span class="marker mute" title="Muted"><${Icon} name="bellOff" size=${14} /></span>` : null}
            <time class="row-time" dateTime=${new Date(time).toISOString()} title=${fullTime(time)}>${listTime(time)}</time>
          </span>
          <span class="row-bottom">
            <span class="row-preview">${previewOf(c, props.self)}</span>
            ${unread > 0 ? html`<span class=${c.mute ? 'badge muted' : 'badge'} data-testid="unread-badge">${unread > 99 ? '99+' : unread}</span>` : null}
          </span>
        </span>
      </a>
    </li>`;
}
