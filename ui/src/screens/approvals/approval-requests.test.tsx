import { describe, expect, it } from "vitest";
import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import type { Approval } from "@/bindings/types";
import { READ_PERMISSIONS, makeAccount, makeApprovals, makeDataset } from "@/dev/fixtures";
import { expectNoSeriousA11yViolations } from "@/test/axe";
import { renderApp } from "@/test/render-app";
import { describeChanges } from "./changes";

const approver = {
  account: makeAccount({
    roles: ["finance_approver"],
    permissions: [...READ_PERMISSIONS, "approvals:request", "approvals:decide"],
  }),
};
const column = (name: string) => {
  const i = screen.getAllByRole("columnheader").findIndex((h) => h.textContent === name);
  return screen.getAllByTestId("row").map((r) => within(r).getAllByRole("cell")[i]!.textContent);
};

describe("Approvals: filters, requests, amend, bulk", () => {
  it("filters by kind, customer and smallest amount, each in the URL, the counts following", async () => {
    const { user, router } = renderApp({ path: "/approvals?kind=refund", backend: approver });
    await screen.findAllByTestId("row");
    await waitFor(() => expect(column("Kind")).toEqual(["Refund", "Refund"]));
    expect(screen.getByTestId("count-to_decide")).toHaveTextContent("2");
    expect(column("Customer")).toEqual(["Acme GmbH", "Acme GmbH"]);

    // Amount from 10,000 EUR: only the 30,000.00 EUR refund is left.
    await user.type(screen.getByTestId("filter-min"), "10000{Enter}");
    await waitFor(() => expect(column("Amount")).toEqual(["30,000.00EUR"]));
    expect(router.state.location.search).toMatchObject({ kind: "refund", min: 10000 });
    expect(screen.getByTestId("count-to_decide")).toHaveTextContent("1");

    // The kind through its select, by keyboard.
    screen.getByTestId("filter-kind").focus();
    await user.keyboard("{Enter}");
    await user.click(await screen.findByRole("option", { name: "Credit note" }));
    await waitFor(() => expect(screen.getByText("No request matches these filters")).toBeInTheDocument());
    await user.click(screen.getByTestId("clear-filters"));
    await waitFor(() => expect(screen.getAllByTestId("row")).toHaveLength(3));
    expect(router.state.location.search.kind).toBeUndefined();
    await expectNoSeriousA11yViolations();
  });

  it("requests a refund from an invoice: the form mirrors the server's rules, a double click makes one request", async () => {
    const data = makeDataset();
    const invoice = data.invoices.find((i) => i.org_id === "org-acme")!;
    const { user, backend } = renderApp({
      path: `/customers/org-acme?tab=invoices&open=${invoice.id}`,
      backend: { ...approver, data },
    });
    const sheet = await screen.findByTestId("record-detail");
    await user.click(await within(sheet).findByTestId("request-refund"));
    const dialog = await screen.findByTestId("request-dialog");
    expect(dialog).toHaveTextContent(`For invoice ${invoice.number} of Acme GmbH`);

    // Nothing typed: each field says what it needs; nothing is sent.
    await user.click(within(dialog).getByTestId("request-submit"));
    expect(await within(dialog).findByText("Enter the amount.")).toBeInTheDocument();
    expect(within(dialog).getByText(/Write at least 10 characters/)).toBeInTheDocument();
    // More than the invoice, and too many decimals.
    await user.type(within(dialog).getByTestId("request-amount"), String(invoice.amount.amount_minor + 100));
    expect(await within(dialog).findByText(/At most the invoice's total/)).toBeInTheDocument();
    await user.clear(within(dialog).getByTestId("request-amount"));
    await user.type(within(dialog).getByTestId("request-amount"), "12.345");
    expect(await within(dialog).findByText(/with at most 2 decimals/)).toBeInTheDocument();
    expect(backend.callsOf("approval_request")).toHaveLength(0);

    await user.clear(within(dialog).getByTestId("request-amount"));
    await user.type(within(dialog).getByTestId("request-amount"), "12.50");
    await user.type(within(dialog).getByTestId("request-reason"), "Ticket 4821: charged twice");
    // A double click: two submissions of the same form, before the first answer.
    const submit = within(dialog).getByTestId("request-submit");
    fireEvent.click(submit);
    fireEvent.click(submit);
    expect(await screen.findByText(/Requested: Refund of 12.50/)).toBeInTheDocument();
    const calls = backend.callsOf("approval_request");
    expect(calls.length).toBeGreaterThanOrEqual(1);
    // Every submission carried the same key and body, so the server made one request.
    expect(new Set(calls.map((c) => c.idempotency_key)).size).toBe(1);
    expect(new Set(calls.map((c) => JSON.stringify(c.request))).size).toBe(1);
    expect(calls[0]!.request).toEqual({
      kind: "refund",
      org_id: "org-acme",
      target_id: invoice.id,
      amount: { amount_minor: 1250, currency: invoice.amount.currency },
      payload: {},
      reason: "Ticket 4821: charged twice",
    });
    const requested = (await backend.handle("approvals_list", {
      filter: { mine: "requested", status: null, kind: "refund", org_id: null, limit: 200, cursor: null },
    })) as { items: Approval[] };
    expect(requested.items.filter((a) => a.reason === "Ticket 4821: charged twice")).toHaveLength(1);
  });

  it("a vendor bank change checks the IBAN; a vendor with one pending says its payouts are held, with a link", async () => {
    const data = makeDataset();
    const { user, backend, router } = renderApp({
      path: "/customers/org-acme?tab=vendors&open=vendor-acme-2",
      backend: { ...approver, data },
    });
    let sheet = await screen.findByTestId("record-detail");
    await user.click(await within(sheet).findByTestId("request-vendor_bank_change"));
    let dialog = await screen.findByTestId("request-dialog");
    await user.type(within(dialog).getByTestId("request-iban"), "DE89 3704 0044 0532 0130 01");
    await user.type(within(dialog).getByTestId("request-bank-name"), "Commerzbank");
    await user.type(within(dialog).getByTestId("request-account-holder"), "Northwind GmbH");
    await user.type(within(dialog).getByTestId("request-reason"), "Signed letter from the vendor");
    await user.click(within(dialog).getByTestId("request-submit"));
    expect(await within(dialog).findByText(/not a valid IBAN/)).toBeInTheDocument();
    expect(backend.callsOf("approval_request")).toHaveLength(0);
    await user.clear(within(dialog).getByTestId("request-iban"));
    await user.type(within(dialog).getByTestId("request-iban"), "de89 3704 0044 0532 0130 00");
    await user.click(within(dialog).getByTestId("request-submit"));
    await waitFor(() => expect(backend.callsOf("approval_request")).toHaveLength(1));
    expect(backend.callsOf("approval_request")[0]!.request.payload).toEqual({
      iban: "DE89370400440532013000",
      bank_name: "Commerzbank",
      account_holder: "Northwind GmbH",
    });
    // Now its payouts are held, and the vendor's page says so.
    expect(await within(sheet).findByTestId("payout-hold")).toHaveTextContent("Payouts to this vendor are on hold");

    // vendor-acme-1 already has one pending (the fixtures'): the server's refusal is said in the form.
    await user.keyboard("{Escape}");
    await router.navigate({ to: "/customers/$orgId", params: { orgId: "org-acme" }, search: { tab: "vendors", open: "vendor-acme-1" } });
    sheet = await screen.findByTestId("record-detail");
    const hold = await within(sheet).findByTestId("payout-hold");
    await user.click(within(sheet).getByTestId("request-vendor_bank_change"));
    dialog = await screen.findByTestId("request-dialog");
    await user.type(within(dialog).getByTestId("request-iban"), "AT611904300234573201");
    await user.type(within(dialog).getByTestId("request-bank-name"), "Erste Bank");
    await user.type(within(dialog).getByTestId("request-account-holder"), "Northwind GmbH");
    await user.type(within(dialog).getByTestId("request-reason"), "Second letter from the vendor");
    await user.click(within(dialog).getByTestId("request-submit"));
    expect(await within(dialog).findByTestId("request-refusal")).toHaveTextContent(
      "A bank account change for this vendor is already pending.",
    );
    await user.click(within(dialog).getByRole("button", { name: "Cancel" }));
    await user.click(within(hold).getByRole("link", { name: "Open the bank change" }));
    await waitFor(() => expect(router.state.location.pathname).toBe("/approvals"));
    expect(await screen.findByTestId("approval-detail")).toHaveTextContent("Vendor sent a signed letter");
  });

  it("the requester amends a pending request: the version moves on and earlier approvals stop counting", async () => {
    const data = makeDataset();
    const approvals = makeApprovals(data).map((a) =>
      a.id === "appr-refund-1200"
        ? {
            ...a,
            requester_id: "staff-me",
            can_decide: false,
            cannot_decide: { code: "self_approval_forbidden" as const, message: "You requested this yourself." },
          }
        : a,
    );
    const { user, backend } = renderApp({
      path: "/approvals?list=requested&open=appr-refund-1200",
      backend: { ...approver, data, approvals },
    });
    const detail = await screen.findByTestId("approval-detail");
    await user.click(await within(detail).findByTestId("amend-request"));
    const dialog = await screen.findByTestId("request-dialog");
    expect(within(dialog).getByTestId("request-amount")).toHaveValue("1200.00");
    await user.clear(within(dialog).getByTestId("request-amount"));
    await user.type(within(dialog).getByTestId("request-amount"), "1100");
    await user.click(within(dialog).getByTestId("request-submit"));
    await waitFor(() =>
      expect(backend.callsOf("approval_amend")).toEqual([
        {
          approval_id: "appr-refund-1200",
          amend: { amount: { amount_minor: 110_000, currency: "EUR" }, payload: null, reason: null, version: 1 },
        },
      ]),
    );
    expect(await within(detail).findByText("Version")).toBeInTheDocument();
    await waitFor(() => expect(detail).toHaveTextContent("1,100.00"));
  });

  it("a stale decision reloads and lists what changed", async () => {
    const data = makeDataset();
    const approvals = makeApprovals(data);
    const { user } = renderApp({
      path: "/approvals?open=appr-refund-1200",
      backend: {
        ...approver,
        data,
        approvals,
        overrides: {
          // Carl amended it while it was open: 1,500.00 EUR, version 2.
          approval_decide: () => {
            const i = approvals.findIndex((a) => a.id === "appr-refund-1200");
            approvals[i] = { ...approvals[i]!, amount: { amount_minor: 150_000, currency: "EUR" }, version: 2 };
            throw { code: "stale_version", message: "The request changed since you loaded it." };
          },
          approval_get: ({ approval_id }) => approvals.find((a) => a.id === approval_id),
        },
      },
    });
    const detail = await screen.findByTestId("approval-detail");
    await user.click(await within(detail).findByTestId("approve"));
    const changed = await within(detail).findByTestId("what-changed");
    expect(changed).toHaveTextContent("Amount: 1,200.00 EUR → 1,500.00 EUR");
    expect(changed).toHaveTextContent("Version 1 → 2");
  });

  it("bulk approve: each request decided on its own, each result listed, a refusal in words", async () => {
    const { user, backend } = renderApp({ path: "/approvals", backend: approver });
    await screen.findAllByTestId("row");
    const rows = screen.getAllByTestId("row");
    // All three: the 30,000.00 EUR refund is over this approver's limit.
    await user.click(screen.getByTestId("select-all"));
    expect(within(screen.getByTestId("bulk-bar")).getByText("3 selected")).toBeInTheDocument();
    expect(rows).toHaveLength(3);
    await user.click(screen.getByTestId("bulk-approve"));
    const dialog = await screen.findByTestId("bulk-decide");
    await user.type(within(dialog).getByRole("textbox"), "Checked against the tickets");
    await user.click(within(dialog).getByTestId("bulk-confirm"));
    await waitFor(() =>
      expect(within(dialog).getAllByTestId("bulk-result").map((r) => r.dataset.state).sort()).toEqual([
        "done",
        "done",
        "refused",
      ]),
    );
    const refused = within(dialog).getAllByTestId("bulk-result").find((r) => r.dataset.state === "refused")!;
    expect(refused).toHaveTextContent("Refund of 30,000.00 EUR");
    expect(dialog).toHaveTextContent("2 approved, 1 refused by the server.");
    expect(dialog).toHaveTextContent("30,000.00 EUR is above your approval limit of 10,000.00 EUR.");
    expect(backend.callsOf("approval_decide").map((c) => c.decision.comment)).toEqual([
      "Checked against the tickets",
      "Checked against the tickets",
      "Checked against the tickets",
    ]);
    await user.click(within(dialog).getByTestId("bulk-done"));
    await waitFor(() => expect(screen.queryByTestId("bulk-bar")).not.toBeInTheDocument());
  });

  it("describes changes between two versions of a request in words", () => {
    const [a] = makeApprovals(makeDataset());
    const approved = {
      ...a!,
      decisions: [
        { approver_id: "staff-ana", approver_name: "Ana Costa", on_behalf_of: null, decision: "approve" as const,
          comment: "", version_seen: 1, current: true, at: "2026-01-01T00:00:00Z" },
      ],
    };
    const amended = {
      ...approved,
      version: 2,
      reason: "A new reason for it",
      decisions: approved.decisions.map((d) => ({ ...d, current: false })),
    };
    expect(describeChanges(approved, amended)).toEqual([
      "Reason: “A new reason for it”",
      "Version 1 → 2: approvals given before the change no longer count",
    ]);
    expect(describeChanges(a!, approved)).toEqual(["Ana Costa approved"]);
    expect(describeChanges(a!, a!)).toEqual([]);
  });
});
