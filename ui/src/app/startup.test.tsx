import { describe, expect, it, vi } from "vitest";
import { screen, waitFor } from "@testing-library/react";
import { renderApp, forever } from "@/test/render-app";
import { createFakeBackend, fail, type FakeBackend } from "@/dev/fake-backend";
import { makeAccount, makeServer, READ_PERMISSIONS } from "@/dev/fixtures";
import { expectNoSeriousA11yViolations } from "@/test/axe";

describe("startup routes by AppState", () => {
  it("shows a splash while appStart is pending", async () => {
    renderApp({ backend: { overrides: { app_start: forever } } });
    expect(await screen.findByText("Starting Countersign…")).toBeInTheDocument();
  });

  it("asks for the server URL when there is no server", async () => {
    renderApp({ backend: { server: null, account: null } });
    expect(await screen.findByTestId("server-url")).toBeInTheDocument();
    expect(document.title).toBe("Connect to a server — Countersign");
  });

  it("shows the configured server's error in words on the server screen", async () => {
    renderApp({ backend: { server: null, account: null, serverError: fail("tls") } });
    expect(
      await screen.findByText(/security certificate could not be verified/),
    ).toBeInTheDocument();
    expect(screen.queryByText("tls")).not.toBeInTheDocument();
  });

  it("shows the update screen, with both versions and no sign-in", async () => {
    renderApp({
      backend: {
        updateRequired: true,
        account: null,
        clientVersion: "0.1.0",
        server: makeServer({ min_client_version: "0.3.0" }),
      },
    });
    expect(await screen.findByRole("heading", { name: "Update required" })).toBeInTheDocument();
    expect(screen.getByText("0.1.0")).toBeInTheDocument();
    expect(screen.getByText("0.3.0")).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: /sign in/i })).not.toBeInTheDocument();
    await expectNoSeriousA11yViolations();
  });

  it("shows sign-in when there is no account", async () => {
    renderApp({ backend: { account: null } });
    expect(await screen.findByTestId("sign-in-0")).toHaveTextContent("Sign in with Countersign Staff ID");
  });

  it("opens the shell on Home when signed in and synced", async () => {
    const { router } = renderApp({ path: "/customers" , backend: {} });
    expect(await screen.findByRole("heading", { name: "Customers" })).toBeInTheDocument();
    expect(router.state.location.pathname).toBe("/customers");
    await router.navigate({ to: "/" });
    expect(await screen.findByTestId("home")).toBeInTheDocument();
  });

  it("sends a signed-in user without a first sync to the first sync", async () => {
    renderApp({ backend: { lastSyncedAt: null, syncStepMs: 5 } });
    expect(await screen.findByText("Preparing your workspace")).toBeInTheDocument();
  });

  it("says in words why startup failed and retries", async () => {
    // The router reports the failed guard on the console; that is expected here.
    vi.spyOn(console, "error").mockImplementation(() => {});
    vi.spyOn(console, "warn").mockImplementation(() => {});
    let calls = 0;
    renderApp({
      backend: {
        overrides: {
          app_start: () => {
            calls += 1;
            if (calls === 1) throw fail("keyring_unavailable");
            return forever();
          },
        },
      },
    });
    expect(await screen.findByText(/system keyring is not available/)).toBeInTheDocument();
    expect(screen.queryByText(/keyring_unavailable/)).not.toBeInTheDocument();
    screen.getByRole("button", { name: "Retry" }).click();
    await waitFor(() => expect(calls).toBe(2));
  });
});

describe("a server that stops accepting this version while the app runs", () => {
  /** As the Rust side does: the refusal flags the app, and app_start then reads the new minimum. */
  const refuseVersion = (backend: FakeBackend) => () => {
    backend.state.updateRequired = true;
    backend.state.server = makeServer({ min_client_version: "0.3.0" });
    throw fail("client_update_required", "This version of the app (0.1.0) is older than this server accepts (0.3.0).");
  };

  it("sends the window to the update screen when a command is refused", async () => {
    const backend: FakeBackend = createFakeBackend({
      lastSyncedAt: new Date().toISOString(),
      account: makeAccount({ permissions: [...READ_PERMISSIONS, "approvals:request", "approvals:decide"] }),
      overrides: { approvals_list: () => refuseVersion(backend)() },
    });
    const { router } = renderApp({ path: "/approvals", backend });
    await waitFor(() => expect(router.state.location.pathname).toBe("/update"));
    expect(await screen.findByRole("heading", { name: "Update required" })).toBeInTheDocument();
    expect(screen.getByText("0.3.0")).toBeInTheDocument();
    expect(backend.callsOf("sign_out")).toHaveLength(0);
  });

  it("sends the window to the update screen when the sync timer is refused", async () => {
    const backend: FakeBackend = createFakeBackend({
      // Older than the interval: the timer syncs at once.
      lastSyncedAt: new Date(Date.now() - 3_600_000).toISOString(),
      overrides: { sync_run: () => refuseVersion(backend)() },
    });
    const { router } = renderApp({ path: "/", backend });
    await waitFor(() => expect(router.state.location.pathname).toBe("/update"));
    expect(await screen.findByRole("heading", { name: "Update required" })).toBeInTheDocument();
  });
});
