import { describe, expect, it } from "vitest";
import { screen, waitFor, within } from "@testing-library/react";
import { fail, type FakeBackendOptions } from "@/dev/fake-backend";
import { CONTRACTOR_PROVIDER, PROVIDERS, makeAccount, makeServer } from "@/dev/fixtures";
import { ERROR_WORDS } from "@/lib/errors";
import { expectNoSeriousA11yViolations } from "@/test/axe";
import { renderApp } from "@/test/render-app";

/** The security admin (the demo's sid), at a server with two identity providers. */
const sid: FakeBackendOptions = {
  account: makeAccount({
    subject: "sid",
    display_name: "Sid Patel",
    email: "sid@staff.example",
    roles: ["security_admin"],
    permissions: ["staff:read", "staff:manage", "audit:read"],
    scope: { all_orgs: true, regions: [], org_ids: [] },
  }),
  server: makeServer({ providers: [...PROVIDERS, CONTRACTOR_PROVIDER] }),
};

async function openDialog(backend: FakeBackendOptions = sid) {
  const app = renderApp({ path: "/staff", backend });
  await screen.findAllByTestId("row");
  await app.user.click(screen.getByTestId("add-staff"));
  const dialog = await screen.findByTestId("add-staff-dialog");
  return { ...app, dialog };
}

