import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { createHashHistory } from "@tanstack/react-router";
import { App } from "@/app/app";
import { createQueryClient } from "@/app/query-client";
import { createAppRouter } from "@/app/router";
import "./styles.css";

async function start() {
  // The browser-only preview answers the IPC itself; a production build drops this branch
  // (MODE is a build-time constant) and with it the whole dev/ folder.
  if (import.meta.env.MODE === "preview") {
    const { installPreviewBackend } = await import("./dev/preview");
    installPreviewBackend();
  }
  const queryClient = createQueryClient();
  // Tauri serves the app from tauri://localhost/index.html: hash history keeps every route
  // on that one file.
  const router = createAppRouter({ queryClient, history: createHashHistory() });
  createRoot(document.getElementById("root")!).render(
    <StrictMode>
      <App queryClient={queryClient} router={router} />
    </StrictMode>,
  );
}

void start();
