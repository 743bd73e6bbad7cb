/** Starts a chat with an account: creates the (empty) conversation on this device and opens it. */
import { useState } from 'preact/hooks';
import { html } from '../app/html.js';
import type { Engine } from '../session/engine.js';
import { Dialog } from '../ui/dialog.js';

export function NewChatDialog(props: { engine: Engine; onClose: () => void; onOpen: (id: string) => void; onError: (text: string) => void }) {
  const [account, setAccount] = useState('');
  const start = async (): Promise<void> => {
    try {
      const id = props.engine.conversationIdUtil.p2pConversationId(account.trim());
      await props.engine.conversationService.createConversation(id);
      props.onOpen(id);
    } catch (error) {
      props.onError(error instanceof Error ? error.message : String(error));
    }
  };
  return html`
    <${Dialog} title="New chat" onClose=${props.onClose} name="new-chat">
      <form onSubmit=${(event: Event) => { event.preventDefault(); void start(); }}>
        <label for="new-chat-account">Account to write to</label>
        <input id="new-chat-account" value=${account} autocomplete="off" placeholder="e.g. bob"
          onInput=${(event: Event) => setAccount((event.currentTarget as HTMLInputElement).value)} />
        <div class="dialog-actions">
          <button type="button" class="button" onClick=${props.onClose}>Cancel</button>
          <button type="submit" class="button primary" disabled=${account.trim() === ''}>Start chat</button>
        </div>
      </form>
    <//>`;
}