describe("Add staff member", () => {
  it("is offered to security admins only", async () => {
    const reader = renderApp({
      path: "/staff",
      backend: { ...sid, permissions: ["staff:read"] },
    });
    await screen.findAllByTestId("row");
    expect(screen.queryByTestId("add-staff")).not.toBeInTheDocument();
    reader.unmount();
  });

  it("checks every field in words before sending anything", async () => {
    const { user, dialog, backend } = await openDialog();
    expect(screen.getByRole("dialog", { name: "Add staff member" })).toBe(dialog);
    // The first provider is chosen; its issuer is shown; the subject is explained and focused.
    expect(within(dialog).getByTestId("add-staff-provider")).toHaveTextContent(PROVIDERS[0]!.name);
    expect(within(dialog).getByTestId("add-staff-issuer")).toHaveTextContent(PROVIDERS[0]!.issuer);
    expect(within(dialog).getByTestId("add-staff-subject")).toHaveFocus();
    expect(dialog).toHaveTextContent("not their e-mail address or username");
    await expectNoSeriousA11yViolations();

    await user.click(within(dialog).getByTestId("add-staff-submit"));
    expect(await within(dialog).findByText("Enter their user id at this provider.")).toBeInTheDocument();
    expect(within(dialog).getByText("Enter their name, as colleagues will see it.")).toBeInTheDocument();
    expect(within(dialog).getByText("Enter their work e-mail address.")).toBeInTheDocument();
    expect(within(dialog).getByText("Choose at least one role: an account without a role can do nothing.")).toBeInTheDocument();
    expect(within(dialog).getByTestId("add-staff-subject")).toHaveAttribute("aria-invalid", "true");
    await expectNoSeriousA11yViolations();

    // Oneself, a malformed address and a limit that is not an amount.
    await user.type(within(dialog).getByTestId("add-staff-subject"), "sid");
    await user.type(within(dialog).getByTestId("add-staff-name"), "Sid Again");
    await user.type(within(dialog).getByTestId("add-staff-email"), "sid at staff.example");
    await user.click(within(dialog).getByTestId("role-auditor"));
    await user.type(within(dialog).getByTestId("limit-refund"), "12.345");
    await user.click(within(dialog).getByTestId("add-staff-submit"));
    expect(await within(dialog).findByText("An e-mail address like name@example.com.")).toBeInTheDocument();
    expect(within(dialog).getByText("An amount in EUR, or empty for no limit.")).toBeInTheDocument();
    expect(within(dialog).queryByText(/Choose at least one role/)).not.toBeInTheDocument();
    await user.clear(within(dialog).getByTestId("add-staff-email"));
    await user.type(within(dialog).getByTestId("add-staff-email"), "sid@staff.example");
    await user.clear(within(dialog).getByTestId("limit-refund"));
    await user.click(within(dialog).getByTestId("add-staff-submit"));
    expect(await within(dialog).findByText(/That is you\. Nobody creates their own staff account/)).toBeInTheDocument();
    expect(backend.callsOf("staff_create")).toHaveLength(0);
  });

  it("adds the member at the chosen provider with roles, scope and limits; a toast, the list and their sheet follow", async () => {
    const { user, dialog, backend } = await openDialog();
    expect(screen.getByTestId("count-all")).toHaveTextContent("9");
    await user.click(within(dialog).getByTestId("add-staff-provider"));
    const listbox = await screen.findByRole("listbox");
    // Each provider by name, its issuer as secondary text.
    expect(within(listbox).getAllByRole("option")).toHaveLength(2);
    expect(within(listbox).getByRole("option", { name: /Contractors \(Glewlwyd\)/ })).toHaveTextContent(CONTRACTOR_PROVIDER.issuer);
    await user.click(within(listbox).getByRole("option", { name: /Contractors \(Glewlwyd\)/ }));
    expect(within(dialog).getByTestId("add-staff-issuer")).toHaveTextContent(CONTRACTOR_PROVIDER.issuer);

    await user.type(within(dialog).getByTestId("add-staff-subject"), "  8d0f3a52-priya ");
    await user.type(within(dialog).getByTestId("add-staff-name"), "Priya Shah");
    await user.type(within(dialog).getByTestId("add-staff-email"), "priya.shah@contractor.example");
    await user.click(within(dialog).getByTestId("role-finance_approver"));
    await user.click(within(dialog).getByTestId("scope-EU"));
    await user.type(within(dialog).getByTestId("limit-refund"), "2500");
    // Enter sends the form.
    await user.type(within(dialog).getByTestId("add-staff-email"), "{Enter}");

    await waitFor(() => expect(backend.callsOf("staff_create")).toHaveLength(1));
    expect(Object.values(backend.callsOf("staff_create")[0]!)[0]).toEqual({
      issuer: CONTRACTOR_PROVIDER.issuer,
      subject: "8d0f3a52-priya",
      display_name: "Priya Shah",
      email: "priya.shah@contractor.example",
      roles: ["finance_approver"],
      scope: { all_orgs: false, regions: ["EU"], org_ids: [] },
      approval_limits: {
        refund: { amount_minor: 250_000, currency: "EUR" },
        credit_note: null,
        vendor_bank_change: null,
        payout_release: null,
        data_export: null,
      },
    });
    expect(await screen.findByText("Added: Priya Shah")).toBeInTheDocument();
    expect(screen.getByText("They can sign in with Contractors (Glewlwyd) now, with the access you gave.")).toBeInTheDocument();
    await waitFor(() => expect(screen.queryByTestId("add-staff-dialog")).not.toBeInTheDocument());
    const sheet = await screen.findByTestId("staff-detail");
    expect(within(sheet).getByRole("heading", { name: "Priya Shah" })).toBeInTheDocument();
    expect(within(sheet).getByTestId("staff-subject")).toHaveTextContent("8d0f3a52-priya");
    expect(within(sheet).getByTestId("role-finance_approver")).toBeChecked();
    expect(within(sheet).getByTestId("limit-refund")).toHaveValue("2500.00");
    await waitFor(() => expect(screen.getByTestId("count-all")).toHaveTextContent("10"));
    expect(screen.getAllByTestId("row").some((r) => r.textContent?.includes("Priya Shah"))).toBe(true);
  });

  it("says an existing account in words next to the subject, and keeps what was typed", async () => {
    const { user, dialog, backend } = await openDialog();
    await user.type(within(dialog).getByTestId("add-staff-subject"), "bob");
    await user.type(within(dialog).getByTestId("add-staff-name"), "Bob Stone");
    await user.type(within(dialog).getByTestId("add-staff-email"), "bob@staff.example");
    await user.click(within(dialog).getByTestId("role-support_agent"));
    await user.click(within(dialog).getByTestId("add-staff-submit"));
    expect(await within(dialog).findByText(ERROR_WORDS.staff_exists)).toBeInTheDocument();
    expect(backend.callsOf("staff_create")).toHaveLength(1);
    expect(within(dialog).getByTestId("add-staff-subject")).toHaveValue("bob");
    expect(within(dialog).getByTestId("add-staff-subject")).toHaveAttribute("aria-invalid", "true");
    expect(document.body).not.toHaveTextContent("staff_exists");
    await expectNoSeriousA11yViolations();
    // Esc closes the dialog; nothing was added.
    await user.keyboard("{Escape}");
    await waitFor(() => expect(screen.queryByTestId("add-staff-dialog")).not.toBeInTheDocument());
    expect(screen.getByTestId("count-all")).toHaveTextContent("9");
  });

  it("puts a field the server refused next to that field, and any other refusal in the dialog, in words", async () => {
    let answer = fail("invalid_request", "The field `email` is invalid: an e-mail address like name@example.com.");
    const { user, dialog } = await openDialog({
      ...sid,
      overrides: {
        staff_create: () => {
          throw answer;
        },
      },
    });
    await user.type(within(dialog).getByTestId("add-staff-subject"), "new-person");
    await user.type(within(dialog).getByTestId("add-staff-name"), "New Person");
    await user.type(within(dialog).getByTestId("add-staff-email"), "new@person");
    await user.click(within(dialog).getByTestId("role-auditor"));
    await user.click(within(dialog).getByTestId("add-staff-submit"));
    expect(
      await within(dialog).findByText("The server does not accept this address. Give one like name@example.com."),
    ).toBeInTheDocument();
    expect(within(dialog).getByTestId("add-staff-email")).toHaveAttribute("aria-invalid", "true");
    expect(within(dialog).queryByTestId("add-staff-refusal")).not.toBeInTheDocument();

    answer = fail("forbidden", "This needs the permission staff:manage.");
    await user.click(within(dialog).getByTestId("add-staff-submit"));
    expect(await within(dialog).findByTestId("add-staff-refusal")).toHaveTextContent("This needs the permission staff:manage.");

    answer = fail("self_change_forbidden", "Nobody creates a staff account for their own identity.");
    await user.click(within(dialog).getByTestId("add-staff-submit"));
    await waitFor(() =>
      expect(within(dialog).getByTestId("add-staff-refusal")).toHaveTextContent("Nobody creates a staff account for their own identity."),
    );
    expect(document.body).not.toHaveTextContent("self_change_forbidden");
    await expectNoSeriousA11yViolations();
  });
});
