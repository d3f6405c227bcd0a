import { describe, expect, it } from "vitest";
import { act, screen, waitFor, within } from "@testing-library/react";
import { READ_PERMISSIONS, makeAccount } from "@/dev/fixtures";
import { createFakeBackend } from "@/dev/fake-backend";
import type { SupportView } from "@/bindings/types";
import { expectNoSeriousA11yViolations } from "@/test/axe";
import { renderApp } from "@/test/render-app";
import { formatCountdown, remainingMs } from "./queries";

const ACME = "/customers/org-acme";
const alice = () => ({
  account: makeAccount({ permissions: [...READ_PERMISSIONS, "pii:reveal", "impersonation:start"] }),
  lastSyncedAt: new Date().toISOString(),
});

/** An active session on acme's second user, `minutes` left on the server's clock. */
function activeSession(minutes: number, scope: "read" | "write" = "read", offsetMs = 0): SupportView {
  const now = Date.now() + offsetMs;
  return {
    session: {
      id: "sess-now",
      org_id: "org-acme",
      agent_id: "staff-me",
      agent_name: "Alice Martin",
      subject_user_id: "user-acme-2",
      reason: "Customer cannot find last month's invoice",
      ticket_ref: "SUP-4711",
      scope,
      duration_minutes: 15,
      status: "active",
      requested_at: new Date(now - 60_000).toISOString(),
      started_at: new Date(now - 60_000).toISOString(),
      expires_at: new Date(now + minutes * 60_000).toISOString(),
      ended_at: null,
      end_reason: null,
      review: "unreviewed",
      review_note: null,
    },
    subject_name: "Jonas Weber",
    org_name: "Acme GmbH",
    clock_offset_ms: offsetMs,
  };
}

