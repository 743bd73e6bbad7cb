/**
 * An open conversation: header with its actions (pin, mute, groups, extension, delete), the
 * history, and the composer. While it is open and visible it stays read: opening marks it read, and
 * so does any message that arrives while the user is looking at it.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ConversationType } from '@convsync/engine';
import { html } from '../app/html.js';
import { useObservable } from '../app/use-observable.js';
import { ConversationGroupsDialog } from '../groups/groups.js';
import { displayName } from '../inbox/conversation-row.js';
import type { Conversation, ConversationGroup, Engine, Message, SyncState } from '../session/engine.js';
import { Avatar } from '../ui/avatar.js';
import { fullTime, messageTime } from '../ui/format.js';
import { Icon } from '../ui/icons.js';
import { Composer } from './composer.js';
import { DeleteDialog, ExtensionDialog } from './dialogs.js';
import { useHistory } from './history.js';

type Open = 'delete' | 'extension' | 'groups' | null;

function MessageBubble(props: { message: Message; self: string; team: boolean }) {
  const m = props.message;
  const own = m.senderId === props.self;
  const state = own && m.sendingState !== 'succeeded' ? m.sendingState : '';
  return html`
    <li class=${own ? 'message own' : 'message'} data-client-id=${m.messageClientId} data-state=${m.sendingState}>
      ${props.team && !own ? html`<span class="sender">${m.senderName || m.senderId}</span>` : null}
      <span class="bubble">${m.text}</span>
      <span class="meta">
        <time dateTime=${new Date(m.createTime).toISOString()} title=${fullTime(m.createTime)}>${messageTime(m.createTime)}</time>
        ${state === 'sending' ? html`<span class="sending" title="Waiting to be delivered"> · sending</span>` : null}
        ${state === 'failed' ? html`<span class="failed"> · not delivered</span>` : null}
      </span>
    </li>`;
}

export function ConversationView(props: {
  engine: Engine;
  conversationId: string;
  self: string;
  syncState: SyncState;
  groups: ConversationGroup[];
  onBack: () => void;
  onError: (text: string) => void;
}) {
  const { engine, conversationId } = props;
  const service = engine.conversationService;
  const source = useMemo(() => service.conversation$(conversationId), [service, conversationId]);
  const conversation = useObservable<Conversation | null | undefined>(source, undefined);
  const [open, setOpen] = useState<Open>(null);
  const history = useHistory(engine, conversationId, props.syncState, conversation?.lastMessage);
  const scroller = useRef<HTMLOListElement>(null);

  // Reading it here marks it read on every device.
  const unread = conversation?.unreadCount ?? 0;
  useEffect(() => {
    if (conversation === null || conversation === undefined || unread === 0) return;
    service.markConversationRead(conversationId).catch((error: unknown) => console.warn('mark read', error));
  }, [service, conversationId, unread, conversation === null || conversation === undefined]);

  useEffect(() => {
    const list = scroller.current;
    if (list !== null) list.scrollTop = list.scrollHeight;
  }, [history.messages.length, conversationId]);

  if (conversation === undefined) return html`<section class="conversation" aria-busy="true"></section>`;
  if (conversation === null) {
    return html`
      <section class="conversation gone">
        <p class="empty">This conversation was deleted.</p>
        <button type="button" class="button" onClick=${props.onBack}>Back to the inbox</button>
      </section>`;
  }
  const name = displayName(conversation);
  const team = conversation.type !== ConversationType.P2P;
  const act = (task: Promise<unknown>): void => { task.catch((error: unknown) => props.onError(error instanceof Error ? error.message : String(error))); };

  return html`
    <section class="conversation" aria-label=${`Conversation with ${name}`} data-conversation-id=${conversationId}
      onKeyDown=${(event: KeyboardEvent) => { if (event.key === 'Escape' && open === null) props.onBack(); }}>
      <header class="conversation-header">
        <button type="button" class="icon-button back" aria-label="Back to the inbox" onClick=${props.onBack}><${Icon} name="back" size=${24} /></button>
        <${Avatar} name=${name} src=${conversation.avatar} keyText=${conversationId} size=${40} team=${team} />
        <div class="title">
          <h2>${name}</h2>
          <p class="subtitle">${team ? 'Team' : 'Chat'}${conversation.mute ? ' · muted' : ''}${conversation.stickTop ? ' · pinned' : ''}${conversation.serverExtension !== '' ? ` · ext: ${conversation.serverExtension.slice(0, 24)}` : ''}</p>
        </div>
        <div class="actions" role="toolbar" aria-label="Conversation actions">
          <button type="button" class="icon-button" data-action="pin" aria-pressed=${conversation.stickTop}
            aria-label=${conversation.stickTop ? 'Unpin' : 'Pin'} title=${conversation.stickTop ? 'Unpin' : 'Pin to top'}
            onClick=${() => act(service.stickTopConversation(conversationId, !conversation.stickTop))}>${conversation.stickTop ? html`<${Icon} name="unpin" />` : html`<${Icon} name="pin" />`}</button>
          <button type="button" class="icon-button" data-action="mute" aria-pressed=${conversation.mute}
            aria-label=${conversation.mute ? 'Unmute' : 'Mute'} title=${conversation.mute ? 'Unmute' : 'Mute'}
            onClick=${() => act(service.muteConversation(conversationId, !conversation.mute))}>${conversation.mute ? html`<${Icon} name="bellOff" />` : html`<${Icon} name="bell" />`}</button>
          <button type="button" class="icon-button" data-action="groups" aria-label="Groups" title="Groups" onClick=${() => setOpen('groups')}><${Icon} name="folder" /></button>
          <button type="button" class="icon-button" data-action="extension" aria-label="Edit server extension" title="Server extension" onClick=${() => setOpen('extension')}><${Icon} name="edit" /></button>
          <button type="button" class="icon-button" data-action="delete" aria-label="Delete conversation" title="Delete" onClick=${() => setOpen('delete')}><${Icon} name="trash" /></button>
        </div>
      </header>
      <ol class="messages" ref=${scroller} aria-label="Messages" aria-live="polite">
        ${history.hasOlder ? html`<li class="older"><button type="button" class="button" onClick=${history.loadOlder}>Load older messages</button></li>` : null}
        ${history.status === 'unavailable' ? html`<li class="notice">Offline: showing the messages this device has seen. What you send now is kept and delivered when you are back.</li>` : null}
        ${history.status === 'ready' && history.messages.length === 0 ? html`<li class="notice">No messages yet. Say hello!</li>` : null}
        ${history.messages.map((m) => html`<${MessageBubble} key=${m.messageClientId} message=${m} self=${props.self} team=${team} />`)}
      </ol>
      <${Composer} engine=${engine} conversationId=${conversationId} onSent=${history.addLocal} onError=${props.onError} />
      ${open === 'delete' ? html`<${DeleteDialog} service=${service} conversation=${conversation} name=${name} onClose=${() => setOpen(null)}
        onDeleted=${() => { setOpen(null); props.onBack(); }} onError=${props.onError} />` : null}
      ${open === 'extension' ? html`<${ExtensionDialog} service=${service} conversation=${conversation} onClose=${() => setOpen(null)} onError=${props.onError} />` : null}
      ${open === 'groups' ? html`<${ConversationGroupsDialog} service=${engine.conversationGroupService} groups=${props.groups}
        conversation=${conversation} onClose=${() => setOpen(null)} onError=${props.onError} />` : null}
    </section>`;
}
