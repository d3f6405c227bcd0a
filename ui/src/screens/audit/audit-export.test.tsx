import { describe, expect, it } from "vitest";
import { screen, waitFor, within } from "@testing-library/react";
import { makeAccount } from "@/dev/fixtures";
import { fail } from "@/dev/fake-backend";
import { expectNoSeriousA11yViolations } from "@/test/axe";
import { renderApp } from "@/test/render-app";

const ava = makeAccount({
  subject: "ava",
  display_name: "Ava Reyes",
  roles: ["auditor"],
  permissions: ["orgs:read", "audit:read", "audit:export"],
  scope: { all_orgs: true, regions: [], org_ids: [] },
});
const sam = makeAccount({
  subject: "sam",
  display_name: "Sam Okafor",
  roles: ["support_supervisor"],
  permissions: ["orgs:read", "audit:read"],
  scope: { all_orgs: true, regions: [], org_ids: [] },
});

describe("Audit export", () => {
  it("exports the current filters to the chosen file with progress, then names the file", async () => {
    const { user, backend } = renderApp({
      path: "/audit?outcome=denied",
      backend: { account: ava, exportStepMs: 40, exportSavePath: "/home/ava/Desktop/denied.ndjson" },
    });
    await screen.findAllByTestId("row");
    await user.click(screen.getByTestId("audit-export"));
    const dialog = await screen.findByTestId("audit-export-dialog");
    expect(dialog).toHaveTextContent("Every event that matches the current filters (outcome), oldest first.");
    await expectNoSeriousA11yViolations();
    await user.click(within(dialog).getByTestId("export-ndjson"));
    await user.click(within(dialog).getByTestId("audit-export-start"));

    // Progress against the count the server announced; no way to close it but Cancel.
    const progress = await within(dialog).findByTestId("audit-export-progress");
    await waitFor(() => expect(progress).toHaveTextContent(/^\d[\d,]* of 2,000 events · /));
    expect(within(dialog).getByRole("progressbar", { name: "Export progress" })).toBeInTheDocument();
    expect(within(dialog).queryByRole("button", { name: "Close" })).not.toBeInTheDocument();
    await user.keyboard("{Escape}");
    expect(screen.getByTestId("audit-export-dialog")).toBeInTheDocument();

    expect(await screen.findByText("Exported 2,000 events to denied.ndjson")).toBeInTheDocument();
    expect(screen.getByText("/home/ava/Desktop/denied.ndjson")).toBeInTheDocument();
    expect(screen.queryByTestId("audit-export-dialog")).not.toBeInTheDocument();
    const call = backend.callsOf("audit_export")[0]!;
    expect(call.format).toBe("ndjson");
    expect(call.filter).toMatchObject({ outcome: "denied", limit: null, cursor: null });
  });

  it("cancels a running export and says no file was written", async () => {
    const { user, backend } = renderApp({ path: "/audit", backend: { account: ava, exportStepMs: 500 } });
    await screen.findAllByTestId("row");
    await user.click(screen.getByTestId("audit-export"));
    const dialog = await screen.findByTestId("audit-export-dialog");
    expect(dialog).toHaveTextContent("The whole log, oldest first.");
    await user.click(within(dialog).getByTestId("audit-export-start"));
    await waitFor(() => expect(within(dialog).getByTestId("audit-export-progress")).toHaveTextContent("0 of 7,000 events"));
    await user.click(within(dialog).getByTestId("audit-export-cancel"));
    expect(within(dialog).getByTestId("audit-export-cancel")).toHaveTextContent("Cancelling…");
    expect(backend.callsOf("audit_export_cancel")).toHaveLength(1);
    expect(await screen.findByText("Export cancelled", {}, { timeout: 2000 })).toBeInTheDocument();
    expect(screen.getByText("No file was written.")).toBeInTheDocument();
    expect(screen.queryByTestId("audit-export-dialog")).not.toBeInTheDocument();
  });

  it("goes back to the choice when the save dialog is closed, asking nothing of the server", async () => {
    const { user, backend } = renderApp({ path: "/audit", backend: { account: ava, exportSavePath: null } });
    await screen.findAllByTestId("row");
    await user.click(screen.getByTestId("audit-export"));
    const dialog = await screen.findByTestId("audit-export-dialog");
    await user.click(within(dialog).getByTestId("audit-export-start"));
    await waitFor(() => expect(within(dialog).getByTestId("audit-export-start")).toHaveTextContent("Export CSV…"));
    expect(within(dialog).queryByTestId("audit-export-error")).not.toBeInTheDocument();
    expect(backend.callsOf("audit_export")).toHaveLength(1);
  });

  it("puts a failed export in words, with the server's own sentence when it gave one, and tries again", async () => {
    let calls = 0;
    const { user } = renderApp({
      path: "/audit",
      backend: {
        account: ava,
        overrides: {
          audit_export: () => {
            calls++;
            return Promise.reject(
              calls === 1
                ? fail("file_write_failed")
                : fail("rate_limited", "Too many audit exports are running; try again in a minute."),
            );
          },
        },
      },
    });
    await screen.findAllByTestId("row");
    await user.click(screen.getByTestId("audit-export"));
    await user.click(await screen.findByTestId("audit-export-start"));
    const error = await screen.findByTestId("audit-export-error");
    expect(error).toHaveTextContent("no file was written. The file could not be written. Choose another folder");
    expect(error).not.toHaveTextContent("file_write_failed");
    await user.click(screen.getByRole("button", { name: /Try again/ }));
    await waitFor(() =>
      expect(screen.getByTestId("audit-export-error")).toHaveTextContent("Too many audit exports are running; try again in a minute."),
    );
  });

  it("is unavailable, with the reason, without audit:export", async () => {
    const { user } = renderApp({ path: "/audit", backend: { account: sam } });
    await screen.findAllByTestId("row");
    const button = screen.getByTestId("audit-export");
    expect(button).toHaveAttribute("aria-disabled", "true");
    expect(button).toHaveAccessibleName("Export (unavailable: Exporting needs the audit:export permission (auditors).)");
    await user.click(button);
    expect(screen.queryByTestId("audit-export-dialog")).not.toBeInTheDocument();
    // Verifying needs only audit:read: a supervisor may know whether the log is intact.
    expect(screen.getByTestId("audit-verify")).toBeEnabled();
  });
});

