/**
 * JSX-free templates: htm bound to Preact's `h`, so components are plain TypeScript with no JSX
 * transform in the build.
 */
import { h, type VNode } from 'preact';
import htm from 'htm';

/** Tagged template producing Preact elements: html`<p class="x">${text}</p>`. */
export const html = htm.bind(h) as (strings: TemplateStringsArray, ...values: unknown[]) => VNode;
