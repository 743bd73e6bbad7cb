/** Entry point of the demo PWA: renders the app, installs the service worker. */
import { render } from 'preact';
import { App } from './app/app.js';
import { html } from './app/html.js';
import { registerServiceWorker } from './platform/pwa.js';
import './styles.css';

const root = document.getElementById('app');
if (root !== null) render(html`<${App} />`, root);
registerServiceWorker();
