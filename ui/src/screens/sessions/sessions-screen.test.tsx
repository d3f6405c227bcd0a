import { describe, expect, it } from "vitest";
import { screen, waitFor, within } from "@testing-library/react";
import { fail } from "@/dev/fake-backend";
import { READ_PERMISSIONS, makeAccount } from "@/dev/fixtures";
import { expectNoSeriousA11yViolations } from "@/test/axe";
import { forever, renderApp } from "@/test/render-app";

const sam = {
  account: makeAccount({
    subject: "sam",
    display_name: "Sam Okafor",
    roles: ["support_supervisor"],
    permissions: [...READ_PERMISSIONS, "impersonation:approve", "impersonation:review"],
    scope: { all_orgs: true, regions: [], org_ids: [] },
  }),
};
const agents = () => screen.getAllByTestId("row").map((r) => within(r).getAllByRole("cell")[0]!.textContent);

describe("Support sessions (supervisor)", () => {
  it("lists what waits for approval, the review queue and the reviewed, with counts", async () => {
    const { user } = renderApp({ path: "/sessions", backend: sam });
    await screen.findAllByTestId("row");
    expect(agents()).toEqual(["Bob Stone"]);
    expect(screen.getAllByTestId("row")[0]).toHaveTextContent("Waits for approval");
    await waitFor(() => expect(screen.getByTestId("count-review")).toHaveTextContent("2"));
    expect(screen.getByTestId("count-reviewed")).toHaveTextContent("1");
    expect(document.title).toBe("Support sessions — Countersign");
    await expectNoSeriousA11yViolations();
    await user.click(screen.getByTestId("list-review"));
    await waitFor(() => expect(agents()).toEqual(["Alice Martin", "Bob Stone"]));
  });

  it("approves a waiting write session with a comment; rejecting asks first", async () => {
    const { user, backend } = renderApp({ path: "/sessions?open=sess-waiting-bob", backend: sam });
    const sheet = await screen.findByTestId("session-detail");
    expect(await within(sheet).findByText("Customer cannot change their phone number")).toBeInTheDocument();
    expect(sheet).toHaveTextContent("Write: acts for the customer");
    await user.click(within(sheet).getByTestId("session-reject"));
    expect(await screen.findByTestId("session-reject-confirm")).toHaveTextContent("Reject the session");
    expect(backend.callsOf("session_answer")).toHaveLength(0);
    await user.keyboard("{Escape}");
    await user.type(within(sheet).getByLabelText("Comment (optional)"), "OK for SUP-2210");
    await user.click(within(sheet).getByTestId("session-approve"));
    await waitFor(() =>
      expect(backend.callsOf("session_answer")).toEqual([{ session_id: "sess-waiting-bob", approve: true, comment: "OK for SUP-2210" }]),
    );
    expect(await screen.findByText("Approved: Bob Stone's session")).toBeInTheDocument();
    expect(within(sheet).queryByTestId("answer-panel")).not.toBeInTheDocument();
  });

  it("reads an ended session's timeline, each event expandable, and flags it only with a note", async () => {
    const { user, backend } = renderApp({ path: "/sessions?list=review&open=sess-ended-alice", backend: sam });
    const sheet = await screen.findByTestId("session-detail");
    const events = await within(sheet).findAllByTestId("timeline-event");
    expect(events.map((e) => e.textContent)).toEqual([
      expect.stringContaining("Impersonation start"),
      expect.stringContaining("Invoices list"),
      expect.stringContaining("Reveal"),
      expect.stringContaining("Impersonation end"),
    ]);
    expect(events[2]).toHaveTextContent("Refused");
    await user.click(within(events[2]!).getByRole("button"));
    const detail = await within(events[2]!).findByTestId("timeline-detail");
    expect(detail).toHaveTextContent("not_while_impersonating");
    expect(detail).toHaveTextContent("req-103");
    expect(backend.callsOf("session_get")).toEqual([{ session_id: "sess-ended-alice" }]);

    await user.click(within(sheet).getByTestId("review-flag"));
    expect(await within(sheet).findByText(/Say what is wrong before flagging/)).toBeInTheDocument();
    expect(backend.callsOf("session_review")).toHaveLength(0);
    await user.type(within(sheet).getByTestId("review-note"), "Reveal attempted without a ticket reason");
    await user.click(within(sheet).getByTestId("review-flag"));
    await waitFor(() =>
      expect(backend.callsOf("session_review")).toEqual([
        { session_id: "sess-ended-alice", review: { outcome: "flagged", note: "Reveal attempted without a ticket reason" } },
      ]),
    );
    expect(await within(sheet).findByText("Flagged", { selector: "[data-slot=badge]" })).toBeInTheDocument();
    await user.keyboard("{Escape}");
    await user.click(screen.getByTestId("list-reviewed"));
    await user.click(screen.getByTestId("filter-flagged"));
    await waitFor(() => expect(agents()).toEqual(["Alice Martin"]));
    expect(screen.getAllByTestId("row")[0]).toHaveTextContent("Flagged");
  });

  it("filters by agent; a refusal is said in words; loading, error and no-permission states", async () => {
    const { user, backend } = renderApp({
      path: "/sessions?list=review&agent=staff-bob",
      backend: { ...sam, overrides: { session_review: () => { throw fail("self_approval_forbidden"); } } },
    });
    await screen.findAllByTestId("row");
    expect(agents()).toEqual(["Bob Stone"]);
    expect(backend.callsOf("sessions_list").some((c) => c.filter.agent_id === "staff-bob")).toBe(true);
    await user.click(screen.getAllByTestId("row")[0]!);
    const sheet = await screen.findByTestId("session-detail");
    await user.click(await within(sheet).findByTestId("review-ok"));
    expect(await screen.findByText("You can't decide your own request. Ask another approver.")).toBeInTheDocument();
    await user.keyboard("{Escape}");

    const loading = renderApp({ path: "/sessions", backend: { ...sam, overrides: { sessions_list: forever } } });
    expect((await screen.findAllByLabelText("Loading")).length).toBeGreaterThan(0);
    loading.unmount();
    renderApp({ path: "/sessions", backend: { account: makeAccount() } });
    expect(await screen.findByTestId("no-access")).toHaveTextContent("support session review");
  });
});
