import { describe, expect, it, vi } from "vitest";
import { act, screen, waitFor, within } from "@testing-library/react";
import { fail } from "@/dev/fake-backend";
import { expectNoSeriousA11yViolations } from "@/test/axe";
import { renderApp } from "@/test/render-app";
import { SEARCH_SHOWN } from "@/app/command-palette";

describe("Shell", () => {
  it("shows the permitted sections, the sync state and the account", async () => {
    renderApp({ path: "/" });
    await screen.findByTestId("home");
    const nav = screen.getByRole("navigation", { name: "Sections" });
    expect(within(nav).getAllByRole("link").map((l) => l.textContent?.replace(/G \w$/, ""))).toEqual([
      "Home",
      "Customers",
      "Settings",
    ]);
    expect(within(nav).getByRole("link", { name: /Home/ })).toHaveAttribute("aria-current", "page");
    expect(screen.getByTestId("sync-state")).toHaveTextContent(/Synced just now/);
    expect(screen.getByTestId("account-menu")).toHaveAccessibleName("Account: Alice Martin");
    await expectNoSeriousA11yViolations();
  });

  describe("search palette", () => {
    it("opens with Ctrl+K, searches as you type, groups results, and Enter opens the customer", async () => {
      const { user, backend, router } = renderApp({ path: "/" });
      await screen.findByTestId("home");
      await user.keyboard("{Control>}k{/Control}");
      const input = await screen.findByTestId("search-input");
      expect(input).toHaveFocus();
      await user.type(input, "glob");
      await waitFor(() => expect(screen.getAllByTestId("search-result")).not.toHaveLength(0));
      expect(backend.callsOf("search").at(-1)).toEqual({ query: "glob", limit: SEARCH_SHOWN + 1 });
      expect(screen.queryByTestId("search-more")).not.toBeInTheDocument();
      // What scripts/bench app-search waits for: the list names the term its results are for.
      await waitFor(() =>
        expect(document.querySelector("[data-slot=command-list]")).toHaveAttribute("data-results-for", "glob"),
      );
      const group = screen.getByRole("group", { name: "Customers" });
      expect(within(group).getByTestId("search-result")).toHaveAttribute("data-record-id", "org-globex");
      await expectNoSeriousA11yViolations();
      await user.keyboard("{Enter}");
      expect(await screen.findByTestId("org-header")).toHaveTextContent("Globex SE");
      expect(router.state.location.pathname).toBe("/customers/org-globex");
      expect(screen.queryByTestId("search-input")).not.toBeInTheDocument();
    });

    it("moves with the arrows and opens a user on the Users tab with the user open", async () => {
      const { user, backend, router } = renderApp({ path: "/" });
      await screen.findByTestId("home");
      await user.click(screen.getByTestId("search-box"));
      const name = backend.data.users.find((u) => u.org_id === "org-acme" && u.id !== "user-acme-1")!.name;
      await user.type(await screen.findByTestId("search-input"), name);
      await waitFor(() => expect(screen.getAllByTestId("search-result").some((r) => r.dataset.recordType === "user")).toBe(true));
      const results = screen.getAllByTestId("search-result");
      const target = results.findIndex((r) => r.dataset.recordType === "user" && r.textContent?.includes("Acme GmbH"));
      for (let i = 0; i < target; i++) await user.keyboard("{ArrowDown}");
      expect(screen.getAllByTestId("search-result")[target]).toHaveAttribute("data-selected", "true");
      const id = screen.getAllByTestId("search-result")[target]!.dataset.recordId;
      await user.keyboard("{Enter}");
      const sheet = await screen.findByTestId("record-detail");
      expect(within(sheet).getByRole("heading", { name })).toBeInTheDocument();
      expect(router.state.location.search).toMatchObject({ tab: "users", selected: id, open: id });
    });

    it("says when nothing matches, and Esc closes it", async () => {
      const { user } = renderApp({ path: "/" });
      await screen.findByTestId("home");
      await user.keyboard("{Control>}k{/Control}");
      await user.type(await screen.findByTestId("search-input"), "zzzz");
      expect(await screen.findByText(/Nothing matches “zzzz” in your local data/)).toBeInTheDocument();
      await user.keyboard("{Escape}");
      await waitFor(() => expect(screen.queryByTestId("search-input")).not.toBeInTheDocument());
    });

    it("shows the best matches and says when there are more", async () => {
      const { user } = renderApp({ path: "/" });
      await screen.findByTestId("home");
      await user.keyboard("{Control>}k{/Control}");
      // Every invoice number of the demo data holds "2024".
      await user.type(await screen.findByTestId("search-input"), "2024");
      expect(await screen.findByTestId("search-more")).toHaveTextContent(
        `More than ${SEARCH_SHOWN} matches — keep typing to narrow them down`,
      );
      expect(screen.getAllByTestId("search-result")).toHaveLength(SEARCH_SHOWN);
      await user.type(screen.getByTestId("search-input"), "00001");
      await waitFor(() => expect(screen.queryByTestId("search-more")).not.toBeInTheDocument());
      expect(screen.getAllByTestId("search-result").length).toBeLessThan(SEARCH_SHOWN);
    });

    it("shows a failed search in words", async () => {
      const { user } = renderApp({
        path: "/",
        backend: { overrides: { search: () => { throw fail("cache_unavailable"); } } },
      });
      await screen.findByTestId("home");
      await user.keyboard("{Control>}k{/Control}");
      await user.type(await screen.findByTestId("search-input"), "acme");
      expect(await screen.findByRole("alert")).toHaveTextContent(/local data store could not be opened/);
    });
  });

  it("lists the shortcuts on ?, and g then c / s / h goes to a section", async () => {
    const { user, router } = renderApp({ path: "/" });
    await screen.findByTestId("home");
    await user.keyboard("?");
    const dialog = await screen.findByTestId("shortcuts-dialog");
    for (const label of ["Go to Customers", "Next row", "Open the selected row", "Close a dialog or panel"]) {
      expect(dialog).toHaveTextContent(label);
    }
    await expectNoSeriousA11yViolations();
    await user.keyboard("{Escape}");
    await waitFor(() => expect(screen.queryByTestId("shortcuts-dialog")).not.toBeInTheDocument());
    await user.keyboard("gc");
    expect(await screen.findByRole("heading", { name: "Customers" })).toBeInTheDocument();
    await user.keyboard("gs");
    expect(await screen.findByTestId("settings")).toBeInTheDocument();
    await user.keyboard("gh");
    expect(await screen.findByTestId("home")).toBeInTheDocument();
    expect(router.state.location.pathname).toBe("/");
  });

  it("account menu: roles, theme, and sign-out after confirming", async () => {
    const { user, backend } = renderApp({ path: "/" });
    await screen.findByTestId("home");
    await user.click(screen.getByTestId("account-menu"));
    const menu = await screen.findByRole("menu");
    expect(menu).toHaveTextContent("Alice Martin");
    expect(menu).toHaveTextContent("Support agent");
    await user.click(within(menu).getByTestId("sign-out"));
    const confirm = await screen.findByRole("alertdialog");
    expect(confirm).toHaveTextContent("Sign out and wipe local data?");
    await expectNoSeriousA11yViolations();
    await user.click(within(confirm).getByRole("button", { name: "Stay signed in" }));
    expect(backend.callsOf("sign_out")).toEqual([]);

    await user.click(screen.getByTestId("account-menu"));
    await user.click(await screen.findByTestId("sign-out"));
    await user.click(await screen.findByTestId("sign-out-confirm"));
    expect(await screen.findByTestId("sign-in-0")).toBeInTheDocument();
    expect(backend.callsOf("sign_out")).toHaveLength(1);
  });

  it("Sync now runs a sync; a purge says the access changed and refreshes everything", async () => {
    const { user, backend } = renderApp({ path: "/" });
    await screen.findByTestId("home");
    backend.purgeOnNextSync();
    const startsBefore = backend.callsOf("app_start").length;
    await user.click(screen.getByTestId("sync-now"));
    expect(await screen.findByText("Your access changed — refreshed")).toBeInTheDocument();
    expect(backend.callsOf("sync_run")).toHaveLength(1);
    // Every query refetched, the account (permissions) included.
    await waitFor(() => expect(backend.callsOf("app_start").length).toBeGreaterThan(startsBefore));
  });

  it("reloads records after a sync only when it applied changes", async () => {
    let applied = 0;
    const { user, backend } = renderApp({
      path: "/",
      backend: {
        overrides: {
          sync_run: () => ({ applied, pages: 1, purged: false, records: 10, synced_at: new Date().toISOString() }),
        },
      },
    });
    await screen.findAllByTestId("recent-customer");
    const reads = backend.callsOf("orgs_recent").length;
    await user.click(screen.getByTestId("sync-now"));
    await waitFor(() => expect(backend.callsOf("sync_status").length).toBeGreaterThan(1));
    expect(backend.callsOf("orgs_recent").length).toBe(reads);
    applied = 5;
    await user.click(screen.getByTestId("sync-now"));
    await waitFor(() => expect(backend.callsOf("orgs_recent").length).toBe(reads + 1));
  });

  it("goes offline when a sync is refused as offline, disables actions, and recovers", async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    const { user, backend } = renderApp({ path: "/", fakeTimers: true });
    await screen.findByTestId("home");
    backend.setOnline(false);
    await user.click(screen.getByTestId("sync-now"));
    const banner = await screen.findByTestId("offline-banner");
    expect(banner).toHaveTextContent(/Offline — showing data from/);
    expect(screen.getByTestId("sync-state")).toHaveTextContent("Offline");
    expect(screen.getByTestId("sync-now")).toHaveAttribute("aria-disabled", "true");
    expect(screen.getByTestId("sync-now")).toHaveAccessibleName(/You're offline/);
    // Reads keep working from the cache.
    expect(screen.getAllByTestId("recent-customer")).toHaveLength(3);
    const attempts = backend.callsOf("sync_run").length;
    await act(async () => {
      await vi.advanceTimersByTimeAsync(5_100);
    });
    expect(backend.callsOf("sync_run").length).toBe(attempts + 1);
    backend.setOnline(true);
    await act(async () => {
      await vi.advanceTimersByTimeAsync(5_100);
    });
    await waitFor(() => expect(screen.queryByTestId("offline-banner")).not.toBeInTheDocument());
    expect(screen.getByTestId("sync-now")).not.toHaveAttribute("aria-disabled");
  });

  it("syncs on the timer from AppState.sync_interval_secs", async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    const { backend } = renderApp({ path: "/", fakeTimers: true, backend: { syncIntervalSecs: 30 } });
    await screen.findByTestId("home");
    expect(backend.callsOf("sync_run")).toHaveLength(0);
    await act(async () => {
      await vi.advanceTimersByTimeAsync(30_500);
    });
    expect(backend.callsOf("sync_run")).toHaveLength(1);
  });

  it("goes to sign-in with the message when a sync says signed out", async () => {
    const { user } = renderApp({
      path: "/",
      backend: { overrides: { sync_run: () => { throw fail("signed_out"); } } },
    });
    await screen.findByTestId("home");
    await user.click(screen.getByTestId("sync-now"));
    expect(await screen.findByTestId("sign-in-0")).toBeInTheDocument();
    expect(screen.getByRole("alert")).toHaveTextContent(/You were signed out/);
  });

  it("shows another sync failure in words", async () => {
    const { user } = renderApp({
      path: "/",
      backend: { overrides: { sync_run: () => { throw fail("service_unavailable"); } } },
    });
    await screen.findByTestId("home");
    await user.click(screen.getByTestId("sync-now"));
    expect(await screen.findByText("Sync failed", { selector: "[data-title]" })).toBeInTheDocument();
    expect(screen.getByText(/The server is busy or under maintenance/, { selector: "[data-description]" })).toBeInTheDocument();
  });
});
