import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// Dev server on :5173 proxies the API and Socket.IO to the all-in-one backend on :3000.
const backend = process.env.BACKEND_URL ?? 'http://localhost:3000';

export default defineConfig({
  resolve: { alias: { '@contract': fileURLToPath(new URL('../backend/src/contract', import.meta.url)) } },
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  server: {
    proxy: {
      '/api': backend,
      '/socket.io': { target: backend, ws: true },
    },
  },
  build: { target: 'es2022', sourcemap: true },
});
