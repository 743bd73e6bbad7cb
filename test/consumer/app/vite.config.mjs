// The scratch app's Vite build. It records every module that went into the bundle, so the
// consumer test can check there is one Dexie and one rxjs, and that the engine came from dist/.
import { writeFileSync } from 'node:fs';
import { defineConfig } from 'vite';

export default defineConfig({
  logLevel: 'warn',
  build: { outDir: 'dist-browser', emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 4096 },
  plugins: [{
    name: 'record-bundled-modules',
    generateBundle(_options, bundle) {
      const ids = Object.values(bundle).flatMap((output) => (output.type === 'chunk' ? output.moduleIds : []));
      writeFileSync('bundled-modules.json', JSON.stringify(ids));
    },
  }],
});
