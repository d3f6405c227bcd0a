import { describe, expect, it, vi } from "vitest";
import { act, screen, waitFor, within } from "@testing-library/react";
import { fail } from "@/dev/fake-backend";
import { revealedValueFor } from "@/dev/fixtures";
import { expectNoSeriousA11yViolations } from "@/test/axe";
import { renderApp } from "@/test/render-app";

const USER = "user-acme-1";
const PATH = `/customers/org-acme?tab=users&open=${USER}`;
const VALUE = revealedValueFor("email", USER);
const REASON = "Ticket 4821: customer asked to confirm the e-mail";

async function openReveal(options: Parameters<typeof renderApp>[0] = {}) {
  const app = renderApp({ path: PATH, ...options });
  const sheet = await screen.findByTestId("record-detail");
  const button = within(sheet).getAllByTestId("reveal-button").find((b) => b.dataset.field === "email")!;
  await app.user.click(button);
  await screen.findByTestId("reveal-dialog");
  return app;
}

/** The clipboard's text; user-event's stub throws on an empty clipboard. */
async function clipboardText() {
  try {
    return await navigator.clipboard.readText();
  } catch {
    return "";
  }
}

/** Everything the app could have put the value into, outside the dialog. */
function expectValueNowhereButTheDialog(app: ReturnType<typeof renderApp>) {
  const caches = JSON.stringify([
    app.queryClient.getQueryCache().getAll().map((q) => [q.queryKey, q.state.data]),
    app.queryClient.getMutationCache().getAll().map((m) => [m.options.mutationKey, m.state.data, m.state.variables]),
  ]);
  expect(caches).not.toContain(VALUE);
  expect(JSON.stringify({ ...localStorage })).not.toContain(VALUE);
  expect(JSON.stringify({ ...sessionStorage })).not.toContain(VALUE);
  expect(app.router.state.location.href).not.toContain(encodeURIComponent(VALUE));
  expect(app.router.state.location.href).not.toContain(VALUE);
}

