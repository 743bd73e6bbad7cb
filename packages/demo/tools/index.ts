/**
 * `@convsync/demo` (the package root, for Node): Node-side helpers around the demo PWA, for `npm start` and the browser
 * tests — build and serve the PWA, and seed a server with demo content.
 */
export { buildDemo, demoBuildIsStale, demoRoot, serveDemo, type BuildOptions, type DemoServer, type ServeOptions } from './serve.js';
export { DEMO_ACCOUNTS, seedDemo } from './seed.js';
