import { describe, expect, it } from "vitest";
import { screen, waitFor, within } from "@testing-library/react";
import { makeAccount } from "@/dev/fixtures";
import { expectNoSeriousA11yViolations } from "@/test/axe";
import { forever, renderApp } from "@/test/render-app";
import { parseWhen } from "./audit-screen";

const ava = {
  account: makeAccount({
    subject: "ava",
    display_name: "Ava Reyes",
    roles: ["auditor"],
    permissions: ["orgs:read", "audit:read", "audit:export"],
    scope: { all_orgs: true, regions: [], org_ids: [] },
  }),
};
const actions = () => screen.getAllByTestId("row").map((r) => within(r).getAllByRole("cell")[2]!.textContent);

describe("Audit log", () => {
  it("lists every event newest first; each filter is a typed URL param sent to the server", async () => {
    const { user, router, backend } = renderApp({ path: "/audit", backend: ava });
    await screen.findAllByTestId("row");
    expect(screen.getByTestId("audit-count")).toHaveTextContent("7 events");
    expect(actions()[0]).toBe("staff.deactivate");
    expect(document.title).toBe("Audit log — Countersign");
    await expectNoSeriousA11yViolations();

    await user.type(screen.getByTestId("audit-session"), "sess-ended-alice{Enter}");
    await waitFor(() => expect(screen.getByTestId("audit-count")).toHaveTextContent("4 events"));
    expect(router.state.location.search).toMatchObject({ session: "sess-ended-alice" });
    expect(backend.callsOf("audit_search").at(-1)!.filter).toMatchObject({ impersonation_id: "sess-ended-alice" });

    // A link carries the filters: outcome from the URL, typed.
    await router.navigate({ to: "/audit", search: { session: "sess-ended-alice", outcome: "denied" } });
    await waitFor(() => expect(actions()).toEqual(["reveal"]));
    expect(backend.callsOf("audit_search").at(-1)!.filter).toMatchObject({ outcome: "denied", impersonation_id: "sess-ended-alice" });
    await user.click(screen.getByTestId("audit-clear"));
    await waitFor(() => expect(screen.getByTestId("audit-count")).toHaveTextContent("7 events"));
  });

  it("shows an event's whole record: actor, session, target, code, reason, request id, hashes", async () => {
    const { user } = renderApp({ path: "/audit?action=staff.deactivate", backend: ava });
    await waitFor(() => expect(actions()).toEqual(["staff.deactivate"]));
    await user.click(screen.getAllByTestId("row")[0]!);
    const detail = await screen.findByTestId("audit-detail");
    const fields = within(detail).getByTestId("audit-event-fields");
    for (const text of ["staff-sid", "staff staff-bob", "INC-2291: laptop reported stolen", "req-staff-2", "Previous hash"]) {
      expect(fields).toHaveTextContent(text);
    }
  });

  it("ignores a malformed filter in the URL instead of failing; loading, offline and no-permission states", async () => {
    const { backend } = renderApp({ path: "/audit?outcome=maybe&from=yesterday", backend: ava });
    await screen.findAllByTestId("row");
    expect(backend.callsOf("audit_search")[0]!.filter).toMatchObject({ outcome: null, from: null });

    const loading = renderApp({ path: "/audit", backend: { ...ava, overrides: { audit_search: forever } } });
    expect((await screen.findAllByLabelText("Loading")).length).toBeGreaterThan(0);
    loading.unmount();
    const offline = renderApp({ path: "/audit", backend: { ...ava, online: false } });
    expect(await screen.findByTestId("error-state")).toHaveTextContent("You're offline.");
    offline.unmount();
    renderApp({ path: "/audit" });
    expect(await screen.findByTestId("no-access")).toHaveTextContent("the audit log");
  });

  it("takes From and To as typed dates in local time, and says when one is not a date", async () => {
    expect(parseWhen("", false)).toBeUndefined();
    expect(parseWhen("2026-13-40", false)).toBeNull();
    expect(parseWhen("yesterday", false)).toBeNull();
    expect(parseWhen("2026-12-01", false)).toBe(new Date(2026, 11, 1, 0, 0, 0).toISOString());
    expect(parseWhen("2026-12-01", true)).toBe(new Date(2026, 11, 1, 23, 59, 59).toISOString());
    expect(parseWhen("2026-12-01 14:30", false)).toBe(new Date(2026, 11, 1, 14, 30).toISOString());

    const { user, router, backend } = renderApp({ path: "/audit", backend: ava });
    await screen.findAllByTestId("row");
    await user.type(screen.getByTestId("audit-from"), "2026-13-40{Enter}");
    expect(await screen.findByText("A date like 2026-12-01, or 2026-12-01 14:30")).toBeInTheDocument();
    expect(router.state.location.search.from).toBeUndefined();
    await user.clear(screen.getByTestId("audit-from"));
    await user.type(screen.getByTestId("audit-from"), "2999-01-01{Enter}");
    await waitFor(() => expect(router.state.location.search.from).toBe(new Date(2999, 0, 1).toISOString()));
    expect(backend.callsOf("audit_search").at(-1)!.filter.from).toBe(new Date(2999, 0, 1).toISOString());
    expect(await screen.findByText("No event matches these filters")).toBeInTheDocument();
  });
});
