// Vite builds the UI into dist/, which the Kairos server serves on the UI port. `npm run dev -w
// @kairos/ui` runs Vite's dev server and forwards /api to a Kairos server (KAIROS_UI_API, default
// localhost:8233), so the UI can be changed with hot reload against real workflows.
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/',
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 1000 },
  server: {
    proxy: { '/api': { target: `http://${process.env['KAIROS_UI_API'] ?? 'localhost:8233'}`, changeOrigin: true } },
  },
});
