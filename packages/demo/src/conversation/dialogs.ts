/** The conversation's edit dialogs: delete (with or without history) and the server extension. */
import { useState } from 'preact/hooks';
import { html } from '../app/html.js';
import type { Conversation, ConversationService } from '../session/engine.js';
import { Dialog } from '../ui/dialog.js';

export function DeleteDialog(props: { service: ConversationService; conversation: Conversation; name: string; onClose: () => void; onDeleted: () => void; onError: (text: string) => void }) {
  const [clearHistory, setClearHistory] = useState(false);
  const remove = async (): Promise<void> => {
    try {
      await props.service.deleteConversation(props.conversation.conversationId, clearHistory);
      props.onDeleted();
    } catch (error) {
      props.onError(error instanceof Error ? error.message : String(error));
    }
  };
  return html`
    <${Dialog} title=${`Delete “${props.name}”?`} onClose=${props.onClose} name="delete">
      <p>It disappears from every device signed in as you. A new message brings it back.</p>
      <label class="check">
        <input type="checkbox" checked=${clearHistory} data-testid="clear-history"
          onChange=${(event: Event) => setClearHistory((event.currentTarget as HTMLInputElement).checked)} />
        Also clear the message history
      </label>
      <div class="dialog-actions">
        <button type="button" class="button" onClick=${props.onClose}>Cancel</button>
        <button type="button" class="button danger" data-testid="confirm-delete" onClick=${() => void remove()}>Delete</button>
      </div>
    <//>`;
}

export function ExtensionDialog(props: { service: ConversationService; conversation: Conversation; onClose: () => void; onError: (text: string) => void }) {
  const [value, setValue] = useState(props.conversation.serverExtension);
  const bytes = new TextEncoder().encode(value).length;
  const save = async (): Promise<void> => {
    try {
      await props.service.updateConversation(props.conversation.conversationId, { serverExtension: value });
      props.onClose();
    } catch (error) {
      props.onError(error instanceof Error ? error.message : String(error));
    }
  };
  return html`
    <${Dialog} title="Server extension" onClose=${props.onClose} name="extension">
      <form onSubmit=${(event: Event) => { event.preventDefault(); void save(); }}>
        <label for="extension-input">Synced to every device of your account (at most 1,024 bytes)</label>
        <textarea id="extension-input" rows="5" value=${value}
          onInput=${(event: Event) => setValue((event.currentTarget as HTMLTextAreaElement).value)}></textarea>
        <p class=${bytes > 1024 ? 'hint error' : 'hint'}>${bytes} / 1024 bytes</p>
        <div class="dialog-actions">
          <button type="button" class="button" onClick=${props.onClose}>Cancel</button>
          <button type="submit" class="button primary" disabled=${bytes > 1024}>Save</button>
        </div>
      </form>
    <//>`;
}
