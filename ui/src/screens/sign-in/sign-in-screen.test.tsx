import { describe, expect, it } from "vitest";
import { screen, waitFor, within } from "@testing-library/react";
import { fail } from "@/dev/fake-backend";
import { CONTRACTOR_PROVIDER, PROVIDERS, makeServer } from "@/dev/fixtures";
import { ERROR_WORDS } from "@/lib/errors";
import { expectNoSeriousA11yViolations } from "@/test/axe";
import { renderApp } from "@/test/render-app";

describe("Sign-in screen", () => {
  it("offers one button per provider and shows the server with a Change server link", async () => {
    renderApp({
      path: "/sign-in",
      backend: {
        account: null,
        server: makeServer({
          providers: [...PROVIDERS, { ...PROVIDERS[0]!, name: "Bank Entra ID", issuer: "https://login.example" }],
        }),
      },
    });
    expect(await screen.findByTestId("sign-in-0")).toHaveTextContent("Sign in with Countersign Staff ID");
    expect(screen.getByTestId("sign-in-1")).toHaveTextContent("Sign in with Bank Entra ID");
    expect(screen.getByText("https://countersign.bank.example")).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Change server" })).toBeInTheDocument();
    expect(document.title).toBe("Sign in — Countersign");
    await expectNoSeriousA11yViolations();
  });

  it("waits for the browser, and Cancel returns with the cancellation in words", async () => {
    const { user, backend } = renderApp({ path: "/sign-in", backend: { account: null, signInMs: null } });
    await user.click(await screen.findByTestId("sign-in-0"));
    const waiting = await screen.findByTestId("sign-in-waiting");
    expect(waiting).toHaveTextContent("Waiting for your browser…");
    expect(backend.callsOf("sign_in")).toEqual([{ issuer: PROVIDERS[0]!.issuer }]);
    await expectNoSeriousA11yViolations();
    await user.click(screen.getByTestId("sign-in-cancel"));
    expect(await screen.findByText("Sign-in was cancelled. Sign in again when you're ready.")).toBeInTheDocument();
    expect(screen.queryByTestId("sign-in-waiting")).not.toBeInTheDocument();
    expect(backend.callsOf("sign_in_cancel")).toHaveLength(1);
  });

  it("goes to the first sync after signing in when the cache never synced", async () => {
    const { user } = renderApp({
      path: "/sign-in",
      backend: { account: null, lastSyncedAt: null, signInMs: 5, syncStepMs: 50 },
    });
    await user.click(await screen.findByTestId("sign-in-0"));
    expect(await screen.findByTestId("sync-progress")).toBeInTheDocument();
  });

  it("goes straight to Home when the cache already synced", async () => {
    const { user } = renderApp({ path: "/sign-in", backend: { account: null, signInMs: 5 } });
    await user.click(await screen.findByTestId("sign-in-0"));
    expect(await screen.findByTestId("home")).toBeInTheDocument();
  });

  it.each([
    ["sign_in_timeout", "Sign-in took too long. Try again and finish it in your browser."],
    ["provider_error", "The sign-in provider refused the sign-in. Try again or ask your IT team."],
    ["state_mismatch", "The browser came back from a different sign-in attempt. Try again from this window."],
    ["issuer_mismatch", "The answer came from a different sign-in provider than expected. Try again, and tell your IT team if it repeats."],
  ] as const)("says %s in words", async (code, words) => {
    const { user } = renderApp({
      path: "/sign-in",
      backend: { account: null, overrides: { sign_in: () => { throw fail(code); } } },
    });
    await user.click(await screen.findByTestId("sign-in-0"));
    expect(await screen.findByRole("alert")).toHaveTextContent(words);
    expect(document.body.textContent).not.toContain(code);
    // The buttons are back for another try.
    expect(screen.getByTestId("sign-in-0")).toBeEnabled();
  });

  it("shows why a saved session could not be resumed", async () => {
    renderApp({ path: "/sign-in", backend: { account: null, resumeError: fail("refresh_rejected") } });
    expect(await screen.findByRole("alert")).toHaveTextContent("Your session has expired. Sign in again.");
  });

  it("shows the message when a sync signed the user out", async () => {
    renderApp({ path: "/sign-in?reason=signed_out", backend: { account: null } });
    expect(await screen.findByRole("alert")).toHaveTextContent(/You were signed out/);
  });

  it("says so when the server offers no provider", async () => {
    renderApp({ path: "/sign-in", backend: { account: null, server: makeServer({ providers: [] }) } });
    expect(await screen.findByText(/This server offers no way to sign in yet/)).toBeInTheDocument();
    await waitFor(() => expect(screen.queryByTestId("sign-in-0")).not.toBeInTheDocument());
  });

  it("signs in at the provider of the button chosen, one button per provider", async () => {
    const { user, backend } = renderApp({
      path: "/sign-in",
      backend: { account: null, signInMs: 5, server: makeServer({ providers: [...PROVIDERS, CONTRACTOR_PROVIDER] }) },
    });
    expect(await screen.findByTestId("sign-in-0")).toHaveTextContent(`Sign in with ${PROVIDERS[0]!.name}`);
    expect(screen.getAllByRole("button", { name: /^Sign in with / })).toHaveLength(2);
    await user.click(screen.getByTestId("sign-in-1"));
    expect(backend.callsOf("sign_in")).toEqual([{ issuer: CONTRACTOR_PROVIDER.issuer }]);
    expect(await screen.findByTestId("home")).toBeInTheDocument();
  });

  it("says calmly that a new account waits for access, and tries again at the same provider", async () => {
    const { user, backend } = renderApp({
      path: "/sign-in",
      backend: {
        account: null,
        signInMs: 5,
        signInRefusal: fail("access_pending"),
        server: makeServer({ providers: [...PROVIDERS, CONTRACTOR_PROVIDER] }),
      },
    });
    await user.click(await screen.findByTestId("sign-in-1"));
    const pending = await screen.findByTestId("access-pending");
    expect(within(pending).getByRole("heading", { name: "Your account is waiting for access" })).toBeInTheDocument();
    expect(pending).toHaveTextContent("a security administrator has been asked to review your account");
    expect(pending).toHaveTextContent("You can close Countersign and come back later");
    expect(pending).toHaveTextContent(`You signed in with ${CONTRACTOR_PROVIDER.name}`);
    // A state of the account, not an error: no alert, no code, no provider buttons.
    expect(screen.queryByRole("alert")).not.toBeInTheDocument();
    expect(document.body.textContent).not.toContain("access_pending");
    expect(screen.queryByTestId("sign-in-0")).not.toBeInTheDocument();
    expect(within(pending).getByTestId("access-pending-retry")).toHaveFocus();
    await expectNoSeriousA11yViolations();

    await user.click(within(pending).getByTestId("access-pending-retry"));
    await waitFor(() => expect(backend.callsOf("sign_in")).toHaveLength(2));
    expect(backend.callsOf("sign_in")[1]).toEqual({ issuer: CONTRACTOR_PROVIDER.issuer });
    expect(await screen.findByTestId("access-pending")).toBeInTheDocument();

    // Another provider (another account) is one step away.
    await user.click(screen.getByTestId("access-pending-other"));
    expect(await screen.findByTestId("sign-in-0")).toBeInTheDocument();
    expect(screen.queryByTestId("access-pending")).not.toBeInTheDocument();
    expect(ERROR_WORDS.access_pending).toMatch(/^Your account is waiting for access/);
  });
});