describe("Verify chain", () => {
  it("shows the server's summary of an intact chain", async () => {
    const { user, backend } = renderApp({ path: "/audit", backend: { account: ava } });
    await screen.findAllByTestId("row");
    await user.click(screen.getByTestId("audit-verify"));
    expect(screen.getByTestId("audit-verify")).toHaveTextContent("Verifying…");
    const result = await screen.findByTestId("audit-verify-result");
    expect(result).toHaveRole("status");
    expect(result).toHaveTextContent(/^Chain intact: 202 events, 14 checkpoints, verified at .+\.$/);
    expect(backend.callsOf("audit_verify")).toHaveLength(1);
    await expectNoSeriousA11yViolations();
    await user.click(screen.getByRole("button", { name: "Dismiss the verification result" }));
    expect(screen.queryByTestId("audit-verify-result")).not.toBeInTheDocument();
  });

  it("names the first bad event of a broken chain", async () => {
    const { user } = renderApp({ path: "/audit", backend: { account: ava, auditChainBrokenAt: 57 } });
    await screen.findAllByTestId("row");
    await user.click(screen.getByTestId("audit-verify"));
    const result = await screen.findByTestId("audit-verify-result");
    expect(result).toHaveRole("alert");
    expect(result).toHaveTextContent("Chain broken at event 57: content does not match its hash.");
    expect(result).toHaveTextContent("56 events before it verified; 13 of 14 signed checkpoints valid.");
  });

  it("puts a verification that could not run in words", async () => {
    const { user } = renderApp({
      path: "/audit",
      backend: { account: ava, overrides: { audit_verify: () => Promise.reject(fail("offline")) } },
    });
    await screen.findAllByTestId("row");
    await user.click(screen.getByTestId("audit-verify"));
    const result = await screen.findByTestId("audit-verify-result");
    expect(result).toHaveRole("alert");
    expect(result).toHaveTextContent("The chain was not verified.You're offline.");
    expect(screen.getByTestId("audit-verify")).toHaveTextContent("Verify chain");
  });
});
