import { describe, expect, it } from "vitest";
import { screen, waitFor, within } from "@testing-library/react";
import { fail } from "@/dev/fake-backend";
import { makeDataset } from "@/dev/fixtures";
import { expectNoSeriousA11yViolations } from "@/test/axe";
import { forever, renderApp } from "@/test/render-app";

const names = () => screen.getAllByTestId("row").map((r) => within(r).getAllByRole("cell")[0]!.textContent);

describe("Customers", () => {
  it("lists every customer, sorted by name, with slug, region and support access", async () => {
    renderApp({ path: "/customers" });
    await screen.findAllByTestId("row");
    expect(names()).toEqual(["Acme GmbH", "Globex SE", "Initech Inc.", "Umbrella Corp."]);
    const acme = screen.getAllByTestId("row")[0]!;
    expect(acme).toHaveAttribute("data-record-id", "org-acme");
    expect(acme).toHaveTextContent("acme");
    expect(within(acme).getByLabelText("Region EU")).toBeInTheDocument();
    expect(within(acme).getByLabelText("Support access: Open")).toBeInTheDocument();
    expect(screen.getByText("4 customers in your scope")).toBeInTheDocument();
    expect(document.title).toBe("Customers — Countersign");
    await expectNoSeriousA11yViolations();
  });

  it("sorts by a column header and keeps the sort in the URL", async () => {
    const { user, router } = renderApp({ path: "/customers" });
    await screen.findAllByTestId("row");
    await user.click(screen.getByRole("button", { name: /Name/ }));
    expect(names()[0]).toBe("Umbrella Corp.");
    expect(screen.getByRole("columnheader", { name: /Name/ })).toHaveAttribute("aria-sort", "descending");
    expect(router.state.location.search).toMatchObject({ sort: "name", desc: true });
    await user.click(screen.getByRole("button", { name: /Region/ }));
    expect(router.state.location.search).toMatchObject({ sort: "region" });
    expect(names().slice(0, 2).sort()).toEqual(["Acme GmbH", "Globex SE"]);
  });

  it("filters as you type, says when nothing matches, and / focuses the filter", async () => {
    const { user, router } = renderApp({ path: "/customers" });
    await screen.findAllByTestId("row");
    await user.keyboard("/");
    const filter = screen.getByTestId("table-filter");
    expect(filter).toHaveFocus();
    await user.keyboard("glob");
    expect(names()).toEqual(["Globex SE"]);
    await waitFor(() => expect(router.state.location.search).toMatchObject({ q: "glob" }));
    await user.clear(filter);
    await user.keyboard("zzz");
    expect(await screen.findByText("No customer matches")).toBeInTheDocument();
    await user.keyboard("{Escape}");
    expect(filter).toHaveValue("");
    expect(screen.getAllByTestId("row")).toHaveLength(4);
  });

  it("moves with j/k and arrows and opens with Enter", async () => {
    const { user, router } = renderApp({ path: "/customers" });
    await screen.findAllByTestId("row");
    await user.keyboard("j");
    expect(screen.getAllByTestId("row")[0]).toHaveAttribute("data-state", "selected");
    await user.keyboard("jj");
    expect(screen.getAllByTestId("row")[2]).toHaveAttribute("data-state", "selected");
    await user.keyboard("k");
    expect(screen.getAllByTestId("row")[1]).toHaveAttribute("aria-current", "true");
    screen.getByRole("region", { name: /Customers: use J and K/ }).focus();
    await user.keyboard("{ArrowDown}");
    expect(screen.getAllByTestId("row")[2]).toHaveAttribute("data-state", "selected");
    await user.keyboard("{Enter}");
    expect(await screen.findByTestId("org-header")).toHaveTextContent("Initech Inc.");
    expect(router.state.location.pathname).toBe("/customers/org-initech");
  });

  it("opens a customer on row click", async () => {
    const { user } = renderApp({ path: "/customers" });
    await user.click((await screen.findAllByTestId("row"))[3]!);
    expect(await screen.findByTestId("org-header")).toHaveTextContent("Umbrella Corp.");
  });

  it("renders only the visible window of a very long list", async () => {
    const data = makeDataset({ extraOrgs: 20_000, users: 0, invoices: 0, vendors: 0, payments: 0 });
    renderApp({ path: "/customers", backend: { data } });
    const rows = await screen.findAllByTestId("row", {}, { timeout: 5000 });
    expect(rows.length).toBeGreaterThan(10);
    expect(rows.length).toBeLessThan(60);
    expect(screen.getByText("20,004 customers in your scope")).toBeInTheDocument();
    expect(screen.getByRole("table")).toHaveAttribute("aria-rowcount", "20005");
  });

  it("shows skeletons while loading", async () => {
    renderApp({ path: "/customers", backend: { overrides: { orgs_list: forever } } });
    expect(await screen.findByLabelText("Loading")).toHaveAttribute("aria-busy", "true");
  });

  it("explains an empty scope", async () => {
    renderApp({ path: "/customers", backend: { overrides: { orgs_list: () => [] } } });
    expect(await screen.findByText("No customers yet")).toBeInTheDocument();
    expect(screen.getByText(/ask a security admin to\s+check your scope/)).toBeInTheDocument();
  });

  it("shows a failed read in words with Retry", async () => {
    renderApp({ path: "/customers", backend: { overrides: { orgs_list: () => { throw fail("cache_unavailable"); } } } });
    expect(await screen.findByRole("alert")).toHaveTextContent("The local data store could not be opened.");
    expect(screen.getByRole("button", { name: "Retry" })).toBeInTheDocument();
  });

  it("works offline from the local data", async () => {
    renderApp({ path: "/customers", backend: { online: false } });
    expect(await screen.findByTestId("offline-banner")).toBeInTheDocument();
    expect(await screen.findAllByTestId("row")).toHaveLength(4);
  });

  it("says so as a whole pane without orgs:read", async () => {
    renderApp({ path: "/customers", backend: { permissions: ["users:read"] } });
    expect(await screen.findByTestId("no-access")).toHaveTextContent(
      "You don't have access to customer records. Ask a security admin.",
    );
    await expectNoSeriousA11yViolations();
  });
});