describe("Support sessions (agent)", () => {
  it("the start dialog checks reason, ticket and minutes, explains approval, and a read session opens the customer's view", async () => {
    const { user, backend } = renderApp({ path: `${ACME}?tab=users&open=user-acme-2`, backend: alice() });
    const sheet = await screen.findByTestId("record-detail");
    await user.click(within(sheet).getByTestId("start-support"));
    const dialog = await screen.findByTestId("start-support-dialog");
    expect(within(dialog).queryByTestId("support-needs-approval")).not.toBeInTheDocument();
    // Acme is open: nothing said about consent.
    expect(within(dialog).queryByTestId("support-no-grant")).not.toBeInTheDocument();
    await user.type(within(dialog).getByTestId("support-reason"), "too short");
    await user.clear(within(dialog).getByTestId("support-duration"));
    await user.type(within(dialog).getByTestId("support-duration"), "90");
    await user.click(within(dialog).getByTestId("support-start"));
    expect(await within(dialog).findByText(/Write at least 10 characters/)).toBeInTheDocument();
    expect(within(dialog).getByText("Enter the ticket this session is for.")).toBeInTheDocument();
    expect(within(dialog).getByText("Between 1 and 60 minutes.")).toBeInTheDocument();
    expect(backend.callsOf("support_start")).toHaveLength(0);

    // Write scope says it waits for a supervisor before anyone submits.
    await user.click(within(dialog).getByTestId("support-scope-write"));
    expect(within(dialog).getByTestId("support-needs-approval")).toHaveTextContent("supervisor's approval");
    expect(within(dialog).getByTestId("support-start")).toHaveTextContent("Ask for approval");
    await user.click(within(dialog).getByTestId("support-scope-read"));

    await user.type(within(dialog).getByTestId("support-reason"), ": customer cannot find an invoice");
    await user.type(within(dialog).getByTestId("support-ticket"), "SUP-4711");
    await user.clear(within(dialog).getByTestId("support-duration"));
    await user.type(within(dialog).getByTestId("support-duration"), "10");
    await user.click(within(dialog).getByTestId("support-start"));
    await waitFor(() =>
      expect(backend.callsOf("support_start")).toEqual([
        {
          request: {
            subject_user_id: "user-acme-2",
            reason: "too short: customer cannot find an invoice",
            ticket_ref: "SUP-4711",
            scope: "read",
            duration_minutes: 10,
          },
        },
      ]),
    );
    // The banner on every screen, the customer's view, the title.
    const banner = await screen.findByTestId("support-banner");
    expect(banner).toHaveTextContent(/Acting as .+ at Acme GmbH — read — \d\d:\d\d left/);
    expect(within(banner).getByTestId("support-countdown").textContent).toMatch(/^(10:00|09:5\d)$/);
    expect(await screen.findByText(/Acme GmbH, as .+ sees it/)).toBeInTheDocument();
    expect(document.title).toMatch(/^Support session — .+'s view — Countersign$/);
    expect(screen.getByTestId("customer-view-scope")).toHaveTextContent("Read access");
    expect(await screen.findAllByTestId("row")).not.toHaveLength(0);
    // Read scope: no customer actions offered.
    expect(screen.queryByTestId("customer-edit-user")).not.toBeInTheDocument();
    // Staff sections are gone from the sidebar; the customer's view is there.
    const nav = screen.getByRole("navigation", { name: "Sections" });
    expect(within(nav).getByText("Customer view")).toBeInTheDocument();
    expect(within(nav).queryByText("Approvals")).not.toBeInTheDocument();
    await expectNoSeriousA11yViolations();
  });

  it("hides Reveal inside a session and ends the session only after confirming", async () => {
    const backend = createFakeBackend({ ...alice(), support: activeSession(12) });
    const { user } = renderApp({ path: `${ACME}?tab=users&open=user-acme-3`, backend });
    const sheet = await screen.findByTestId("record-detail");
    await screen.findByTestId("support-banner");
    expect(within(sheet).queryByRole("button", { name: /Reveal/ })).not.toBeInTheDocument();
    expect(within(sheet).getByTestId("start-support")).toBeDisabled();
    expect(sheet).toHaveTextContent("You are already in a support session with Jonas Weber. End it first.");
    await user.keyboard("{Escape}");

    await user.click(screen.getByTestId("support-end"));
    expect(await screen.findByTestId("support-end-confirm")).toHaveTextContent("End session with Jonas Weber");
    expect(backend.callsOf("support_end")).toHaveLength(0);
    await user.click(screen.getByTestId("support-end-confirm"));
    await waitFor(() => expect(screen.queryByTestId("support-banner")).not.toBeInTheDocument());
    expect(backend.callsOf("support_end")).toHaveLength(1);
    expect(await screen.findByText("Support session with Jonas Weber ended")).toBeInTheDocument();
    expect(document.title).not.toMatch(/Support session/);
  });

  it("a write session waits for the supervisor, then starts; write scope offers the customer actions", async () => {
    const backend = createFakeBackend(alice());
    const { user } = renderApp({ path: `${ACME}?tab=users&open=user-acme-2`, backend });
    await user.click(await screen.findByTestId("start-support"));
    const dialog = await screen.findByTestId("start-support-dialog");
    await user.type(within(dialog).getByTestId("support-reason"), "Customer cannot change their phone number");
    await user.type(within(dialog).getByTestId("support-ticket"), "SUP-2210");
    await user.click(within(dialog).getByTestId("support-scope-write"));
    await user.click(within(dialog).getByTestId("support-start"));
    const waiting = await screen.findByTestId("support-waiting");
    expect(waiting).toHaveTextContent(/Waiting for a supervisor to approve your write session/);
    expect(waiting).toHaveTextContent("Its 15 minutes start when it is approved.");
    expect(screen.queryByTestId("support-banner")).not.toBeInTheDocument();

    act(() => backend.answerSupport(true));
    const banner = await screen.findByTestId("support-banner", {}, { timeout: 6_000 });
    expect(banner).toHaveTextContent("write");
    expect(await screen.findByText(/your session with .+ has started/)).toBeInTheDocument();
    // A member may change their own profile only: the one Edit is on the subject's row.
    const edits = await screen.findAllByTestId("customer-edit-user");
    expect(edits).toHaveLength(1);
    const edit = edits[0]!;
    expect(edit.closest("[data-testid=row]")).toHaveAttribute("data-record-id", "user-acme-2");
    await user.click(edit);
    const form = await screen.findByTestId("customer-edit-dialog");
    await user.type(within(form).getByTestId("customer-edit-phone"), "12");
    await user.click(within(form).getByTestId("customer-edit-save"));
    expect(await within(form).findByText(/3 to 40 digits/)).toBeInTheDocument();
    expect(backend.callsOf("customer_update_user")).toHaveLength(0);
    await user.type(within(form).getByTestId("customer-edit-phone"), "3 456 789");
    await user.click(within(form).getByTestId("customer-edit-save"));
    await waitFor(() => expect(backend.callsOf("customer_update_user")).toHaveLength(1));
    expect(backend.callsOf("customer_update_user")[0]!.update).toEqual({ name: null, phone: "123 456 789" });
  }, 15_000);

  it("a rejected request says so and leaves", async () => {
    const backend = createFakeBackend(alice());
    const { user } = renderApp({ path: `${ACME}?tab=users&open=user-acme-1`, backend });
    await user.click(await screen.findByTestId("start-support"));
    const dialog = await screen.findByTestId("start-support-dialog");
    // user-acme-1 is the org admin: even read access waits.
    expect(within(dialog).getByTestId("support-needs-approval")).toHaveTextContent("is an org admin");
    await user.type(within(dialog).getByTestId("support-reason"), "Admin cannot add a colleague");
    await user.type(within(dialog).getByTestId("support-ticket"), "SUP-1");
    await user.click(within(dialog).getByTestId("support-start"));
    await screen.findByTestId("support-waiting");
    act(() => backend.answerSupport(false));
    expect(await screen.findByText(/A supervisor rejected your support session/, {}, { timeout: 6_000 })).toBeInTheDocument();
    await waitFor(() => expect(screen.queryByTestId("support-waiting")).not.toBeInTheDocument());
  }, 15_000);

  it("at expiry the app leaves the customer's view by itself and says why", async () => {
    const backend = createFakeBackend({ ...alice(), support: activeSession(1 / 60) });
    renderApp({ path: "/support", backend });
    expect(await screen.findByTestId("support-banner")).toBeInTheDocument();
    expect(await screen.findByText(/its time ran out/, {}, { timeout: 5_000 })).toBeInTheDocument();
    await waitFor(() => expect(screen.queryByTestId("support-banner")).not.toBeInTheDocument());
    await waitFor(() => expect(screen.queryByText(/sees it/)).not.toBeInTheDocument());
  });

  it("an org under consent without a grant is told before submitting; the server's refusal is in words", async () => {
    const backend = createFakeBackend(alice());
    const { user } = renderApp({ path: "/customers/org-globex?tab=users&open=user-globex-2", backend });
    await user.click(await screen.findByTestId("start-support"));
    const dialog = await screen.findByTestId("start-support-dialog");
    expect(await within(dialog).findByTestId("support-no-grant")).toHaveTextContent("Globex SE asks for consent");
    await user.type(within(dialog).getByTestId("support-reason"), "Customer cannot find an invoice");
    await user.type(within(dialog).getByTestId("support-ticket"), "SUP-9");
    await user.click(within(dialog).getByTestId("support-start"));
    expect(await within(dialog).findByTestId("support-refusal")).toHaveTextContent("Globex SE has not granted support access.");
    expect(screen.queryByTestId("support-banner")).not.toBeInTheDocument();
  });

  it("counts down on the server's clock, not this machine's", () => {
    const now = Date.parse("2026-12-07T10:00:00Z");
    // The deadline is 11:30 away by this machine's clock; the server's runs 90 s ahead, so 10:00 are left.
    const expires = new Date(now + 90_000 + 10 * 60_000).toISOString();
    expect(formatCountdown(remainingMs(expires, 0, now))).toBe("11:30");
    expect(formatCountdown(remainingMs(expires, 90_000, now))).toBe("10:00");
    expect(formatCountdown(-5_000)).toBe("00:00");
  });
});
