import { describe, expect, it } from "vitest";
import { screen, waitFor, within } from "@testing-library/react";
import { fail } from "@/dev/fake-backend";
import { expectNoSeriousA11yViolations } from "@/test/axe";
import { renderApp } from "@/test/render-app";
import type { UpdateView } from "@/bindings/types";

const NEWER: UpdateView = {
  version: "0.2.0",
  current_version: "0.1.0",
  notes: "Faster customer search.\nThe audit export names its file after the filter.",
  published_at: new Date(Date.now() - 3 * 3600_000).toISOString(),
};

describe("Check for updates", () => {
  it("says when this is the latest version", async () => {
    const { user, backend } = renderApp({ path: "/settings" });
    await user.click(await screen.findByTestId("update-check-button"));
    expect(await screen.findByTestId("update-latest")).toHaveTextContent("Countersign 0.1.0 is the latest version.");
    expect(backend.callsOf("update_check")).toHaveLength(1);
    expect(backend.callsOf("update_install")).toEqual([]);
  });

  it("shows the version found with its notes, then installs it with progress and restarts", async () => {
    const { user, backend } = renderApp({ path: "/settings", backend: { update: NEWER, updateStepMs: 20 } });
    await user.click(await screen.findByTestId("update-check-button"));
    const found = await screen.findByTestId("update-found");
    expect(found).toHaveTextContent("Version 0.2.0 is available");
    expect(found).toHaveTextContent("You have 0.1.0");
    expect(found).toHaveTextContent(/published 3 h ago/);
    expect(within(found).getByTestId("update-notes")).toHaveTextContent("Faster customer search.");
    expect(within(found).getByTestId("update-notes")).toHaveTextContent("The audit export names its file");
    await expectNoSeriousA11yViolations();
    await user.click(within(found).getByRole("button", { name: "Install and restart" }));
    expect(await screen.findByTestId("update-progress")).toHaveTextContent(/Downloading|Starting/);
    expect(await screen.findByText(/Checking the signature and installing/)).toBeInTheDocument();
    await waitFor(() => expect(backend.state.restarted).toBe(true));
    expect(backend.callsOf("update_install")).toHaveLength(1);
  });

  it("says in words why an update was refused, installs nothing and must be looked for again", async () => {
    const { user, backend } = renderApp({
      path: "/settings",
      backend: {
        update: NEWER,
        updateInstallError: {
          code: "update_version_unsigned",
          message: "The server announced version 0.2.0, but the package is signed as 0.0.9: it was not installed.",
        },
      },
    });
    await user.click(await screen.findByTestId("update-check-button"));
    await user.click(await screen.findByRole("button", { name: "Install and restart" }));
    const refusal = await screen.findByTestId("update-error");
    expect(refusal).toHaveTextContent("The update's signature does not vouch for the version offered");
    expect(refusal).toHaveTextContent("signed as 0.0.9");
    expect(screen.queryByTestId("update-found")).not.toBeInTheDocument();
    expect(screen.getByTestId("update-check-button")).toBeEnabled();
    expect(backend.state.restarted).toBe(false);
    await expectNoSeriousA11yViolations();
  });

  it("a build without an update key says IT installs new versions", async () => {
    const { user } = renderApp({
      path: "/settings",
      backend: { updateCheckError: fail("updates_unavailable") },
    });
    await user.click(await screen.findByTestId("update-check-button"));
    expect(await screen.findByTestId("update-error")).toHaveTextContent(
      "This copy of Countersign does not update itself. Your IT team installs new versions.",
    );
  });

  it("is offered on the update-required screen too", async () => {
    const { user } = renderApp({ path: "/update", backend: { updateRequired: true, account: null, update: NEWER } });
    const screenEl = await screen.findByTestId("update-required");
    await user.click(within(screenEl).getByTestId("update-check-button"));
    expect(await within(screenEl).findByTestId("update-found")).toHaveTextContent("Version 0.2.0 is available");
    await expectNoSeriousA11yViolations();
  });
});
