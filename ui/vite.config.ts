/// <reference types="vitest/config" />
import { defineConfig, type Plugin } from "vite";
import react from "@vitejs/plugin-react";
import tailwindcss from "@tailwindcss/vite";

/**
 * sonner inserts its stylesheet at import time with a runtime `<style>` element, which the
 * app's CSP (`style-src 'self'`) refuses. We import `sonner/dist/styles.css` from
 * src/styles.css instead, so the build drops that call. The build fails loudly if a new sonner
 * version changes the shape of the call (then update the pattern or the pin).
 */
function sonnerWithoutInjectedStyle(): Plugin {
  return {
    name: "countersign:sonner-without-injected-style",
    enforce: "pre",
    transform(code, id) {
      if (!/[\\/]node_modules[\\/]sonner[\\/]dist[\\/]index\.m?js$/.test(id)) return null;
      const stripped = code.replace(/^__insertCSS\((["'`]).*\1\);?$/m, "");
      if (stripped === code) {
        this.error("sonner's __insertCSS(...) call was not found: check the sonner version");
      }
      return { code: stripped, map: null };
    },
  };
}

// Tauri loads the built files from ui/dist (tauri.conf.json `frontendDist`).
// `vite build --mode preview` builds a browser-only preview with a mocked IPC (src/dev/) into
// dist-preview/; the production build never contains that code.
export default defineConfig(({ mode }) => ({
  plugins: [react(), tailwindcss(), sonnerWithoutInjectedStyle()],
  resolve: {
    // "/src" is resolved from the project root by Vite (and Vitest).
    alias: { "@": "/src" },
  },
  clearScreen: false,
  server: { port: 1420, strictPort: true },
  preview: { port: 4173, strictPort: true },
  optimizeDeps: { exclude: ["sonner"] },
  build: {
    outDir: mode === "preview" ? "dist-preview" : "dist",
    emptyOutDir: true,
    target: "es2022",
    // Strict CSP: no inline scripts or styles in the output.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 1500,
    rollupOptions: {
      onwarn(warning, warn) {
        // zod 4 places /* @__PURE__ */ where Rollup cannot use it; harmless, and not ours.
        if (warning.code === "INVALID_ANNOTATION" && /[\\/]node_modules[\\/]zod[\\/]/.test(warning.id ?? "")) return;
        warn(warning);
      },
    },
  },
  test: {
    environment: "jsdom",
    setupFiles: ["./src/test/setup.ts"],
    css: false,
    restoreMocks: true,
    testTimeout: 20000,
    include: ["src/**/*.test.{ts,tsx}"],
  },
}));
