import { describe, expect, it } from "vitest";
import { screen, within } from "@testing-library/react";
import { fail } from "@/dev/fake-backend";
import { READ_PERMISSIONS, makeAccount } from "@/dev/fixtures";
import { expectNoSeriousA11yViolations } from "@/test/axe";
import { forever, renderApp } from "@/test/render-app";

describe("Home", () => {
  it("greets the user and lists recent customers", async () => {
    const { user, router } = renderApp({ path: "/" });
    const home = await screen.findByTestId("home");
    expect(within(home).getByRole("heading", { level: 1 })).toHaveTextContent(/, Alice$/);
    const recent = await screen.findAllByTestId("recent-customer");
    expect(recent.map((r) => r.textContent)).toEqual([
      expect.stringContaining("Acme GmbH"),
      expect.stringContaining("Globex SE"),
      expect.stringContaining("Initech Inc."),
    ]);
    expect(document.title).toBe("Home — Countersign");
    await expectNoSeriousA11yViolations();
    await user.click(recent[1]!);
    expect(await screen.findByTestId("org-header")).toHaveTextContent("Globex SE");
    expect(router.state.location.pathname).toBe("/customers/org-globex");
  });

  it("lists the work waiting for the user's roles, each line opening its list", async () => {
    const account = makeAccount({
      display_name: "Sam Okafor",
      roles: ["support_supervisor", "finance_approver"],
      permissions: [...READ_PERMISSIONS, "approvals:decide", "impersonation:approve", "impersonation:review"],
    });
    const { user, router } = renderApp({ path: "/", backend: { account } });
    const queue = await screen.findByTestId("work-queue");
    expect(await within(queue).findByText(/requests? waits? for your decision/)).toBeInTheDocument();
    expect(within(queue).getByTestId("queue-to-approve")).toHaveTextContent(/1\s*support session waits for your approval/);
    expect(within(queue).getByTestId("queue-to-review")).toHaveTextContent(/2\s*ended sessions to review/);
    expect(within(queue).queryByTestId("queue-support")).not.toBeInTheDocument();
    await user.click(within(queue).getByTestId("queue-to-approve"));
    expect(await screen.findByTestId("sessions")).toBeInTheDocument();
    expect(router.state.location.search).toEqual({ list: "to_approve" });
  });

  it("tells an agent whether a support session is open", async () => {
    renderApp({ path: "/", backend: { account: makeAccount({ permissions: [...READ_PERMISSIONS, "impersonation:start"] }) } });
    expect(await screen.findByTestId("queue-support")).toHaveTextContent("No support session.");
  });

  it("says who the user is: roles and scope, or that there are no roles", async () => {
    renderApp({ path: "/", backend: { account: makeAccount({ roles: [], permissions: [] }) } });
    const home = await screen.findByTestId("home");
    expect(within(home).getByText("No roles · Customers in EU")).toBeInTheDocument();
  });

  it("shows skeletons while loading", async () => {
    renderApp({ path: "/", backend: { overrides: { orgs_recent: forever } } });
    expect(await screen.findByLabelText("Loading recent customers")).toHaveAttribute("aria-busy", "true");
  });

  it("explains the empty list and what to do", async () => {
    renderApp({ path: "/", backend: { recent: [] } });
    expect(await screen.findByText("No recent customers")).toBeInTheDocument();
    expect(screen.getByText(/Customers you open appear here — press/)).toHaveTextContent(
      "Customers you open appear here — press Ctrl K to find one.",
    );
  });

  it("shows a failed read in words with Retry", async () => {
    let calls = 0;
    const { user } = renderApp({
      path: "/",
      backend: {
        overrides: {
          orgs_recent: () => {
            calls += 1;
            if (calls === 1) throw fail("cache_unavailable");
            return [];
          },
        },
      },
    });
    expect(await screen.findByRole("alert")).toHaveTextContent(
      "The local data store could not be opened. Wipe local data in Settings, then sync again.",
    );
    expect(document.body.textContent).not.toContain("cache_unavailable");
    await user.click(screen.getByRole("button", { name: "Retry" }));
    expect(await screen.findByText("No recent customers")).toBeInTheDocument();
  });

  it("keeps working offline, under the Offline banner", async () => {
    renderApp({ path: "/", backend: { online: false } });
    expect(await screen.findByTestId("offline-banner")).toHaveTextContent(/Offline — showing data from/);
    expect(await screen.findAllByTestId("recent-customer")).toHaveLength(3);
    await expectNoSeriousA11yViolations();
  });

  it("says when customer records are not allowed", async () => {
    renderApp({ path: "/", backend: { permissions: [] } });
    expect(await screen.findByText("You don't have access to customer records. Ask a security admin.")).toBeInTheDocument();
    // …and the sidebar does not offer Customers.
    expect(screen.queryByRole("link", { name: /Customers/ })).not.toBeInTheDocument();
  });

  it("shows the local data card: records, last sync, encrypted or memory-only", async () => {
    renderApp({ path: "/", backend: { cacheMode: "memory_only", account: makeAccount({ permissions: READ_PERMISSIONS }) } });
    expect(await screen.findByText("Memory only")).toBeInTheDocument();
    expect(screen.getByText("Records").nextElementSibling?.textContent).toMatch(/^\d{1,3}(,\d{3})*$/);
  });
});
