/**
 * The message box. Sending works offline: `sendMessage` resolves once the message is stored on the
 * device, and the engine delivers it exactly once when the network is back.
 */
import { useState } from 'preact/hooks';
import { html } from '../app/html.js';
import type { Engine, Message } from '../session/engine.js';

export function Composer(props: { engine: Engine; conversationId: string; onSent: (message: Message) => void; onError: (text: string) => void }) {
  const [text, setText] = useState('');
  const send = async (): Promise<void> => {
    const body = text.trim();
    if (body === '') return;
    setText('');
    try {
      props.onSent(await props.engine.messageService.sendMessage(props.conversationId, { text: body }));
    } catch (error) {
      setText(body);
      props.onError(error instanceof Error ? error.message : String(error));
    }
  };
  return html`
    <form class="composer" onSubmit=${(event: Event) => { event.preventDefault(); void send(); }}>
      <label class="visually-hidden" for="composer-input">Message</label>
      <textarea id="composer-input" rows="1" placeholder="Message" value=${text} maxLength=${5000}
        onInput=${(event: Event) => setText((event.currentTarget as HTMLTextAreaElement).value)}
        onKeyDown=${(event: KeyboardEvent) => {
          if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) { event.preventDefault(); void send(); }
        }}></textarea>
      <button type="submit" class="send" disabled=${text.trim() === ''} aria-label="Send">Send</button>
    </form>`;
}
