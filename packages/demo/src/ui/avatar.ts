/** A round avatar: the profile picture when the conversation has one, else coloured initials. */
import { html } from '../app/html.js';
import { colourFor, initials } from './format.js';

export function Avatar(props: { name: string; src: string; keyText: string; size?: number; team?: boolean }) {
  const size = props.size ?? 48;
  const style = `width:${size}px;height:${size}px;font-size:${Math.round(size * 0.38)}px;background:${colourFor(props.keyText)}`;
  if (props.src.startsWith('https://') || props.src.startsWith('data:image/')) {
    return html`<img class="avatar" src=${props.src} alt="" style=${style} />`;
  }
  return html`<span class=${props.team === true ? 'avatar team' : 'avatar'} aria-hidden="true" style=${style}>${initials(props.name)}</span>`;
}
