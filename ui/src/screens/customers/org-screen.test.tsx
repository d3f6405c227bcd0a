import { describe, expect, it } from "vitest";
import { screen, waitFor, within } from "@testing-library/react";
import { fail } from "@/dev/fake-backend";
import { READ_PERMISSIONS, makeDataset } from "@/dev/fixtures";
import { expectNoSeriousA11yViolations } from "@/test/axe";
import { forever, renderApp } from "@/test/render-app";

const ACME = "/customers/org-acme";

describe("Customer detail", () => {
  it("shows the header and tabs with counts", async () => {
    renderApp({ path: ACME });
    const header = await screen.findByTestId("org-header");
    expect(header).toHaveTextContent("Acme GmbH");
    expect(header).toHaveTextContent("acme");
    expect(within(header).getByLabelText("Region EU")).toBeInTheDocument();
    expect(within(header).getByLabelText("Support access: Open")).toBeInTheDocument();
    expect(screen.getByTestId("tab-users")).toHaveTextContent("Users8");
    expect(screen.getByTestId("tab-invoices")).toHaveTextContent("Invoices24");
    expect(screen.getByTestId("tab-vendors")).toHaveTextContent("Vendors6");
    expect(screen.getByTestId("tab-payments")).toHaveTextContent("Payments10");
    expect(await screen.findAllByTestId("row")).toHaveLength(8);
    expect(document.title).toBe("Acme GmbH — Countersign");
    await expectNoSeriousA11yViolations();
  });

  it("shows a consent-required customer as such", async () => {
    renderApp({ path: "/customers/org-globex" });
    expect(await screen.findByLabelText("Support access: Consent required")).toBeInTheDocument();
  });

  it("switches tabs into the URL; invoices show money right-aligned and coloured statuses", async () => {
    const { user, router } = renderApp({ path: ACME });
    await screen.findAllByTestId("row");
    await user.click(screen.getByTestId("tab-invoices"));
    await waitFor(() => expect(router.state.location.search).toMatchObject({ tab: "invoices" }));
    const rows = await screen.findAllByTestId("row");
    expect(rows).toHaveLength(24);
    const amount = within(rows[0]!).getAllByRole("cell")[2]!;
    expect(amount).toHaveClass("text-right");
    expect(amount.textContent).toMatch(/^\d{1,3}(,\d{3})*\.\d{2}EUR$/);
    const statuses = document.querySelectorAll("[data-slot=badge][data-status]");
    expect(statuses.length).toBeGreaterThan(0);
    for (const badge of statuses) {
      const status = badge.getAttribute("data-status");
      expect(badge.className).toContain(status === "open" ? "amber" : status === "paid" ? "emerald" : "zinc");
    }
    expect(screen.getByRole("columnheader", { name: /Issued/ })).toHaveAttribute("aria-sort", "descending");
  });

  it("moves with j/k, opens a user's detail with Enter, and closes it with Esc", async () => {
    const { user, router } = renderApp({ path: ACME });
    await screen.findAllByTestId("row");
    await user.keyboard("jj");
    const second = screen.getAllByTestId("row")[1]!;
    expect(second).toHaveAttribute("data-state", "selected");
    await user.keyboard("k");
    expect(screen.getAllByTestId("row")[0]).toHaveAttribute("data-state", "selected");
    const name = within(screen.getAllByTestId("row")[0]!).getAllByRole("cell")[0]!.textContent!;
    await user.keyboard("{Enter}");
    const sheet = await screen.findByTestId("record-detail");
    expect(within(sheet).getByRole("heading", { name })).toBeInTheDocument();
    expect(router.state.location.search).toMatchObject({ open: expect.any(String) });
    // While the detail is open, j/k belong to it, not to the table.
    await user.keyboard("j");
    expect(screen.getAllByTestId("row")[0]).toHaveAttribute("data-state", "selected");
    await expectNoSeriousA11yViolations();
    await user.keyboard("{Escape}");
    await waitFor(() => expect(screen.queryByTestId("record-detail")).not.toBeInTheDocument());
    expect(router.state.location.search.open).toBeUndefined();
  });

  it("shows masked contact fields with Reveal only where revealable and permitted (pii:reveal)", async () => {
    renderApp({ path: `${ACME}?tab=users&open=user-acme-5` });
    const sheet = await screen.findByTestId("record-detail");
    const masked = within(sheet).getAllByTestId("masked-value");
    expect(masked.map((m) => m.getAttribute("data-field"))).toEqual(["email", "phone", "address"]);
    expect(masked[0]).toHaveClass("font-mono");
    expect(masked[0]).toHaveClass("text-muted-foreground");
    // user-acme-5's phone is not revealable (fixture): no button for it.
    const buttons = within(sheet).getAllByTestId("reveal-button");
    expect(buttons.map((b) => b.getAttribute("data-field"))).toEqual(["email", "address"]);
  });

  it("hides Reveal without the permission for the field", async () => {
    renderApp({
      path: `${ACME}?tab=users&open=user-acme-1`,
      backend: { permissions: READ_PERMISSIONS },
    });
    const sheet = await screen.findByTestId("record-detail");
    expect(within(sheet).getAllByTestId("masked-value")).toHaveLength(3);
    expect(within(sheet).queryByTestId("reveal-button")).not.toBeInTheDocument();
  });

  it("offers IBAN and tax ID reveals only with finance:reveal", async () => {
    const path = `${ACME}?tab=vendors&open=vendor-acme-1`;
    const first = renderApp({ path });
    let sheet = await screen.findByTestId("record-detail");
    expect(within(sheet).getAllByTestId("reveal-button").map((b) => b.dataset.field)).toEqual(["address"]);
    first.unmount();
    renderApp({ path, backend: { permissions: [...READ_PERMISSIONS, "pii:reveal", "finance:reveal"] } });
    sheet = await screen.findByTestId("record-detail");
    expect(within(sheet).getAllByTestId("reveal-button").map((b) => b.dataset.field)).toEqual([
      "tax_id",
      "address",
      "iban",
    ]);
  });

  it("opens on the tab and row chosen in search", async () => {
    renderApp({ path: `${ACME}?tab=invoices&selected=inv-acme-3&open=inv-acme-3` });
    const sheet = await screen.findByTestId("record-detail");
    expect(within(sheet).getByRole("heading")).toHaveTextContent(/^Invoice ACM-/);
    const row = screen.getAllByTestId("row").find((r) => r.dataset.recordId === "inv-acme-3");
    expect(row).toHaveAttribute("data-state", "selected");
  });

  it("stays smooth with 100,000 invoices: only a window of rows is rendered", async () => {
    const data = makeDataset({ bigInvoices: 100_000, users: 2, vendors: 1, payments: 1 });
    const { user } = renderApp({ path: `${ACME}?tab=invoices`, backend: { data } });
    const rows = await screen.findAllByTestId("row", {}, { timeout: 10_000 });
    expect(rows.length).toBeLessThan(60);
    expect(screen.getByTestId("tab-invoices")).toHaveTextContent("100,000");
    await user.keyboard("j");
    expect(screen.getAllByTestId("row")[0]).toHaveAttribute("data-state", "selected");
  });

  it("filters within a tab", async () => {
    const { user } = renderApp({ path: `${ACME}?tab=vendors` });
    const rows = await screen.findAllByTestId("row");
    const name = within(rows[0]!).getAllByRole("cell")[0]!.textContent!;
    await user.type(screen.getByLabelText("Filter vendors"), name);
    for (const row of screen.getAllByTestId("row")) expect(row).toHaveTextContent(name);
  });

  it("disables Reveal offline, with the reason", async () => {
    const { user } = renderApp({ path: `${ACME}?tab=users&open=user-acme-1`, backend: { online: false } });
    const sheet = await screen.findByTestId("record-detail");
    const button = within(sheet).getAllByTestId("reveal-button")[0]!;
    expect(button).toHaveAttribute("aria-disabled", "true");
    expect(button).toHaveAccessibleName(/unavailable offline/);
    await user.click(button);
    expect(screen.queryByTestId("reveal-dialog")).not.toBeInTheDocument();
  });

  it("shows loading, empty and error states", async () => {
    const loading = renderApp({ path: ACME, backend: { overrides: { org_get: forever } } });
    expect(await screen.findByLabelText("Loading customer")).toHaveAttribute("aria-busy", "true");
    loading.unmount();

    const empty = renderApp({ path: `${ACME}?tab=payments`, backend: { overrides: { org_payments: () => [] } } });
    expect(await screen.findByText("No payments")).toBeInTheDocument();
    expect(screen.getByText(/New records appear after the next sync/)).toBeInTheDocument();
    empty.unmount();

    renderApp({ path: "/customers/org-nope" });
    expect(await screen.findByText("This customer is not in your local data")).toBeInTheDocument();
    expect(screen.getByRole("alert")).toHaveTextContent("That record is not in your local data. Sync, then try again.");
  });

  it("shows a failed tab read in words", async () => {
    renderApp({ path: ACME, backend: { overrides: { org_users: () => { throw fail("internal"); } } } });
    expect(await screen.findByRole("alert")).toHaveTextContent(/The server ran into a problem/);
  });

  it("names what each payment was for: the invoice's number, the vendor's name", async () => {
    const data = makeDataset();
    const acme = data.payments.filter((p) => p.org_id === "org-acme");
    const toInvoice = acme.find((p) => p.invoice_id)!;
    const toVendor = acme.find((p) => p.vendor_id)!;
    const number = data.invoices.find((i) => i.id === toInvoice.invoice_id)!.number;
    const vendor = data.vendors.find((v) => v.id === toVendor.vendor_id)!.name;
    renderApp({ path: `${ACME}?tab=payments`, backend: { data } });
    await waitFor(() => {
      const targets = screen.getAllByTestId("payment-target").map((t) => t.textContent);
      expect(targets).toContain(`Invoice ${number}`);
      expect(targets).toContain(`Vendor ${vendor}`);
    });
    for (const t of screen.getAllByTestId("payment-target")) {
      expect(t.textContent).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}/); // no raw ids when the records are readable
    }
  });

  it("shows only the tabs the permissions allow", async () => {
    renderApp({ path: ACME, backend: { permissions: ["orgs:read", "invoices:read"] } });
    expect(await screen.findByTestId("tab-invoices")).toBeInTheDocument();
    expect(screen.queryByTestId("tab-users")).not.toBeInTheDocument();
    expect(screen.queryByTestId("tab-payments")).not.toBeInTheDocument();
  });
});
