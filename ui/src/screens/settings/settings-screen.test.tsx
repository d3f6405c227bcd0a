import { describe, expect, it } from "vitest";
import { screen, waitFor, within } from "@testing-library/react";
import { fail } from "@/dev/fake-backend";
import { makeAccount } from "@/dev/fixtures";
import { expectNoSeriousA11yViolations } from "@/test/axe";
import { forever, renderApp } from "@/test/render-app";

describe("Settings", () => {
  it("shows account, server, local data and version", async () => {
    renderApp({ path: "/settings" });
    const settings = await screen.findByTestId("settings");
    expect(await within(settings).findByText("Alice Martin")).toBeInTheDocument();
    expect(settings).toHaveTextContent("alice@staff.example");
    expect(settings).toHaveTextContent("Support agent");
    expect(settings).toHaveTextContent("http://127.0.0.1:9000");
    expect(settings).toHaveTextContent("https://countersign.bank.example");
    expect(settings).toHaveTextContent("Your settings file");
    expect(settings).toHaveTextContent(/Encrypted on this computer/);
    expect(settings).toHaveTextContent(/\d+(\.\d)? KB/);
    expect(settings).toHaveTextContent("0.1.0");
    expect(document.title).toBe("Settings — Countersign");
    await expectNoSeriousA11yViolations();
  });

  it("explains memory-only storage with its reason", async () => {
    renderApp({
      path: "/settings",
      backend: {
        cacheMode: "memory_only",
        cacheReason: "No system keyring was found.",
        account: makeAccount({ persistence: "memory_only", persistence_reason: "No keyring." }),
      },
    });
    expect(await screen.findByText(/Memory only: nothing is written to disk/)).toHaveTextContent(
      "No system keyring was found.",
    );
    expect(screen.getByText("None (in memory)")).toBeInTheDocument();
    expect(screen.getByText(/you sign in again after a restart/)).toBeInTheDocument();
  });

  it("sets the theme and applies it to the window", async () => {
    const { user, backend } = renderApp({ path: "/settings", backend: { theme: "light" } });
    expect(await screen.findByTestId("theme-light")).toBeChecked();
    expect(document.documentElement).not.toHaveClass("dark");
    await user.click(screen.getByTestId("theme-dark"));
    expect(screen.getByTestId("theme-dark")).toBeChecked();
    await waitFor(() => expect(document.documentElement).toHaveClass("dark"));
    expect(backend.callsOf("theme_set")).toEqual([{ theme: "dark" }]);
    await user.click(screen.getByTestId("theme-system"));
    // jsdom prefers light: "system" follows it.
    await waitFor(() => expect(document.documentElement).not.toHaveClass("dark"));
    expect(backend.state.theme).toBe("system");
  });

  it("applies Dark then Light to the window after signing in through the app", async () => {
    // The real window starts signed out: the theme is read before sign-in, and signing in
    // drops the cached reads while the window's theme is still watching them.
    const { user } = renderApp({ path: "/sign-in", backend: { account: null, signInMs: 5, theme: "light" } });
    await user.click(await screen.findByTestId("sign-in-0"));
    expect(await screen.findByTestId("home")).toBeInTheDocument();
    await user.click(screen.getByRole("link", { name: /Settings/ }));
    expect(await screen.findByTestId("theme-light")).toBeChecked();
    expect(document.documentElement.classList.contains("dark")).toBe(false);
    await user.click(screen.getByTestId("theme-dark"));
    expect(screen.getByTestId("theme-dark")).toBeChecked();
    await waitFor(() => expect(document.documentElement.classList.contains("dark")).toBe(true));
    await user.click(screen.getByTestId("theme-light"));
    expect(screen.getByTestId("theme-light")).toBeChecked();
    await waitFor(() => expect(document.documentElement.classList.contains("dark")).toBe(false));
  });

  it("wipes local data after confirming, then runs a first sync again", async () => {
    const { user, backend } = renderApp({ path: "/settings", backend: { syncStepMs: 30 } });
    await user.click(await screen.findByTestId("wipe-local-data"));
    const confirm = await screen.findByRole("alertdialog");
    expect(confirm).toHaveTextContent(/Wipe local data\?/);
    expect(confirm).toHaveTextContent(/records, \d/);
    await expectNoSeriousA11yViolations();
    await user.click(within(confirm).getByRole("button", { name: "Keep local data" }));
    expect(backend.callsOf("wipe_local_data")).toEqual([]);

    await user.click(screen.getByTestId("wipe-local-data"));
    await user.click(await screen.findByTestId("wipe-local-data-confirm"));
    expect(await screen.findByTestId("sync-progress")).toBeInTheDocument();
    expect(backend.callsOf("wipe_local_data")).toHaveLength(1);
    expect(await screen.findByTestId("home", {}, { timeout: 5000 })).toBeInTheDocument();
  });

  it("shows skeletons while loading and a failure in words", async () => {
    const loading = renderApp({ path: "/settings", backend: { overrides: { settings_get: forever } } });
    expect(await screen.findByLabelText("Loading settings")).toHaveAttribute("aria-busy", "true");
    loading.unmount();
    renderApp({ path: "/settings", backend: { overrides: { settings_get: () => { throw fail("cache_unavailable"); } } } });
    expect(await screen.findByRole("alert")).toHaveTextContent(/The local data store could not be opened/);
  });

  it("does not offer a wipe while offline, and says why", async () => {
    const { user, backend } = renderApp({ path: "/settings", backend: { online: false } });
    const button = await screen.findByTestId("wipe-local-data");
    await waitFor(() => expect(screen.getByTestId("wipe-local-data")).toHaveAttribute("aria-disabled", "true"));
    expect(screen.getByTestId("wipe-local-data")).toHaveAccessibleName(/You're offline/);
    await user.click(screen.getByTestId("wipe-local-data"));
    expect(screen.queryByRole("alertdialog")).not.toBeInTheDocument();
    expect(backend.callsOf("wipe_local_data")).toEqual([]);
    expect(button).toBeInTheDocument();
  });
});
