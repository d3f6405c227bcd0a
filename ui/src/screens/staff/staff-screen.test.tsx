import { describe, expect, it } from "vitest";
import { screen, waitFor, within } from "@testing-library/react";
import { createFakeBackend, type FakeBackend } from "@/dev/fake-backend";
import { CONTRACTOR_PROVIDER, PROVIDERS, makeAccount, makePendingStaff, makeServer } from "@/dev/fixtures";
import { formatDate } from "@/lib/format";
import { expectNoSeriousA11yViolations } from "@/test/axe";
import { forever, renderApp } from "@/test/render-app";

const sid = {
  account: makeAccount({
    subject: "sid",
    display_name: "Sid Patel",
    email: "sid@staff.example",
    roles: ["security_admin"],
    permissions: ["staff:read", "staff:manage", "audit:read"],
    scope: { all_orgs: true, regions: [], org_ids: [] },
  }),
};
/** `backend.handle` with one command answered by `fn` instead. */
const wrap = (backend: FakeBackend, cmd: string, fn: () => unknown) => {
  const handle = backend.handle;
  return (c: string, args?: Record<string, unknown>) => (c === cmd ? Promise.resolve().then(fn) : handle(c, args));
};
const names = () => screen.getAllByTestId("row").map((r) => within(r).getAllByRole("cell")[0]!.textContent);

