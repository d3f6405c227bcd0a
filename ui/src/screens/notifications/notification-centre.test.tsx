import { describe, expect, it } from "vitest";
import { screen, waitFor, within } from "@testing-library/react";
import { fail } from "@/dev/fake-backend";
import { makeNotifications } from "@/dev/fake-notifications";
import { errorWords } from "@/lib/errors";
import { expectNoSeriousA11yViolations } from "@/test/axe";
import { renderApp } from "@/test/render-app";

const bell = (n: number) => screen.findByRole("button", { name: `Notifications, ${n} unread` });

describe("Notification centre", () => {
  it("counts what is unread, says each in words, and marks all read", async () => {
    window.localStorage.clear();
    const { user } = renderApp({ backend: { notifications: makeNotifications() } });
    await user.click(await bell(4));
    const centre = await screen.findByTestId("notification-centre");
    const items = within(centre).getAllByTestId("notification");
    expect(items).toHaveLength(4);
    expect(centre).toHaveTextContent(
      "Refund of 30,000.00 EUR for Acme Corporation waits for your decision (requested by Carl Jensen).",
    );
    expect(centre).toHaveTextContent("Ana Costa rejected your credit note of 450.00 EUR for Globex.");
    expect(centre).toHaveTextContent("Your vendor bank change for Initech still waits for approval and expires within 24 hours.");
    expect(centre).toHaveTextContent(
      "Alice Martin asks to act as a customer of Acme Corporation: the support session waits for your approval.",
    );
    await expectNoSeriousA11yViolations();

    await user.click(within(centre).getByRole("button", { name: "Mark all read" }));
    expect(await bell(0)).toBeInTheDocument();
    expect(screen.queryByTestId("notifications-badge")).not.toBeInTheDocument();
    expect(within(centre).getAllByTestId("notification").every((li) => li.dataset.unread === "false")).toBe(true);
    // Kept for this account: the next window starts with them read.
    expect(window.localStorage.getItem("countersign.notifications.read.http://127.0.0.1:9000 alice")).toContain(
      "to_decide:appr-n-1:",
    );
  });

  it("raises the count when one arrives, and opening it marks it read and opens the request", async () => {
    window.localStorage.clear();
    const { user, backend, router } = renderApp({ backend: { notifications: [] } });
    expect(await bell(0)).toBeInTheDocument();
    const [n] = makeNotifications();
    backend.notifications.emit({ ...n!, approval_id: "appr-new", at: new Date().toISOString() });
    await user.click(await bell(1));
    expect(screen.getByTestId("notifications-badge")).toHaveTextContent("1");
    await user.click(await screen.findByRole("link", { name: /waits for your decision/ }));
    await waitFor(() => expect(router.state.location.pathname).toBe("/approvals"));
    expect(router.state.location.search).toMatchObject({ list: "to_decide", open: "appr-new" });
    expect(await bell(0)).toBeInTheDocument();
    // The stream replays what stands at every reconnect: still one, still read.
    backend.notifications.emit({ ...n!, approval_id: "appr-new", at: backend.notifications.notifications[0]!.at });
    expect(await bell(0)).toBeInTheDocument();
  });

  it("leads a session waiting for approval to the session", async () => {
    window.localStorage.clear();
    const session = makeNotifications().find((n) => n.kind === "session_to_approve")!;
    const { user, router } = renderApp({ backend: { notifications: [session] } });
    await user.click(await bell(1));
    await user.click(await screen.findByRole("link", { name: /support session waits for your approval/ }));
    await waitFor(() => expect(router.state.location.pathname).toBe("/sessions"));
    expect(router.state.location.search).toMatchObject({ list: "to_approve", open: "sess-n-1" });
  });

  it("says why it is empty", async () => {
    const { user } = renderApp({ backend: { notifications: [] } });
    await user.click(await bell(0));
    expect(await screen.findByTestId("notifications-empty")).toHaveTextContent(
      /Nothing new.*when a request waits for your decision/,
    );
    expect(screen.getByRole("button", { name: "Mark all read" })).toBeDisabled();
  });

  it("says a failure in words, and retries", async () => {
    let calls = 0;
    const { user } = renderApp({
      backend: {
        overrides: {
          notifications_list: () => {
            calls += 1;
            if (calls === 1) throw fail("internal");
            return [];
          },
        },
      },
    });
    await user.click(await bell(0));
    const error = await screen.findByTestId("error-state");
    expect(error).toHaveTextContent("Notifications could not be loaded");
    expect(error).toHaveTextContent(errorWords(fail("internal")));
    await user.click(within(error).getByRole("button", { name: "Retry" }));
    expect(await screen.findByTestId("notifications-empty")).toBeInTheDocument();
  });

  it("offline: says they need the server", async () => {
    const { user } = renderApp({ backend: { online: false } });
    await user.click(await bell(0));
    expect(await screen.findByText("Notifications need the server")).toBeInTheDocument();
  });
});
