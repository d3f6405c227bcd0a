/**
 * Browser-only preview (`npm run build:preview`): answers the IPC with the fake backend so the
 * screens can be looked at without the Rust side. main.tsx imports this only when
 * import.meta.env.MODE === "preview"; the production build does not contain it.
 *
 * The URL's query string picks a scenario, e.g. `?scenario=server#/server`:
 * server | update | sign-in | access-pending | first-sync | offline | memory | empty | approver | admin | pending |
 * agent | supervisor | auditor | (default: signed in).
 */
import { mockIPC } from "@tauri-apps/api/mocks";
import { createFakeBackend, fail, type FakeBackendOptions } from "./fake-backend";
import { CONTRACTOR_PROVIDER, PROVIDERS, makeAccount, makeDataset, makePendingStaff, makeServer } from "./fixtures";
import { makeNotifications } from "./fake-notifications";

export function installPreviewBackend() {
  const params = new URLSearchParams(window.location.search);
  const scenario = params.get("scenario") ?? "app";
  const theme = params.get("theme");
  const big = params.get("big") !== "0";
  const data = makeDataset({ extraOrgs: 240, users: 14, invoices: 60, vendors: 9, payments: 24, bigInvoices: big ? 100_000 : 0 });
  const account = makeAccount({
    display_name: "Sam Okafor",
    subject: "sam",
    email: "sam@staff.example",
    roles: ["support_supervisor", "finance_clerk"],
    permissions: ["orgs:read", "users:read", "invoices:read", "vendors:read", "payments:read", "pii:reveal", "finance:reveal"],
    scope: { all_orgs: true, regions: [], org_ids: [] },
  });
  const options: FakeBackendOptions = {
    data,
    account,
    theme: theme === "dark" || theme === "light" ? theme : "system",
    latencyMs: 30,
    // The bell has something to show (the centre lists them in words).
    notifications: makeNotifications(),
    lastSyncedAt: new Date(Date.now() - 4 * 60_000).toISOString(),
  };
  // `?newer=1`: "Check for updates" finds a version (Settings, the update screen).
  if (params.get("newer")) {
    options.update = {
      version: "0.2.0",
      current_version: "0.1.0",
      notes: "Customer search answers while you type on large caches.\nThe audit export names its file after the filter.\nFixes: the support banner's countdown no longer skips a second.",
      published_at: new Date(Date.now() - 2 * 3600_000).toISOString(),
    };
    options.updateStepMs = 400;
  }
  switch (scenario) {
    case "server":
      options.server = null;
      options.account = null;
      options.serverError = params.get("error") ? fail("network") : null;
      break;
    case "update":
      options.updateRequired = true;
      options.account = null;
      break;
    case "sign-in":
      options.account = null;
      options.signInMs = null;
      if (params.get("error")) options.resumeError = fail("refresh_rejected");
      break;
    case "access-pending":
      // A first sign-in at a provider that provisions accounts: the server answers
      // access_pending (the account waits for a security admin). Two providers to choose from.
      options.account = null;
      options.server = makeServer({ providers: [...PROVIDERS, CONTRACTOR_PROVIDER] });
      options.signInRefusal = fail("access_pending");
      break;
    case "approver":
      // A finance approver with a 10,000.00 EUR limit (the demo's andy): `?scenario=approver#/approvals`.
      options.account = makeAccount({
        display_name: "Andy Novak",
        subject: "andy",
        email: "andy@staff.example",
        roles: ["finance_approver"],
        permissions: ["orgs:read", "invoices:read", "vendors:read", "payments:read", "finance:reveal", "approvals:request", "approvals:decide"],
        scope: { all_orgs: true, regions: [], org_ids: [] },
      });
      break;
    case "agent":
      // A support agent (the demo's alice) able to start sessions: `?scenario=agent`, then a user's page.
      options.account = makeAccount({
        permissions: ["orgs:read", "users:read", "invoices:read", "vendors:read", "payments:read", "pii:reveal", "impersonation:start"],
      });
      break;
    case "supervisor":
      // The support supervisor (the demo's sam): `?scenario=supervisor#/sessions`.
      options.account = { ...account, permissions: [...account.permissions, "impersonation:approve", "impersonation:review"] };
      break;
    case "auditor":
      // The auditor (the demo's ava): `?scenario=auditor#/audit`.
      options.account = { ...account, display_name: "Ava Reyes", subject: "ava", roles: ["auditor"], permissions: ["orgs:read", "audit:read", "audit:export"] };
      break;
    case "admin":
    case "pending":
      // The security admin (the demo's sid): `?scenario=admin#/staff`; with two accounts a first
      // sign-in created, waiting for access: `?scenario=pending#/staff?view=pending`.
      options.server = makeServer({ providers: [...PROVIDERS, CONTRACTOR_PROVIDER] });
      if (scenario === "pending") options.pendingStaff = makePendingStaff();
      options.account = makeAccount({
        display_name: "Sid Patel",
        subject: "sid",
        email: "sid@staff.example",
        roles: ["security_admin"],
        permissions: ["staff:read", "staff:manage", "audit:read"],
        scope: { all_orgs: true, regions: [], org_ids: [] },
      });
      break;
    case "first-sync":
      options.lastSyncedAt = null;
      options.syncStepMs = 1500;
      break;
    case "offline":
      options.online = false;
      options.lastSyncedAt = new Date(Date.now() - 42 * 60_000).toISOString();
      break;
    case "memory":
      options.cacheMode = "memory_only";
      options.cacheReason = "No system keyring was found (Secret Service is not running).";
      break;
    case "empty":
      options.recent = [];
      break;
    case "no-access":
      options.account = { ...account, permissions: [] };
      break;
  }
  const backend = createFakeBackend(options);
  mockIPC((cmd, args) => backend.handle(cmd, args as Record<string, unknown>));
}
