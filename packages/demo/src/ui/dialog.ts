/**
 * A modal built on the native <dialog>: focus is trapped and restored by the browser, Escape closes
 * it, and it is announced with its title.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useId, useRef } from 'preact/hooks';
import { html } from '../app/html.js';
import { Icon } from './icons.js';

export function Dialog(props: { title: string; onClose: () => void; children: ComponentChildren; name?: string }) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const dialog = ref.current;
    if (dialog !== null && !dialog.open) dialog.showModal();
    return () => dialog?.close();
  }, []);
  return html`
    <dialog ref=${ref} class="dialog" aria-labelledby=${titleId} data-dialog=${props.name ?? ''}
      onCancel=${(event: Event) => { event.preventDefault(); props.onClose(); }}>
      <header class="dialog-header">
        <h2 id=${titleId}>${props.title}</h2>
        <button type="button" class="icon-button" aria-label="Close" onClick=${props.onClose}><${Icon} name="close" /></button>
      </header>
      <div class="dialog-body">${props.children}</div>
    </dialog>`;
}
