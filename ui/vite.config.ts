import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// Tauri loads the built files from ui/dist (tauri.conf.json `frontendDist`).
export default defineConfig({
  plugins: [react()],
  clearScreen: false,
  server: { port: 1420, strictPort: true },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    // Strict CSP: no inline scripts or styles in the output.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
  },
});
