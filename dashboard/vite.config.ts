/// <reference types="vitest/config" />
import { defineConfig } from 'vite';

// The Flask API serves dist/ at `/`; `npm run dev` proxies /api to it (FOREWARN_API_URL).
const apiTarget = process.env.FOREWARN_API_URL ?? 'http://127.0.0.1:8000';

// Tests run in a zone with a half-hour offset, so a local/UTC mix-up in the log's time
// filters cannot pass by luck; set here because test workers cannot change it themselves.
if (process.env.VITEST) process.env.TZ = 'Asia/Kolkata';

export default defineConfig({
  base: './',
  // esbuild's own JSX transform: no @vitejs/plugin-react needed (and no Fast Refresh).
  esbuild: { jsx: 'automatic' },
  build: {
    outDir: 'dist',
    sourcemap: false, // `npx vite build --sourcemap` when debugging a production bundle
    chunkSizeWarningLimit: 400,
  },
  server: {
    proxy: { '/api': { target: apiTarget, changeOrigin: false } },
  },
  test: {
    include: ['tests/**/*.test.{ts,tsx}'],
    environment: 'node',
    pool: 'threads',
    poolOptions: { threads: { maxThreads: 2, minThreads: 1 } },
  },
});
