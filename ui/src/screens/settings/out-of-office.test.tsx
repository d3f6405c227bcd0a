import { describe, expect, it } from "vitest";
import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import type { Delegation, Permission } from "@/bindings/types";
import { fail } from "@/dev/fake-backend";
import { ME_STAFF_ID } from "@/dev/fixtures";
import { errorWords } from "@/lib/errors";
import { expectNoSeriousA11yViolations } from "@/test/axe";
import { renderApp } from "@/test/render-app";

const approver: Permission[] = ["orgs:read", "invoices:read", "approvals:request", "approvals:decide"];
const DAY = 86_400_000;
const day = (offset: number) => {
  const d = new Date(Date.now() + offset * DAY);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
};
const toMe: Delegation = {
  id: "deleg-cora",
  delegator_id: "staff-cora",
  delegator_name: "Cora Lindqvist",
  delegate_id: ME_STAFF_ID,
  delegate_name: "Alice Martin",
  starts_at: new Date(Date.now() - DAY).toISOString(),
  ends_at: new Date(Date.now() + 2 * DAY).toISOString(),
  revoked: false,
  mine: false,
};

async function pickDelegate(user: ReturnType<typeof renderApp>["user"], name: string) {
  await waitFor(() => expect(screen.getByTestId("delegate-select")).toBeEnabled());
  screen.getByTestId("delegate-select").focus();
  await user.keyboard("{Enter}");
  await user.click(await screen.findByRole("option", { name }));
}

const setDate = (testId: string, value: string) => fireEvent.change(screen.getByTestId(testId), { target: { value } });

describe("Out of office", () => {
  it("is only for approvers", async () => {
    renderApp({ path: "/settings" });
    await screen.findByTestId("settings");
    await screen.findAllByText("Alice Martin");
    expect(screen.queryByTestId("out-of-office")).not.toBeInTheDocument();
  });

  it("checks the form before asking the server", async () => {
    const { user, backend } = renderApp({ path: "/settings", backend: { permissions: approver } });
    const card = await screen.findByTestId("out-of-office");
    await user.click(within(card).getByRole("button", { name: "Delegate" }));
    expect(await within(card).findByText("Pick who decides for you.")).toBeInTheDocument();

    await pickDelegate(user, "Andy Novak");
    setDate("delegate-from", day(5));
    setDate("delegate-to", day(2));
    await user.click(within(card).getByRole("button", { name: "Delegate" }));
    expect(await within(card).findByText("The last day is before the first.")).toBeInTheDocument();

    setDate("delegate-to", day(40));
    expect(await within(card).findByText("At most 31 days.")).toBeInTheDocument();
    expect(backend.callsOf("delegation_create")).toEqual([]);
  });

  it("delegates, lists both sides, and revokes only after confirming", async () => {
    const { user, backend } = renderApp({
      path: "/settings",
      backend: { permissions: approver, delegations: [toMe] },
    });
    const card = await screen.findByTestId("out-of-office");
    expect(await within(card).findByTestId("delegations-to-me")).toHaveTextContent(/Cora Lindqvist.*Active/);
    expect(within(card).getByTestId("delegations-given-empty")).toBeInTheDocument();

    await pickDelegate(user, "Andy Novak");
    setDate("delegate-to", day(3));
    await user.click(within(card).getByRole("button", { name: "Delegate" }));
    expect(await screen.findByText(/Andy Novak decides for you from/)).toBeInTheDocument();
    const given = await within(card).findByTestId("delegations-given");
    expect(given).toHaveTextContent(/Andy Novak.*Active/);
    const [sent] = backend.callsOf("delegation_create");
    const sentId = backend.notifications.delegations.find((d) => d.mine)!.id;
    expect(sent!.request.delegate_id).toBe("staff-andy");
    // Through the whole last day: four local days from today's midnight.
    expect(Date.parse(sent!.request.ends_at) - Date.parse(sent!.request.starts_at)).toBeGreaterThanOrEqual(4 * DAY - 3_600_000);
    await expectNoSeriousA11yViolations();

    await user.click(within(given).getByRole("button", { name: "Revoke the delegation to Andy Novak" }));
    let confirm = await screen.findByRole("alertdialog");
    expect(confirm).toHaveTextContent("Revoke the delegation to Andy Novak?");
    await user.click(within(confirm).getByRole("button", { name: "Keep it" }));
    expect(backend.callsOf("delegation_revoke")).toEqual([]);

    await user.click(within(given).getByRole("button", { name: "Revoke the delegation to Andy Novak" }));
    confirm = await screen.findByRole("alertdialog");
    await user.click(within(confirm).getByRole("button", { name: "Revoke delegation to Andy Novak" }));
    await waitFor(() => expect(within(card).getByTestId("delegations-given")).toHaveTextContent(/Andy Novak.*Revoked/));
    expect(backend.callsOf("delegation_revoke")).toEqual([{ delegation_id: sentId }]);
  });

  it("says a refusal and a failed read in words", async () => {
    const { user } = renderApp({
      path: "/settings",
      backend: {
        permissions: approver,
        overrides: {
          delegation_create: () => {
            throw fail("forbidden", "The delegate is not an approver.");
          },
        },
      },
    });
    const card = await screen.findByTestId("out-of-office");
    await pickDelegate(user, "Cora Lindqvist");
    await user.click(within(card).getByRole("button", { name: "Delegate" }));
    expect(await screen.findByText("The delegate is not an approver.")).toBeInTheDocument();
    expect(document.body).not.toHaveTextContent("forbidden:");
  });

  it("has loading, empty and error states for the list", async () => {
    const failing = renderApp({
      path: "/settings",
      backend: {
        permissions: approver,
        overrides: {
          delegations_list: () => {
            throw fail("offline");
          },
        },
      },
    });
    const card = await screen.findByTestId("out-of-office");
    const error = await within(card).findByTestId("error-state");
    expect(error).toHaveTextContent("Delegations could not be loaded");
    expect(error).toHaveTextContent(errorWords(fail("offline")));
    failing.unmount();

    renderApp({ path: "/settings", backend: { permissions: approver } });
    const empty = await screen.findByTestId("out-of-office");
    expect(await within(empty).findByTestId("delegations-to-me-empty")).toHaveTextContent(
      "Nobody delegates their approvals to you.",
    );
  });
});
