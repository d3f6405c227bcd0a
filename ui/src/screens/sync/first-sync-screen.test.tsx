import { describe, expect, it } from "vitest";
import { screen, waitFor } from "@testing-library/react";
import type { Channel } from "@tauri-apps/api/core";
import type { SyncProgress } from "@/bindings/types";
import { createFakeBackend, fail } from "@/dev/fake-backend";
import { makeAccount } from "@/dev/fixtures";
import { expectNoSeriousA11yViolations } from "@/test/axe";
import { renderApp } from "@/test/render-app";
import { progressWords } from "./first-sync-screen";

type Internals = { __TAURI_INTERNALS__: { runCallback: (id: number, data: unknown) => void } };
const send = (channel: Channel<SyncProgress>, index: number, message: SyncProgress) =>
  (window as unknown as Internals).__TAURI_INTERNALS__.runCallback(channel.id, { index, message });

describe("First sync", () => {
  it("words the progress", () => {
    expect(progressWords(null)).toBe("Contacting the server…");
    expect(progressWords({ done: 12340, estimated_total: 100000 })).toBe("12,340 of ~100,000 records");
    expect(progressWords({ done: 500, estimated_total: null })).toBe("500 records");
  });

  it("feeds the progress bar from the sync channel, then opens Home", async () => {
    let channel: Channel<SyncProgress> | null = null;
    let finish: (() => void) | null = null;
    const backend = createFakeBackend({
      lastSyncedAt: null,
      overrides: {
        sync_run: ({ on_progress }) =>
          new Promise((resolve) => {
            channel = on_progress;
            finish = () => {
              backend.state.lastSyncedAt = new Date().toISOString();
              resolve({ applied: 100000, pages: 10, purged: false, records: 100000, synced_at: backend.state.lastSyncedAt });
            };
          }),
      },
    });
    renderApp({ path: "/", backend });
    const bar = await screen.findByTestId("sync-progress");
    expect(screen.getByText("Preparing your workspace")).toBeInTheDocument();
    expect(document.title).toBe("Preparing your workspace — Countersign");
    await waitFor(() => expect(channel).not.toBeNull());
    send(channel!, 0, { done: 12340, estimated_total: 100000 });
    expect(await screen.findByText("12,340 of ~100,000 records")).toBeInTheDocument();
    expect(bar).toHaveAttribute("aria-valuenow", "12");
    send(channel!, 1, { done: 50000, estimated_total: 100000 });
    expect(await screen.findByText("50,000 of ~100,000 records")).toBeInTheDocument();
    expect(bar).toHaveAttribute("aria-valuenow", "50");
    await expectNoSeriousA11yViolations();
    finish!();
    expect(await screen.findByTestId("home")).toBeInTheDocument();
  });

  it("says it is offline, with Retry, and continues once the server answers", async () => {
    const { user, backend } = renderApp({ path: "/sync", backend: { lastSyncedAt: null, online: false, syncStepMs: 1 } });
    expect(await screen.findByText("You're offline")).toBeInTheDocument();
    expect(screen.getByRole("alert")).toHaveTextContent(/The first sync needs the server/);
    await expectNoSeriousA11yViolations();
    backend.setOnline(true);
    await user.click(screen.getByRole("button", { name: "Retry" }));
    expect(await screen.findByTestId("home")).toBeInTheDocument();
  });

  it("shows other failures in words with Retry", async () => {
    renderApp({
      path: "/sync",
      backend: { lastSyncedAt: null, overrides: { sync_run: () => { throw fail("service_unavailable"); } } },
    });
    expect(await screen.findByText("The first sync did not finish")).toBeInTheDocument();
    expect(screen.getByRole("alert")).toHaveTextContent("The server is busy or under maintenance. Wait a moment and try again.");
    expect(screen.getByRole("button", { name: "Retry" })).toBeInTheDocument();
  });

  it("goes to sign-in with the message when the sync says signed out", async () => {
    renderApp({
      path: "/sync",
      backend: { lastSyncedAt: null, overrides: { sync_run: () => { throw fail("signed_out"); } } },
    });
    expect(await screen.findByTestId("sign-in-0")).toBeInTheDocument();
    expect(screen.getByRole("alert")).toHaveTextContent(/You were signed out/);
  });

  it("mentions memory-only storage when there is no keyring", async () => {
    renderApp({
      path: "/sync",
      backend: {
        lastSyncedAt: null,
        account: makeAccount({ persistence: "memory_only", persistence_reason: "no keyring" }),
        overrides: { sync_run: () => new Promise(() => {}) },
      },
    });
    expect(await screen.findByText(/into memory \(nothing is stored on this computer\)/)).toBeInTheDocument();
  });
});
