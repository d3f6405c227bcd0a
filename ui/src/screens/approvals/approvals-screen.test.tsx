import { describe, expect, it } from "vitest";
import { screen, waitFor, within } from "@testing-library/react";
import { fail } from "@/dev/fake-backend";
import { READ_PERMISSIONS, makeAccount } from "@/dev/fixtures";
import { expectNoSeriousA11yViolations } from "@/test/axe";
import { forever, renderApp } from "@/test/render-app";

const approver = { account: makeAccount({ roles: ["finance_approver"], permissions: [...READ_PERMISSIONS, "approvals:request", "approvals:decide"] }) };
/** The text of one column in every row, found by its header. */
const column = (name: string) => {
  const i = screen.getAllByRole("columnheader").findIndex((h) => h.textContent === name);
  return screen.getAllByTestId("row").map((r) => within(r).getAllByRole("cell")[i]!.textContent);
};
const reasons = () => column("Reason");

describe("Approvals", () => {
  it("lists what waits for my decision, with counts on each list", async () => {
    renderApp({ path: "/approvals", backend: approver });
    await screen.findAllByTestId("row");
    // Sorted by expiry, the soonest first.
    expect(reasons()).toEqual([
      "Contract terminated: refund of the annual prepayment",
      "Goodwill credit after the outage of 12 May",
      "Customer charged twice for the May invoice",
    ]);
    await waitFor(() => expect(screen.getByTestId("count-history")).toHaveTextContent("3"));
    expect(screen.getByTestId("count-to_decide")).toHaveTextContent("3");
    expect(screen.getByTestId("count-requested")).toHaveTextContent("1");
    const row = screen.getAllByTestId("row")[0]!;
    expect(row).toHaveTextContent("30,000.00EUR");
    expect(within(row).getByText("Pending")).toHaveAttribute("data-status", "pending");
    expect(document.title).toBe("Approvals — Countersign");
    await expectNoSeriousA11yViolations();
  });

  it("says why I cannot decide before I try: over my limit, my own request", async () => {
    const { user } = renderApp({ path: "/approvals?open=appr-refund-30000", backend: approver });
    const detail = await screen.findByTestId("approval-detail");
    expect(await within(detail).findByTestId("why-not-me")).toHaveTextContent(
      "30,000.00 EUR is above your approval limit of 10,000.00 EUR.",
    );
    expect(within(detail).getByTestId("why-not-me").querySelector("[data-code]")).toHaveAttribute(
      "data-code",
      "approval_limit_exceeded",
    );
    expect(within(detail).queryByTestId("approve")).not.toBeInTheDocument();
    expect(within(detail).getByTestId("approval-rules")).toHaveTextContent("2 distinct approvers, at least one finance_controller");
    expect(within(detail).getByTestId("approval-progress")).toHaveTextContent("1 of 2 approvals given");
    expect(within(detail).getByTestId("approval-decisions")).toHaveTextContent("Ana Costa");
    expect(within(detail).getByTestId("approval-decisions")).toHaveTextContent("Termination letter checked");
    await user.keyboard("{Escape}");
    await user.click(screen.getByTestId("list-requested"));
    await user.click(await screen.findByText("Vendor sent a signed letter with the new account"));
    const mine = await screen.findByTestId("approval-detail");
    expect(await within(mine).findByTestId("why-not-me")).toHaveTextContent("You requested this yourself");
    // The new IBAN stays masked.
    expect(mine).toHaveTextContent("DE•• •••• •••• •••• ••89 01");
  });

  it("approves with a comment: the decision shows, the request leaves the list", async () => {
    const { user, backend } = renderApp({ path: "/approvals?open=appr-credit-gbp", backend: approver });
    const detail = await screen.findByTestId("approval-detail");
    expect(await within(detail).findByTestId("amount-base")).toHaveTextContent("= 526.50 EUR at 1.17");
    await user.type(within(detail).getByTestId("decision-comment"), "Outage credit per SLA");
    await user.click(within(detail).getByTestId("approve"));
    await waitFor(() => expect(within(detail).getByText("Executed")).toBeInTheDocument());
    expect(backend.callsOf("approval_decide")).toEqual([
      {
        approval_id: "appr-credit-gbp",
        decision: { decision: "approve", comment: "Outage credit per SLA", version: 1, on_behalf_of: null },
      },
    ]);
    expect(within(detail).getByTestId("approval-decisions")).toHaveTextContent("Outage credit per SLA");
    expect(within(detail).queryByTestId("approve")).not.toBeInTheDocument();
    expect(await screen.findByText("Approved: Credit note of 450.00 GBP")).toBeInTheDocument();
    await user.keyboard("{Escape}");
    await waitFor(() => expect(reasons()).not.toContain("Goodwill credit after the outage of 12 May"));
  });

  it("rejects only after a confirmation that names the request", async () => {
    const { user, backend } = renderApp({ path: "/approvals?open=appr-refund-1200", backend: approver });
    const detail = await screen.findByTestId("approval-detail");
    await user.click(await within(detail).findByTestId("reject"));
    const confirm = await screen.findByTestId("reject-confirm");
    expect(confirm).toHaveTextContent("Reject refund of 1,200.00 EUR");
    expect(backend.callsOf("approval_decide")).toHaveLength(0);
    await user.click(confirm);
    await waitFor(() => expect(within(detail).getByText("Rejected", { selector: "[data-status]" })).toBeInTheDocument());
    expect(backend.callsOf("approval_decide")[0]).toMatchObject({ decision: { decision: "reject" } });
  });

  it("the requester cancels a pending request after a confirmation naming it", async () => {
    const { user, backend } = renderApp({ path: "/approvals?list=requested&open=appr-bank-mine", backend: approver });
    const detail = await screen.findByTestId("approval-detail");
    await user.click(await within(detail).findByTestId("cancel-request"));
    const confirm = await screen.findByTestId("cancel-confirm");
    expect(confirm).toHaveTextContent("Cancel vendor bank change");
    expect(backend.callsOf("approval_cancel")).toHaveLength(0);
    await user.click(confirm);
    await waitFor(() => expect(within(detail).getByText("Cancelled", { selector: "[data-status]" })).toBeInTheDocument());
    expect(backend.callsOf("approval_cancel")).toEqual([{ approval_id: "appr-bank-mine" }]);
    expect(within(detail).queryByTestId("cancel-request")).not.toBeInTheDocument();
    // Someone else's request offers no cancel, only why not.
    await user.keyboard("{Escape}");
    await user.click(screen.getByTestId("list-to_decide"));
    await user.click(await screen.findByText("Contract terminated: refund of the annual prepayment"));
    const other = await screen.findByTestId("approval-detail");
    expect(await within(other).findByTestId("why-not-me")).toBeInTheDocument();
    expect(within(other).queryByTestId("cancel-request")).not.toBeInTheDocument();
  });

  it("a stale version reloads the request and says so", async () => {
    const { user, backend } = renderApp({
      path: "/approvals?open=appr-refund-1200",
      backend: { ...approver, overrides: { approval_decide: () => { throw fail("stale_version"); } } },
    });
    const detail = await screen.findByTestId("approval-detail");
    await user.click(await within(detail).findByTestId("approve"));
    expect(await screen.findByText("The request changed since you opened it")).toBeInTheDocument();
    await waitFor(() => expect(backend.callsOf("approval_get").length).toBeGreaterThanOrEqual(2));
  });

  it("a refused decision is a toast in words, never the code", async () => {
    const { user } = renderApp({
      path: "/approvals?open=appr-refund-1200",
      backend: { ...approver, overrides: { approval_decide: () => { throw fail("already_decided"); } } },
    });
    const detail = await screen.findByTestId("approval-detail");
    await user.click(await within(detail).findByTestId("approve"));
    expect(await screen.findByText("Someone already decided this request. Refresh to see the outcome.")).toBeInTheDocument();
    expect(document.body).not.toHaveTextContent("already_decided");
  });

  it("has designed loading, empty, error and no-permission states", async () => {
    const loading = renderApp({ path: "/approvals", backend: { ...approver, overrides: { approvals_list: forever } } });
    expect(await screen.findByLabelText("Loading")).toBeInTheDocument();
    loading.unmount();

    const empty = renderApp({ path: "/approvals", backend: { ...approver, approvals: [] } });
    expect(await screen.findByText("Nothing waits for your decision")).toBeInTheDocument();
    empty.unmount();

    const offline = renderApp({ path: "/approvals", backend: { ...approver, online: false } });
    expect(await screen.findByTestId("error-state")).toHaveTextContent("You're offline. Reconnect to the network and try again.");
    offline.unmount();

    renderApp({ path: "/approvals" });
    expect(await screen.findByTestId("no-access")).toHaveTextContent("You don't have access to approvals.");
  });

  it("is a section of the sidebar for approvers only, and g then a goes there", async () => {
    const { user, router } = renderApp({ path: "/", backend: approver });
    await screen.findByTestId("home");
    const nav = screen.getByRole("navigation", { name: "Sections" });
    expect(within(nav).getByRole("link", { name: /Approvals/ })).toBeInTheDocument();
    await user.keyboard("ga");
    await waitFor(() => expect(router.state.location.pathname).toBe("/approvals"));
  });
});