describe("Staff access", () => {
  it("lists every account with roles, scope and last activity; the review lists privileged and inactive ones", async () => {
    const { user } = renderApp({ path: "/staff", backend: sid });
    await screen.findAllByTestId("row");
    expect(names()).toContain("Sid PatelYou");
    expect(screen.getByTestId("count-all")).toHaveTextContent("9");
    const bob = screen.getAllByTestId("row").find((r) => r.textContent?.includes("Bob Stone"))!;
    expect(bob).toHaveTextContent("Support agent");
    expect(bob).toHaveTextContent("US");
    // Older than a week reads as a date.
    expect(bob).toHaveTextContent(formatDate(new Date(Date.now() - 41 * 86_400_000)));
    const dan = screen.getAllByTestId("row").find((r) => r.textContent?.includes("Dan Miller"))!;
    expect(within(dan).getByTestId("deactivated")).toBeInTheDocument();
    expect(document.title).toBe("Staff access — Countersign");
    await expectNoSeriousA11yViolations();

    await user.click(screen.getByTestId("view-privileged"));
    await waitFor(() =>
      expect(names().sort()).toEqual(["Andy Novak", "Ava Reyes", "Cora Lindqvist", "Sam Okafor", "Sid PatelYou"]),
    );
    await user.click(screen.getByTestId("view-inactive"));
    // Bob (41 days) and Ava (never); Dan is deactivated already.
    await waitFor(() => expect(names().sort()).toEqual(["Ava Reyes", "Bob Stone"]));
  });

  it("revokes a privileged role from the review after a confirmation naming it", async () => {
    const { user, backend } = renderApp({ path: "/staff?view=privileged", backend: sid });
    await screen.findAllByTestId("row");
    const cora = screen.getAllByTestId("row").find((r) => r.textContent?.includes("Cora Lindqvist"))!;
    // Never oneself: no revoke on sid's own row.
    const own = screen.getAllByTestId("row").find((r) => r.textContent?.includes("Sid Patel"))!;
    expect(within(own).queryByTestId("revoke")).not.toBeInTheDocument();
    await user.click(within(cora).getByTestId("revoke"));
    const confirm = await screen.findByTestId("revoke-confirm");
    expect(screen.getByRole("alertdialog")).toHaveTextContent("They lose Finance controller from their next request.");
    expect(backend.callsOf("staff_update")).toHaveLength(0);
    await user.click(confirm);
    await waitFor(() => expect(backend.callsOf("staff_update")).toHaveLength(1));
    expect(backend.callsOf("staff_update")[0]).toMatchObject({ staff_id: "staff-cora", update: { roles: [] } });
    await waitFor(() => expect(names()).not.toContain("Cora Lindqvist"));
  });

  it("changes roles and limits; deactivates with a reason after saying what happens; reactivates", async () => {
    const { user, backend } = renderApp({ path: "/staff?open=staff-andy", backend: sid });
    const sheet = await screen.findByTestId("staff-detail");
    expect(within(sheet).getByTestId("limit-refund")).toHaveValue("10000.00");
    await user.click(within(sheet).getByTestId("role-finance_controller"));
    await user.clear(within(sheet).getByTestId("limit-refund"));
    await user.type(within(sheet).getByTestId("limit-refund"), "12.345");
    await user.click(within(sheet).getByTestId("staff-save"));
    expect(await within(sheet).findByText("An amount in EUR, or empty for no limit.")).toBeInTheDocument();
    expect(backend.callsOf("staff_update")).toHaveLength(0);
    await user.clear(within(sheet).getByTestId("limit-refund"));
    await user.type(within(sheet).getByTestId("limit-refund"), "25000");
    await user.click(within(sheet).getByTestId("staff-save"));
    await waitFor(() => expect(backend.callsOf("staff_update")).toHaveLength(1));
    expect(backend.callsOf("staff_update")[0]!.update).toMatchObject({
      roles: ["finance_approver", "finance_controller"],
      approval_limits: { refund: { amount_minor: 2_500_000, currency: "EUR" }, credit_note: { amount_minor: 1_000_000, currency: "EUR" }, payout_release: null },
    });

    await user.click(await within(await screen.findByTestId("staff-detail")).findByTestId("deactivate"));
    const dialog = await screen.findByTestId("deactivate-dialog");
    expect(dialog).toHaveTextContent("their active support sessions end and every request they are waiting on is cancelled");
    await user.type(within(dialog).getByTestId("deactivate-reason"), "short");
    await user.click(within(dialog).getByTestId("deactivate-confirm"));
    expect(await within(dialog).findByText(/Write at least 10 characters/)).toBeInTheDocument();
    expect(backend.callsOf("staff_deactivate")).toHaveLength(0);
    await user.type(within(dialog).getByTestId("deactivate-reason"), ": INC-2291 laptop stolen");
    await user.click(within(dialog).getByTestId("deactivate-confirm"));
    await waitFor(() =>
      expect(backend.callsOf("staff_deactivate")).toEqual([{ staff_id: "staff-andy", reason: "short: INC-2291 laptop stolen" }]),
    );
    const after = await screen.findByTestId("staff-detail");
    expect(await within(after).findByTestId("deactivated-note")).toHaveTextContent("“short: INC-2291 laptop stolen”");
    await user.click(within(after).getByTestId("reactivate"));
    await waitFor(() => expect(backend.callsOf("staff_reactivate")).toEqual([{ staff_id: "staff-andy" }]));
  });

  it("one's own account is read-only, and a refusal the server makes anyway is said in words", async () => {
    const own = renderApp({ path: "/staff?open=staff-sid", backend: sid });
    const sheet = await screen.findByTestId("staff-detail");
    expect(within(sheet).getByTestId("self-note")).toHaveTextContent("Nobody changes their own roles, scope or limits");
    expect(within(sheet).queryByTestId("staff-save")).not.toBeInTheDocument();
    expect(within(sheet).queryByTestId("deactivate")).not.toBeInTheDocument();
    own.unmount();

    // A second account of the same person: the app cannot tell, the server can.
    const { user } = renderApp({
      path: "/staff?open=staff-cora",
      backend: {
        ...sid,
        overrides: {
          staff_update: () => {
            throw { code: "self_change_forbidden", message: "self_change_forbidden", detail: "Nobody changes their own roles, scope or limits." };
          },
        },
      },
    });
    const cora = await screen.findByTestId("staff-detail");
    await user.click(within(cora).getByTestId("role-auditor"));
    await user.click(within(cora).getByTestId("staff-save"));
    expect(await screen.findByText("Nobody changes their own roles, scope or limits.")).toBeInTheDocument();
    expect(document.body).not.toHaveTextContent("self_change_forbidden");
  });

  it("has designed loading, error and no-permission states, and is in the sidebar for security admins (g t)", async () => {
    const loading = renderApp({ path: "/staff", backend: { ...sid, overrides: { staff_list: forever } } });
    expect(await screen.findByLabelText("Loading")).toBeInTheDocument();
    loading.unmount();
    const offline = renderApp({ path: "/staff", backend: { ...sid, online: false } });
    expect(await screen.findByTestId("error-state")).toHaveTextContent("You're offline.");
    offline.unmount();
    const none = renderApp({ path: "/staff" });
    expect(await screen.findByTestId("no-access")).toHaveTextContent("You don't have access to staff access.");
    none.unmount();

    const { user, router } = renderApp({ path: "/", backend: sid });
    await screen.findByTestId("home");
    expect(within(screen.getByRole("navigation", { name: "Sections" })).getByRole("link", { name: /Staff access/ })).toBeInTheDocument();
    await user.keyboard("gt");
    await waitFor(() => expect(router.state.location.pathname).toBe("/staff"));
  });

  it("a deactivated account's running app is signed out at its next request, and told why", async () => {
    const backend = createFakeBackend({ ...sid, lastSyncedAt: new Date().toISOString() });
    // As the Rust side does: the refused request ends the session there.
    const refuse = () => {
      backend.state.account = null;
      throw { code: "account_disabled", message: "account_disabled" };
    };
    const { router } = renderApp({ path: "/staff", backend: Object.assign(backend, { handle: wrap(backend, "staff_list", refuse) }) });
    await waitFor(() => expect(router.state.location.pathname).toBe("/sign-in"));
    expect(await screen.findByText(/Your account is disabled/)).toBeInTheDocument();
  });

  it("lists the accounts waiting for access: who, at which provider, since when; Grant access opens the sheet to choose roles and scope", async () => {
    const { user, backend } = renderApp({
      path: "/staff?view=pending",
      backend: {
        ...sid,
        server: makeServer({ providers: [...PROVIDERS, CONTRACTOR_PROVIDER] }),
        pendingStaff: makePendingStaff(),
      },
    });
    await screen.findAllByTestId("row");
    expect(names().sort()).toEqual(["Priya Shah", "Tom Berg"]);
    expect(screen.getByTestId("count-pending")).toHaveTextContent("2");
    const priya = screen.getAllByTestId("row").find((r) => r.textContent?.includes("Priya Shah"))!;
    expect(priya).toHaveTextContent("priya.shah@contractor.example");
    expect(priya).toHaveTextContent("Contractors (Glewlwyd)");
    expect(priya).toHaveTextContent("5c1d9e0a-priya");
    // The first sign-in's time comes from the audit log.
    await waitFor(() => expect(priya).toHaveTextContent("2 h ago"));
    expect(backend.callsOf("audit_search")[0]).toMatchObject({ filter: { action: "staff.provisioned", target_type: "staff" } });
    await expectNoSeriousA11yViolations();

    await user.click(within(priya).getByTestId("grant"));
    const sheet = await screen.findByTestId("staff-detail");
    expect(within(sheet).getByTestId("pending-note")).toHaveTextContent(
      "They signed in for the first time with Contractors (Glewlwyd) and wait for access.",
    );
    expect(within(sheet).getByText("Waiting for access")).toBeInTheDocument();
    const grant = within(sheet).getByTestId("staff-save");
    expect(grant).toHaveTextContent("Grant access");
    // Granting is choosing at least one role.
    await user.click(within(sheet).getByTestId("scope-EU"));
    await user.click(grant);
    expect(await within(sheet).findByText(/Choose at least one role to grant/)).toBeInTheDocument();
    expect(backend.callsOf("staff_update")).toHaveLength(0);
    await user.click(within(sheet).getByTestId("role-support_agent"));
    await user.click(grant);
    await waitFor(() => expect(backend.callsOf("staff_update")).toHaveLength(1));
    expect(backend.callsOf("staff_update")[0]).toMatchObject({
      staff_id: "staff-5c1d9e0a",
      update: { roles: ["support_agent"], scope: { all_orgs: false, regions: ["EU"], org_ids: [] }, active: true },
    });
    expect(await screen.findByText("Access granted: Priya Shah")).toBeInTheDocument();
    // The sheet now shows an account with access, and the list no longer holds it.
    await waitFor(() => expect(within(screen.getByTestId("staff-detail")).queryByTestId("pending-note")).not.toBeInTheDocument());
    await user.keyboard("{Escape}");
    await waitFor(() => expect(screen.queryByTestId("staff-detail")).not.toBeInTheDocument());
    await waitFor(() => expect(names()).toEqual(["Tom Berg"]));

    // In the list of everyone, the one still waiting says so.
    await user.click(screen.getByTestId("view-all"));
    await screen.findAllByTestId("row");
    const tom = screen.getAllByTestId("row").find((r) => r.textContent?.includes("Tom Berg"))!;
    expect(within(tom).getByTestId("waiting")).toHaveTextContent("Waiting");
    const nowPriya = screen.getAllByTestId("row").find((r) => r.textContent?.includes("Priya Shah"))!;
    expect(within(nowPriya).queryByTestId("waiting")).not.toBeInTheDocument();
  });

  it("says so when nobody is waiting for access", async () => {
    renderApp({ path: "/staff?view=pending", backend: sid });
    expect(await screen.findByTestId("empty-pending")).toHaveTextContent("Nobody is waiting for access");
    expect(screen.getByTestId("count-pending")).toHaveTextContent("0");
    await expectNoSeriousA11yViolations();
  });
});
