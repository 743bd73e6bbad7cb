/**
 * The open conversation's messages. History is read from the server (`getMessageList`, which puts
 * this device's pending sends first); live updates come from `onReceiveMessages` and
 * `onSendMessage`. Offline the server cannot be asked, so the view keeps what it loaded and shows
 * this device's own sends; it reloads when sync catches up. Messages are keyed by client message id,
 * so a send that is later confirmed by the server replaces its pending copy instead of doubling it.
 */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import type { Conversation, Engine, Message, SyncState } from '../session/engine.js';

export interface History {
  /** Oldest first. */
  messages: Message[];
  /** 'unavailable': the server could not be asked (offline); `messages` is then the cached page. */
  status: 'loading' | 'ready' | 'unavailable';
  hasOlder: boolean;
  loadOlder: () => void;
  /** Adds a message this view just sent (state 'sending'). */
  addLocal: (message: Message) => void;
}

const PAGE = 30;
const CACHE_PREFIX = 'convsync.history.';

/**
 * The newest page seen of a conversation, kept in localStorage so an offline reload still shows
 * recent history (the engine reads history from the server; the replica holds only conversations).
 */
function cacheKey(conversationId: string): string {
  return `${CACHE_PREFIX}${conversationId}`;
}

function readCache(conversationId: string): Message[] {
  try {
    const parsed: unknown = JSON.parse(localStorage.getItem(cacheKey(conversationId)) ?? '[]');
    return Array.isArray(parsed) ? (parsed as Message[]).filter((m) => typeof m.messageClientId === 'string' && typeof m.text === 'string') : [];
  } catch {
    return [];
  }
}

function writeCache(conversationId: string, messages: Message[]): void {
  try {
    const delivered = messages.filter((m) => m.sendingState === 'succeeded').slice(-PAGE);
    localStorage.setItem(cacheKey(conversationId), JSON.stringify(delivered));
  } catch {
    // Storage full or unavailable: the cache is only a convenience.
  }
}

function merge(current: Message[], incoming: Message[]): Message[] {
  const byId = new Map(current.map((m) => [m.messageClientId, m]));
  for (const message of incoming) {
    const known = byId.get(message.messageClientId);
    // A confirmed copy (server id, succeeded) replaces a pending one, never the reverse.
    if (known === undefined || known.sendingState !== 'succeeded' || message.sendingState === 'succeeded') {
      byId.set(message.messageClientId, message);
    }
  }
  return [...byId.values()].sort((a, b) => a.createTime - b.createTime || (a.messageClientId < b.messageClientId ? -1 : 1));
}

type LastMessage = NonNullable<Conversation['lastMessage']>;

/** The conversation's last message as a history entry (its text is the preview, ≤ 500 chars). */
function fromLastMessage(last: LastMessage): Message {
  const refer = last.messageRefer;
  return {
    messageClientId: refer.messageClientId,
    messageServerId: refer.messageServerId,
    conversationId: refer.conversationId,
    conversationType: refer.conversationType,
    senderId: refer.senderId,
    receiverId: refer.receiverId,
    senderName: last.senderName,
    messageType: last.messageType,
    text: last.text,
    serverExtension: '',
    createTime: refer.createTime,
    sendingState: 'succeeded',
  };
}

export function useHistory(engine: Engine, conversationId: string, syncState: SyncState, lastMessage: LastMessage | undefined): History {
  const lastMessageKey = lastMessage?.messageRefer.messageClientId ?? '';
  const [messages, setMessages] = useState<Message[]>([]);
  const [status, setStatus] = useState<History['status']>('loading');
  const [hasOlder, setHasOlder] = useState(false);
  const live = useRef(conversationId);
  live.current = conversationId;

  useEffect(() => {
    setMessages(readCache(conversationId));
    setStatus('loading');
    setHasOlder(false);
  }, [conversationId]);

  useEffect(() => {
    if (status === 'ready') writeCache(conversationId, messages);
  }, [conversationId, messages, status]);

  // Offline, the replica still knows the last message from the server: show it with the cache.
  useEffect(() => {
    if (status === 'unavailable' && lastMessage !== undefined && lastMessage.messageRefer.messageServerId !== '') {
      setMessages((current) => merge(current, [fromLastMessage(lastMessage)]));
    }
  }, [status, lastMessageKey]);

  // Reload the newest page on open, when sync catches up, and when the last message is one we lack.
  useEffect(() => {
    let cancelled = false;
    engine.messageService.getMessageList(conversationId, { limit: PAGE }).then(
      (page) => {
        if (cancelled) return;
        setMessages((current) => merge(current, page));
        setHasOlder((older) => older || page.length >= PAGE);
        setStatus('ready');
      },
      () => {
        if (!cancelled) setStatus((current) => (current === 'ready' ? 'ready' : 'unavailable'));
      },
    );
    return () => { cancelled = true; };
  }, [engine, conversationId, syncState === 'synced', lastMessageKey]);

  useEffect(() => {
    const onMessages = (incoming: Message[]): void => {
      const mine = incoming.filter((m) => m.conversationId === live.current);
      if (mine.length > 0) setMessages((current) => merge(current, mine));
    };
    const onSent = (message: Message): void => onMessages([message]);
    engine.messageService.on('onReceiveMessages', onMessages);
    engine.messageService.on('onSendMessage', onSent);
    return () => {
      engine.messageService.off('onReceiveMessages', onMessages);
      engine.messageService.off('onSendMessage', onSent);
    };
  }, [engine]);

  const loadOlder = useCallback(() => {
    const oldest = messages.find((m) => m.sendingState === 'succeeded');
    if (oldest === undefined) return;
    engine.messageService.getMessageList(conversationId, { limit: PAGE, beforeTime: oldest.createTime }).then(
      (page) => {
        setMessages((current) => merge(current, page));
        setHasOlder(page.length >= PAGE);
      },
      () => setStatus('unavailable'),
    );
  }, [engine, conversationId, messages]);

  const addLocal = useCallback((message: Message) => setMessages((current) => merge(current, [message])), []);
  return { messages, status, hasOlder, loadOlder, addLocal };
}
