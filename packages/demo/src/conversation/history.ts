/**
 * The open conversation's messages. History is read from the server (`getMessageList`, which puts
 * this device's pending sends first); live updates come from `onReceiveMessages` and
 * `onSendMessage`. Offline the server cannot be asked, so the view keeps what it loaded and shows
 * this device's own sends; it reloads when sync catches up. Messages are keyed by client message id,
 * so a send that is later confirmed by the server replaces its pending copy instead of doubling it.
 */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import type { Engine, Message, SyncState } from '../session/engine.js';

export interface History {
  /** Oldest first. */
  messages: Message[];
  status: 'loading' | 'ready' | 'unavailable';
  hasOlder: boolean;
  loadOlder: () => void;
  /** Adds a message this view just sent (state 'sending'). */
  addLocal: (message: Message) => void;
}

const PAGE = 30;

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

export function useHistory(engine: Engine, conversationId: string, syncState: SyncState, lastMessageKey: string): History {
  const [messages, setMessages] = useState<Message[]>([]);
  const [status, setStatus] = useState<History['status']>('loading');
  const [hasOlder, setHasOlder] = useState(false);
  const live = useRef(conversationId);
  live.current = conversationId;

  useEffect(() => {
    setMessages([]);
    setStatus('loading');
    setHasOlder(false);
  }, [conversationId]);

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