describe("Reveal dialog", () => {
  it("explains the audit, counts the reason and refuses fewer than 10 characters", async () => {
    const { user, backend } = await openReveal();
    const dialog = screen.getByTestId("reveal-dialog");
    expect(within(dialog).getByRole("heading")).toHaveTextContent("Reveal e-mail");
    expect(dialog).toHaveTextContent(/This reveal is audited/);
    expect(screen.getByTestId("reveal-reason-count")).toHaveTextContent("0 / 10 minimum");
    await user.type(screen.getByTestId("reveal-reason"), "  Ticket");
    expect(screen.getByTestId("reveal-reason-count")).toHaveTextContent("6 / 10 minimum");
    await user.type(screen.getByTestId("reveal-reason"), "4");
    expect(screen.getByTestId("reveal-reason-count")).toHaveTextContent("7 / 10 minimum");
    await user.click(screen.getByTestId("reveal-submit"));
    expect(await screen.findByText(/Write at least 10 characters/)).toBeInTheDocument();
    expect(screen.getByTestId("reveal-reason")).toHaveAttribute("aria-invalid", "true");
    expect(backend.callsOf("reveal")).toEqual([]);
    await expectNoSeriousA11yViolations();
  });

  it("reveals with the trimmed reason, shows the value, and forgets it on close", async () => {
    const app = await openReveal();
    const { user, backend } = app;
    await user.type(screen.getByTestId("reveal-reason"), `  ${REASON}  `);
    await user.click(screen.getByTestId("reveal-submit"));
    expect(await screen.findByTestId("revealed-value")).toHaveTextContent(VALUE);
    expect(backend.callsOf("reveal")).toEqual([
      { record_type: "user", record_id: USER, field: "email", reason: REASON },
    ]);
    expect(screen.getByTestId("reveal-countdown")).toHaveTextContent("01:00");
    expectValueNowhereButTheDialog(app);
    await expectNoSeriousA11yViolations();

    await user.click(screen.getByTestId("reveal-close"));
    await waitFor(() => expect(screen.queryByTestId("reveal-dialog")).not.toBeInTheDocument());
    expect(document.body.textContent).not.toContain(VALUE);
    expectValueNowhereButTheDialog(app);

    // Opening again starts from the reason: the value is not kept anywhere.
    const sheet = screen.getByTestId("record-detail");
    await user.click(within(sheet).getAllByTestId("reveal-button")[0]!);
    expect(await screen.findByTestId("reveal-reason")).toHaveValue("");
    expect(screen.queryByTestId("revealed-value")).not.toBeInTheDocument();
  });

  it("closes with Esc and forgets the value", async () => {
    const { user } = await openReveal();
    await user.type(screen.getByTestId("reveal-reason"), REASON);
    await user.click(screen.getByTestId("reveal-submit"));
    await screen.findByTestId("revealed-value");
    await user.keyboard("{Escape}");
    await waitFor(() => expect(screen.queryByTestId("reveal-dialog")).not.toBeInTheDocument());
    expect(document.body.textContent).not.toContain(VALUE);
  });

  it("hides the value and closes after 60 seconds", async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    const app = await openReveal({ fakeTimers: true });
    await app.user.type(screen.getByTestId("reveal-reason"), REASON);
    await app.user.click(screen.getByTestId("reveal-submit"));
    await screen.findByTestId("revealed-value");
    await act(async () => {
      await vi.advanceTimersByTimeAsync(30_000);
    });
    expect(screen.getByTestId("reveal-countdown")).toHaveTextContent("00:30");
    expect(screen.getByTestId("revealed-value")).toHaveTextContent(VALUE);
    await act(async () => {
      await vi.advanceTimersByTimeAsync(30_500);
    });
    await waitFor(() => expect(screen.queryByTestId("reveal-dialog")).not.toBeInTheDocument());
    expect(document.body.textContent).not.toContain(VALUE);
    expectValueNowhereButTheDialog(app);
  });

  it("copies the value and clears the clipboard 30 seconds later", async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    const { user } = await openReveal({ fakeTimers: true });
    await user.type(screen.getByTestId("reveal-reason"), REASON);
    await user.click(screen.getByTestId("reveal-submit"));
    await screen.findByTestId("revealed-value");
    await user.click(screen.getByTestId("reveal-copy"));
    expect(await navigator.clipboard.readText()).toBe(VALUE);
    expect(screen.getByText(/The clipboard is cleared in 30 s/)).toBeInTheDocument();
    await act(async () => {
      await vi.advanceTimersByTimeAsync(30_100);
    });
    await waitFor(async () => expect(await clipboardText()).toBe(""));
  });

  it("leaves the clipboard alone when the user copied something else since", async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    const { user } = await openReveal({ fakeTimers: true });
    await user.type(screen.getByTestId("reveal-reason"), REASON);
    await user.click(screen.getByTestId("reveal-submit"));
    await screen.findByTestId("revealed-value");
    await user.click(screen.getByTestId("reveal-copy"));
    await navigator.clipboard.writeText("something else");
    await act(async () => {
      await vi.advanceTimersByTimeAsync(30_100);
    });
    expect(await navigator.clipboard.readText()).toBe("something else");
  });

  it.each([
    ["rate_limited", "You have revealed many values recently; wait a minute and try again."],
    ["forbidden", "You don't have permission to do this. Ask a security admin if you need it."],
    ["offline", "You're offline. Reconnect to the network and try again."],
    ["not_while_impersonating", "You can't do this during a support session. End the session, then try again."],
  ] as const)("shows %s from the server in words", async (code, words) => {
    const { user } = await openReveal({ backend: { overrides: { reveal: () => { throw fail(code, "detail"); } } } });
    await user.type(screen.getByTestId("reveal-reason"), REASON);
    await user.click(screen.getByTestId("reveal-submit"));
    const dialog = screen.getByTestId("reveal-dialog");
    expect(await within(dialog).findByRole("alert")).toHaveTextContent(words);
    if (code.includes("_")) expect(dialog.textContent).not.toContain(code);
    expect(screen.queryByTestId("revealed-value")).not.toBeInTheDocument();
  });

  it("puts the server's reason_required next to the field", async () => {
    const { user } = await openReveal({ backend: { overrides: { reveal: () => { throw fail("reason_required"); } } } });
    await user.type(screen.getByTestId("reveal-reason"), REASON);
    await user.click(screen.getByTestId("reveal-submit"));
    expect(await screen.findByText("Give a reason of at least 10 characters, then try again.")).toBeInTheDocument();
  });

  it("never logs the value", async () => {
    const spies = (["log", "info", "warn", "error", "debug"] as const).map((m) => vi.spyOn(console, m));
    const { user } = await openReveal();
    await user.type(screen.getByTestId("reveal-reason"), REASON);
    await user.click(screen.getByTestId("reveal-submit"));
    await screen.findByTestId("revealed-value");
    await user.click(screen.getByTestId("reveal-close"));
    for (const spy of spies) {
      expect(JSON.stringify(spy.mock.calls)).not.toContain(VALUE);
    }
  });
});
