/**
 * An in-memory stand-in for the Rust commands, answering `invoke` through the official
 * `mockIPC` of @tauri-apps/api/mocks. Tests and the preview build use it; the production
 * build never imports it.
 */
import type { Channel } from "@tauri-apps/api/core";
import type {
  AmendApproval,
  AuditEvent,
  AuditFilter,
  AuditVerification,
  ExportFormat,
  ExportProgress,
  ExportReport,
  ImpersonationFilter,
  ImpersonationSession,
  Review,
  CreateStaff,
  StaffFilter,
  StaffMember,
  StaffUpdate,
  CreateApproval,
  CreateImpersonation,
  Grant,
  SupportView,
  UpdateUser,
  AccountView,
  Approval,
  ApprovalFilter,
  DecideApproval,
  AppState,
  CacheMode,
  Code,
  ErrorPayload,
  OrgSummary,
  Permission,
  SearchHit,
  ServerInfo,
  SettingsView,
  SyncProgress,
  SyncReport,
  SyncStatus,
  Theme,
  UpdateProgress,
  UpdateView,
} from "@/bindings/types";
import { formatMoney } from "@/lib/format";
import {
  ME_STAFF_ID,
  makeAccount,
  makeApprovals,
  makeDataset,
  makeServer,
  makeSessions,
  makeStaff,
  revealedValueFor,
  type Dataset,
  type PendingAccount,
} from "./fixtures";
import { createFakeNotifications, type NotificationsOptions } from "./fake-notifications";

export type CommandName =
  | "app_start"
  | "server_set"
  | "sign_in"
  | "sign_in_cancel"
  | "sign_out"
  | "sync_run"
  | "sync_status"
  | "search"
  | "orgs_list"
  | "orgs_recent"
  | "org_get"
  | "org_users"
  | "org_invoices"
  | "org_vendors"
  | "org_payments"
  | "reveal"
  | "approvals_list"
  | "approval_get"
  | "approval_decide"
  | "approval_cancel"
  | "approval_request"
  | "approval_amend"
  | "audit_search"
  | "audit_export"
  | "audit_export_cancel"
  | "audit_verify"
  | "notifications_watch"
  | "notifications_list"
  | "delegations_list"
  | "delegates_list"
  | "delegation_create"
  | "delegation_revoke"
  | "sessions_list"
  | "session_get"
  | "session_answer"
  | "session_review"
  | "support_access"
  | "support_start"
  | "support_status"
  | "support_end"
  | "customer_users"
  | "customer_invoices"
  | "customer_update_user"
  | "customer_resend_invoice"
  | "app_quit"
  | "staff_list"
  | "staff_create"
  | "staff_update"
  | "staff_deactivate"
  | "staff_reactivate"
  | "settings_get"
  | "theme_set"
  | "wipe_local_data"
  | "update_check"
  | "update_install";

type Args = Record<string, any>;
export type Handler = (args: Args) => unknown;

export type FakeBackendOptions = NotificationsOptions & {
  server?: ServerInfo | null;
  serverError?: ErrorPayload | null;
  updateRequired?: boolean;
  clientVersion?: string;
  account?: AccountView | null;
  /** Replaces the account's permissions. */
  permissions?: Permission[];
  resumeError?: ErrorPayload | null;
  syncIntervalSecs?: number;
  /** null: the cache has never synced (first sync runs). Default: a minute ago. */
  lastSyncedAt?: string | null;
  /** false: sync_run rejects with `offline`. */
  online?: boolean;
  theme?: Theme;
  cacheMode?: CacheMode;
  cacheReason?: string | null;
  data?: Dataset;
  /** The approvals the server would show (default: `makeApprovals(data)`). */
  approvals?: Approval[];
  /** Support sessions a supervisor sees (default: makeSessions). */
  sessions?: ImpersonationSession[];
  /** The support session the app is in at start (default: none). */
  support?: SupportView | null;
  /** Grants of support access in force, per org id (consent mode). */
  grants?: Record<string, Grant[]>;
  /** The server's clock minus this machine's, as support views carry it. */
  clockOffsetMs?: number;
  /** The staff accounts a security admin sees (default: the demo's). */
  staff?: StaffMember[];
  /** Accounts a first sign-in created, waiting for access (added to `staff`; default: none). */
  pendingStaff?: PendingAccount[];
  recent?: string[];
  /** Per-command delay, to see loading states. */
  latencyMs?: number;
  /** Delay between sync progress messages. */
  syncStepMs?: number;
  /** Sign-in completes after this many ms (null: waits until cancelled). */
  signInMs?: number | null;
  /** The server refuses the account when the sign-in completes (e.g. `access_pending`). */
  signInRefusal?: ErrorPayload;
  /** Delay between audit export progress messages (10 steps). */
  exportStepMs?: number;
  /** The native save dialog: `null` = the user closes it; default: a file in Downloads. */
  exportSavePath?: string | null;
  /** `audit_verify` finds the chain edited at this seq. */
  auditChainBrokenAt?: number;
  /** What `update_check` finds (default: nothing newer). */
  update?: UpdateView | null;
  /** `update_check` / `update_install` refuse with this. */
  updateCheckError?: ErrorPayload;
  updateInstallError?: ErrorPayload;
  /** Delay between update download progress messages (5 steps). */
  updateStepMs?: number;
  /** Replace any command's behaviour. */
  overrides?: Partial<Record<CommandName, Handler>>;
};

/** A command's failure; with `detail`, as the server's refusal carries its own sentence. */
export function fail(code: Code, detail?: string): ErrorPayload {
  return detail === undefined ? { code, message: code } : { code, message: `${code}: ${detail}`, detail };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export type FakeBackend = ReturnType<typeof createFakeBackend>;

export function createFakeBackend(options: FakeBackendOptions = {}) {
  const data = options.data ?? makeDataset();
  const approvals: Approval[] = (options.approvals ?? makeApprovals(data)).map((a) => ({ ...a }));
  let foundUpdate: UpdateView | null = null;
  const requestsByKey = new Map<string, { body: string; answer: Approval }>();
  const sessions: ImpersonationSession[] = (options.sessions ?? makeSessions(data)).map((s) => ({ ...s }));
  /** The list shows no timeline: only opening a session does (and the server audits that). */
  const listed = ({ timeline: _t, ...s }: ImpersonationSession): ImpersonationSession => s;
  const session = (id: string) => {
    if (!state.online) throw fail("offline");
    const i = sessions.findIndex((s) => s.id === id);
    if (i < 0) throw fail("not_found");
    return i;
  };
  // The log: every session's timeline, then sid's staff changes; newest first, as the server pages.
  const audit: AuditEvent[] = [
    ...sessions.flatMap((s) => s.timeline ?? []),
    ...[0, 1, 2].map(
      (i): AuditEvent => ({
        ...(sessions.find((s) => s.timeline?.length)?.timeline?.[0] ?? ({} as AuditEvent)),
        seq: 200 + i,
        id: `evt-staff-${i}`,
        at: new Date(Date.now() - (10 - i) * 60_000).toISOString(),
        actor: { issuer: "http://127.0.0.1:9000", subject: "staff-sid", kind: "staff" },
        impersonation_id: null,
        org_id: null,
        action: i === 2 ? "staff.deactivate" : "staff.update",
        target_type: "staff",
        target_id: "staff-bob",
        outcome: i === 1 ? "denied" : "success",
        code: i === 1 ? "self_change_forbidden" : null,
        reason: i === 2 ? "INC-2291: laptop reported stolen" : null,
        request_id: `req-staff-${i}`,
        details: {},
      }),
    ),
  ].sort((a, b) => b.seq - a.seq);
  const auditMatching = (f: AuditFilter) =>
    audit.filter(
      (e) =>
        (!f.actor_subject || e.actor.subject === f.actor_subject) &&
        (!f.action || e.action === f.action) &&
        (!f.outcome || e.outcome === f.outcome) &&
        (!f.impersonation_id || e.impersonation_id === f.impersonation_id) &&
        (!f.org_id || e.org_id === f.org_id) &&
        (!f.request_id || e.request_id === f.request_id) &&
        (!f.target_type || e.target_type === f.target_type) &&
        (!f.target_id || e.target_id === f.target_id) &&
        (!f.from || e.at >= f.from) &&
        (!f.to || e.at <= f.to),
    );
  /** The running export, as Desktop holds its cancel. */
  let exporting: { cancelled: boolean } | null = null;
  const needs = (p: Permission) => {
    if (!state.online) throw fail("offline");
    if (!state.account?.permissions.includes(p)) throw fail("forbidden", `This needs the permission ${p}.`);
  };
  const staff: StaffMember[] = [...(options.staff ?? makeStaff()), ...(options.pendingStaff ?? []).map((p) => p.member)].map(
    (m) => ({ ...m }),
  );
  /** Waiting for access (the server's access_pending; StaffMember does not carry it). */
  const pendingIds = new Set((options.pendingStaff ?? []).map((p) => p.member.id));
  // Their first sign-in created them: staff.provisioned, actor the new account (as the server audits it).
  (options.pendingStaff ?? []).forEach(({ member: m, signedInAt }, i) =>
    audit.push({
      seq: 150 + i,
      id: `evt-provisioned-${i}`,
      at: signedInAt,
      actor: { issuer: m.issuer, subject: m.subject, kind: "staff" },
      on_behalf_of: null,
      impersonation_id: null,
      org_id: null,
      action: "staff.provisioned",
      target_type: "staff",
      target_id: m.id,
      outcome: "success",
      code: null,
      reason: null,
      request_id: `req-provisioned-${i}`,
      ip: "127.0.0.1",
      user_agent: "countersign-desktop/0.1.0",
      details: { roles: [], jit_provisioning: true },
      prev_hash: "",
      hash: "",
    }),
  );
  audit.sort((a, b) => b.seq - a.seq);
  const PRIVILEGED = ["security_admin", "finance_controller", "finance_approver", "support_supervisor", "auditor"];
  /** As the server: nobody changes their own access. */
  const staffTarget = (id: string) => {
    if (!state.online) throw fail("offline");
    const i = staff.findIndex((m) => m.id === id);
    if (i < 0) throw fail("not_found");
    const m = staff[i]!;
    if (state.account && m.issuer === state.account.issuer && m.subject === state.account.subject) {
      throw fail("self_change_forbidden", "Nobody changes their own roles, scope or limits.");
    }
    return i;
  };
  const account0 =
    options.account === undefined ? makeAccount() : options.account;
  const state = {
    server: options.server === undefined ? makeServer() : options.server,
    serverError: options.serverError ?? null,
    updateRequired: options.updateRequired ?? false,
    account:
      account0 && options.permissions ? { ...account0, permissions: options.permissions } : account0,
    resumeError: options.resumeError ?? null,
    lastSyncedAt:
      options.lastSyncedAt === undefined
        ? new Date(Date.now() - 60_000).toISOString()
        : options.lastSyncedAt,
    online: options.online ?? true,
    theme: options.theme ?? ("system" as Theme),
    recent: options.recent ?? data.orgs.slice(0, 3).map((o) => o.id),
    records: 0,
    nextSyncPurges: false,
    support: options.support ?? (null as SupportView | null),
    quit: false,
    /** The app installed an update and restarted (update_install succeeded). */
    restarted: false,
  };
  /** The active session's view, or `no_support_session` (as Desktop::inside). */
  const inside = () => {
    if (!state.online) throw fail("offline");
    const s = state.support;
    if (!s || s.session.status !== "active") throw fail("no_support_session");
    if (Date.parse(s.session.expires_at!) <= Date.now()) {
      state.support = null;
      throw fail("impersonation_expired", "The impersonation session has expired");
    }
    return s;
  };
  const writeScope = () => {
    const s = inside();
    if (s.session.scope !== "write") throw fail("scope_exceeded", "This support session is read-only.");
    return s;
  };
  const total = () =>
    data.orgs.length + data.users.length + data.invoices.length + data.vendors.length + data.payments.length;
  state.records = state.lastSyncedAt ? total() : 0;

  let pendingSignIn: { reject: (e: ErrorPayload) => void } | null = null;
  const calls: { cmd: string; args: Args }[] = [];

  const appState = (): AppState => ({
    client_version: options.clientVersion ?? "0.1.0",
    server: state.server,
    server_error: state.serverError,
    update_required: state.updateRequired,
    account: state.account,
    resume_error: state.resumeError,
    sync_interval_secs: options.syncIntervalSecs ?? 60,
  });

  const orgById = (id: string) => {
    const org = data.orgs.find((o) => o.id === id);
    if (!org) throw fail("not_found_locally");
    return org;
  };

  const notify = createFakeNotifications(options, { online: () => state.online, fail, send });
  const handlers: Record<CommandName, Handler> = {
    ...notify.handlers,
    app_start: () => appState(),
    server_set: ({ url }) => {
      if (/unreachable|offline/.test(url)) throw fail("network", `could not connect to ${url}`);
      if (/not-countersign|example\.org/.test(url)) throw fail("not_countersign");
      state.server = makeServer({ url, source: "entered" });
      state.serverError = null;
      return appState();
    },
    sign_in: ({ issuer }) => {
      if (!state.server?.providers.some((p) => p.issuer === issuer)) throw fail("provider_error");
      return new Promise((resolve, reject) => {
        pendingSignIn = { reject };
        const ms = options.signInMs === undefined ? 1200 : options.signInMs;
        if (ms !== null) {
          setTimeout(() => {
            if (!pendingSignIn) return;
            pendingSignIn = null;
            if (options.signInRefusal) {
              reject(options.signInRefusal);
              return;
            }
            state.account = makeAccount();
            state.resumeError = null;
            resolve(state.account);
          }, ms);
        }
      });
    },
    sign_in_cancel: () => {
      pendingSignIn?.reject(fail("sign_in_cancelled"));
      pendingSignIn = null;
      return null;
    },
    sign_out: () => {
      notify.stop();
      state.account = null;
      state.lastSyncedAt = null;
      state.records = 0;
      return null;
    },
    sync_run: async ({ on_progress }) => {
      if (!state.account) throw fail("not_signed_in");
      if (!state.online) throw fail("offline");
      const channel = on_progress as Channel<SyncProgress>;
      const first = !state.lastSyncedAt;
      const estimated = first ? total() : null;
      const steps = first ? 8 : 1;
      for (let i = 1; i <= steps; i++) {
        await sleep(options.syncStepMs ?? (first ? 250 : 150));
        const done = Math.round(((first ? total() : 3) * i) / steps);
        send(channel, i - 1, { done, estimated_total: estimated });
      }
      const purged = state.nextSyncPurges;
      state.nextSyncPurges = false;
      state.lastSyncedAt = new Date().toISOString();
      state.records = total();
      const report: SyncReport = {
        applied: first ? total() : 3,
        pages: steps,
        purged,
        records: state.records,
        synced_at: state.lastSyncedAt,
      };
      return report;
    },
    sync_status: (): SyncStatus => ({
      online: state.online,
      syncing: false,
      records: state.records,
      last_synced_at: state.lastSyncedAt,
      offline_since: state.online ? null : state.lastSyncedAt,
    }),
    search: ({ query, limit }) => {
      const q = String(query).trim().toLowerCase();
      const hits: SearchHit[] = [];
      if (!q) return hits;
      const orgName = (id: string) => data.orgs.find((o) => o.id === id)?.name ?? "";
      const push = (hit: SearchHit) => hits.length < limit && hits.push(hit);
      for (const o of data.orgs)
        if (o.name.toLowerCase().includes(q) || o.slug.includes(q))
          push({ record_type: "org", record_id: o.id, org_id: o.id, org_name: o.name, title: o.name, detail: `${o.slug} · ${o.region}` });
      for (const u of data.users)
        if (u.name.toLowerCase().includes(q))
          push({ record_type: "user", record_id: u.id, org_id: u.org_id, org_name: orgName(u.org_id), title: u.name, detail: `${u.role === "org_admin" ? "Org admin" : "Member"} · ${u.email.masked}` });
      for (const v of data.vendors)
        if (v.name.toLowerCase().includes(q))
          push({ record_type: "vendor", record_id: v.id, org_id: v.org_id, org_name: orgName(v.org_id), title: v.name, detail: v.city });
      for (const i of data.invoices) {
        if (hits.length >= limit) break;
        if (i.number.toLowerCase().includes(q))
          push({ record_type: "invoice", record_id: i.id, org_id: i.org_id, org_name: orgName(i.org_id), title: i.number, detail: `${formatMoney(i.amount)} · ${i.status}` });
      }
      for (const p of data.payments)
        if (p.kind.includes(q) || p.id.includes(q))
          push({ record_type: "payment", record_id: p.id, org_id: p.org_id, org_name: orgName(p.org_id), title: `${p.kind === "credit_note" ? "Credit note" : p.kind[0]!.toUpperCase() + p.kind.slice(1)} ${formatMoney(p.amount)}`, detail: p.created_at.slice(0, 10) });
      return hits;
    },
    orgs_list: () => data.orgs,
    orgs_recent: () => state.recent.map(orgById),
    org_get: ({ org_id }): OrgSummary => {
      const org = orgById(org_id);
      state.recent = [org.id, ...state.recent.filter((id) => id !== org.id)].slice(0, 8);
      return {
        org,
        users: data.users.filter((u) => u.org_id === org.id).length,
        invoices: data.invoices.filter((u) => u.org_id === org.id).length,
        vendors: data.vendors.filter((u) => u.org_id === org.id).length,
        payments: data.payments.filter((u) => u.org_id === org.id).length,
      };
    },
    org_users: ({ org_id }) => data.users.filter((u) => u.org_id === org_id),
    org_invoices: ({ org_id }) => data.invoices.filter((u) => u.org_id === org_id),
    org_vendors: ({ org_id }) => data.vendors.filter((u) => u.org_id === org_id),
    org_payments: ({ org_id }) => data.payments.filter((u) => u.org_id === org_id),
    reveal: ({ record_id, field, reason }) => {
      if (!state.online) throw fail("offline");
      if (String(reason).trim().length < 10) throw fail("reason_required");
      return { value: revealedValueFor(field, record_id), revealed_at: new Date().toISOString() };
    },
    approvals_list: (args) => {
      if (!state.online) throw fail("offline");
      const filter = args.filter as ApprovalFilter;
      const decidedByMe = (a: Approval) =>
        a.decisions.some((d) => d.approver_id === ME_STAFF_ID && d.version_seen === a.version);
      const items = approvals.filter(
        (a) =>
          (filter.mine !== "requested" || a.requester_id === ME_STAFF_ID) &&
          (filter.mine !== "to_decide" ||
            (a.status === "pending" && a.requester_id !== ME_STAFF_ID && !decidedByMe(a))) &&
          (!filter.status || a.status === filter.status) &&
          (!filter.kind || a.kind === filter.kind) &&
          (!filter.org_id || a.org_id === filter.org_id),
      );
      return { items, next_cursor: null };
    },
    approval_get: ({ approval_id }) => {
      if (!state.online) throw fail("offline");
      const a = approvals.find((x) => x.id === approval_id);
      if (!a) throw fail("not_found");
      return a;
    },
    approval_decide: (args) => {
      if (!state.online) throw fail("offline");
      const { approval_id, decision } = args as { approval_id: string; decision: DecideApproval };
      const i = approvals.findIndex((x) => x.id === approval_id);
      const a = approvals[i];
      if (!a) throw fail("not_found");
      if (decision.version !== a.version) throw fail("stale_version", "The request changed since you loaded it.");
      if (!a.can_decide) throw fail(a.cannot_decide?.code ?? "forbidden", a.cannot_decide?.message);
      const decisions = [
        ...a.decisions,
        {
          approver_id: ME_STAFF_ID,
          approver_name: state.account?.display_name ?? "Me",
          on_behalf_of: null,
          decision: decision.decision,
          comment: decision.comment,
          version_seen: a.version,
          current: true,
          at: new Date().toISOString(),
        },
      ];
      const given = decisions.filter((d) => d.current && d.decision === "approve").length;
      const needed = a.required.reduce((n, r) => n + r.approvals, 0);
      const status = decision.decision === "reject" ? "rejected" : given >= needed ? "executed" : "pending";
      const next: Approval = {
        ...a,
        decisions,
        status,
        execution_result: status === "executed" ? { payment_id: `payment-${approval_id}` } : null,
        can_decide: false,
        cannot_decide:
          status === "pending"
            ? { code: "already_decided", message: "You already approved this version of the request." }
            : { code: "not_pending", message: `This request is ${status}: nothing is left to decide.` },
      };
      approvals[i] = next;
      return next;
    },
    approval_cancel: (args) => {
      if (!state.online) throw fail("offline");
      const i = approvals.findIndex((x) => x.id === args.approval_id);
      const a = approvals[i];
      if (!a) throw fail("not_found");
      if (a.requester_id !== ME_STAFF_ID) throw fail("forbidden", "Only the requester may change or cancel a request.");
      if (a.status !== "pending") throw fail("not_pending");
      const next: Approval = {
        ...a,
        status: "cancelled",
        cannot_decide: { code: "not_pending", message: "This request is cancelled: nothing is left to decide." },
      };
      approvals[i] = next;
      return next;
    },
    approval_request: (args) => {
      if (!state.online) throw fail("offline");
      const { request, idempotency_key } = args as { request: CreateApproval; idempotency_key: string };
      // As the server: the same key and body answer the first request again.
      const seen = requestsByKey.get(idempotency_key);
      if (seen) {
        if (seen.body !== JSON.stringify(request)) throw fail("idempotency_key_reused");
        return seen.answer;
      }
      if (request.reason.trim().length < 10) throw fail("reason_required", "Give a reason of at least 10 characters.");
      if (
        request.kind === "vendor_bank_change" &&
        approvals.some((a) => a.kind === "vendor_bank_change" && a.status === "pending" && a.target_id === request.target_id)
      ) {
        throw fail("not_pending", "A bank account change for this vendor is already pending.");
      }
      // As the server: the new IBAN comes back masked.
      const payload = request.payload as Record<string, unknown>;
      const iban = typeof payload?.iban === "string" ? payload.iban : null;
      const created: Approval = {
        id: `appr-new-${requestsByKey.size + 1}`,
        kind: request.kind,
        org_id: request.org_id,
        target_id: request.target_id,
        amount: request.amount,
        amount_base: request.amount,
        exchange_rate: null,
        payload: iban
          ? { ...payload, iban: { masked: `${iban.slice(0, 2)}•• •••• ${iban.slice(-4)}`, field: "iban", revealable: false } }
          : request.payload,
        reason: request.reason,
        status: "pending",
        version: 1,
        requester_id: ME_STAFF_ID,
        policy_version: "2026-06",
        required: [{ approvals: 2, one_of_role: null, permission: "approvals:decide", description: "2 distinct approvers" }],
        decisions: [],
        expires_at: new Date(Date.now() + 72 * 3600_000).toISOString(),
        created_at: new Date().toISOString(),
        execution_result: null,
        can_decide: false,
        cannot_decide: { code: "self_approval_forbidden", message: "You requested this yourself: another approver has to decide it." },
      };
      approvals.unshift(created);
      requestsByKey.set(idempotency_key, { body: JSON.stringify(request), answer: created });
      return created;
    },
    approval_amend: (args) => {
      if (!state.online) throw fail("offline");
      const { approval_id, amend } = args as { approval_id: string; amend: AmendApproval };
      const i = approvals.findIndex((x) => x.id === approval_id);
      const a = approvals[i];
      if (!a) throw fail("not_found");
      if (a.requester_id !== ME_STAFF_ID) throw fail("forbidden", "Only the requester may change or cancel a request.");
      if (a.status !== "pending") throw fail("not_pending");
      if (amend.version !== a.version) throw fail("stale_version", "The request changed since you loaded it.");
      const next: Approval = {
        ...a,
        amount: amend.amount ?? a.amount,
        amount_base: amend.amount ?? a.amount_base,
        payload: amend.payload ?? a.payload,
        reason: amend.reason ?? a.reason,
        version: a.version + 1,
        decisions: a.decisions.map((d) => ({ ...d, current: false })),
      };
      approvals[i] = next;
      return next;
    },
    audit_search: ({ filter }) => {
      if (!state.online) throw fail("offline");
      const f = filter as AuditFilter;
      const items = auditMatching(f);
      const start = f.cursor ? Number(f.cursor) : 0;
      const end = start + (f.limit ?? 50);
      return { items: items.slice(start, end), next_cursor: end < items.length ? String(end) : null };
    },
    audit_export: async ({ filter, format, on_progress }) => {
      if (exporting) throw fail("export_in_progress");
      // The name the save dialog proposes (Rust's export_file_name), unless the test chose one.
      const savePath =
        options.exportSavePath === undefined
          ? `/home/ava/Downloads/countersign-audit-${new Date().toISOString().slice(0, 10)}.${format as ExportFormat}`
          : options.exportSavePath;
      if (savePath === null) return null;
      needs("audit:export");
      const channel = on_progress as Channel<ExportProgress>;
      const run = { cancelled: false };
      exporting = run;
      try {
        // As the server counts and streams: a preview log of a few events, shown as a large one.
        const total = auditMatching(filter as AuditFilter).length * 1_000;
        const perEvent = (format as ExportFormat) === "csv" ? 610 : 940;
        const steps = 10;
        for (let i = 0; i <= steps; i++) {
          if (i > 0) await sleep(options.exportStepMs ?? 300);
          if (run.cancelled) throw fail("export_cancelled");
          const events = Math.round((total * i) / steps);
          send(channel, i, { bytes: events * perEvent, events, total_events: total });
        }
        const report: ExportReport = {
          path: savePath,
          file_name: savePath.split("/").pop()!,
          bytes: total * perEvent,
          events: total,
        };
        return report;
      } finally {
        exporting = null;
      }
    },
    audit_export_cancel: () => {
      if (exporting) exporting.cancelled = true;
      return null;
    },
    audit_verify: async (): Promise<AuditVerification> => {
      needs("audit:read");
      await sleep(300); // a pass over the whole log
      const last = audit.reduce((m, e) => Math.max(m, e.seq), 0);
      const bad = options.auditChainBrokenAt;
      return {
        ok: bad === undefined,
        events_checked: last,
        events_valid: bad === undefined ? last : bad - 1,
        last_seq: last,
        checkpoints_checked: 14,
        checkpoints_valid: bad === undefined ? 14 : 13,
        first_bad: bad === undefined ? null : { seq: bad, reason: "content does not match its hash" },
        verified_at: new Date().toISOString(),
      };
    },
    sessions_list: ({ filter }) => {
      if (!state.online) throw fail("offline");
      const f = filter as ImpersonationFilter;
      const items = sessions.filter(
        (s) =>
          (!f.status || s.status === f.status) &&
          (!f.agent_id || s.agent_id === f.agent_id) &&
          (!f.review ||
            (f.review === "unreviewed" && s.review === "unreviewed" && (s.status === "ended" || s.status === "expired")) ||
            (f.review === "reviewed" && s.review !== "unreviewed") ||
            (f.review === "flagged" && s.review === "flagged")),
      );
      return { items: items.map(listed), next_cursor: null };
    },
    session_get: ({ session_id }) => ({ timeline: [], ...sessions[session(session_id)]! }),
    session_answer: ({ session_id, approve }) => {
      const i = session(session_id);
      const s = sessions[i]!;
      if (s.status !== "pending_approval") throw fail("not_pending");
      const now = Date.now();
      sessions[i] = approve
        ? { ...s, status: "active", started_at: new Date(now).toISOString(), expires_at: new Date(now + s.duration_minutes * 60_000).toISOString() }
        : { ...s, status: "rejected" };
      return listed(sessions[i]!);
    },
    session_review: ({ session_id, review }) => {
      const i = session(session_id);
      const r = review as Review;
      if (sessions[i]!.review !== "unreviewed") throw fail("already_decided");
      sessions[i] = { ...sessions[i]!, review: r.outcome, review_note: r.note || null };
      return listed(sessions[i]!);
    },
    support_access: ({ org_id }) => {
      if (!state.online) throw fail("offline");
      const org = orgById(org_id);
      return { org_id, mode: org.support_access, sessions: [], grants: options.grants?.[org_id] ?? [] };
    },
    support_start: ({ request }) => {
      if (!state.online) throw fail("offline");
      const r = request as CreateImpersonation;
      const cur = state.support?.session.status;
      if (cur === "active" || cur === "pending_approval") {
        throw fail("support_session_open", "You are already in a support session.");
      }
      const user = data.users.find((u) => u.id === r.subject_user_id);
      if (!user) throw fail("not_found");
      const org = orgById(user.org_id);
      const now = Date.now();
      const granted = (options.grants?.[org.id] ?? []).some(
        (g) => !g.revoked && Date.parse(g.starts_at) <= now && Date.parse(g.ends_at) > now,
      );
      if (org.support_access === "consent" && !granted) {
        throw fail("consent_required", `${org.name} has not granted support access.`);
      }
      const waits = r.scope === "write" || user.role === "org_admin";
      const minutes = r.duration_minutes ?? 15;
      state.support = {
        session: {
          id: `sess-mine-${calls.length}`,
          org_id: org.id,
          agent_id: ME_STAFF_ID,
          agent_name: state.account?.display_name ?? "Me",
          subject_user_id: user.id,
          reason: r.reason,
          ticket_ref: r.ticket_ref,
          scope: r.scope,
          duration_minutes: minutes,
          status: waits ? "pending_approval" : "active",
          requested_at: new Date(now).toISOString(),
          started_at: waits ? null : new Date(now).toISOString(),
          expires_at: waits ? null : new Date(now + minutes * 60_000).toISOString(),
          ended_at: null,
          end_reason: null,
          review: "unreviewed",
          review_note: null,
        },
        subject_name: user.name,
        org_name: org.name,
        clock_offset_ms: options.clockOffsetMs ?? 0,
      };
      return structuredClone(state.support);
    },
    support_status: () => {
      const s = state.support;
      if (!s) return null;
      if (s.session.status === "active" && Date.parse(s.session.expires_at!) <= Date.now()) {
        state.support = { ...s, session: { ...s.session, status: "expired" } };
      }
      const answer = structuredClone(state.support!);
      // A session that is over is said once, then forgotten (as Desktop::support).
      if (answer.session.status !== "active" && answer.session.status !== "pending_approval") state.support = null;
      return answer;
    },
    support_end: () => {
      if (!state.online) throw fail("offline");
      const s = state.support;
      if (!s) return null;
      state.support = null;
      return { ...s, session: { ...s.session, status: "ended", end_reason: "ended", ended_at: new Date().toISOString() } };
    },
    customer_users: () => {
      const s = inside();
      return data.users.filter((u) => u.org_id === s.session.org_id);
    },
    customer_invoices: () => {
      const s = inside();
      return data.invoices.filter((i) => i.org_id === s.session.org_id);
    },
    customer_update_user: ({ user_id, update }) => {
      writeScope();
      const u = update as UpdateUser;
      const i = data.users.findIndex((x) => x.id === user_id);
      if (i < 0) throw fail("not_found");
      data.users[i] = { ...data.users[i]!, name: u.name ?? data.users[i]!.name };
      return data.users[i];
    },
    customer_resend_invoice: () => {
      writeScope();
      return null;
    },
    app_quit: () => {
      state.support = null;
      state.quit = true;
      return null;
    },
    staff_list: ({ filter }) => {
      if (!state.online) throw fail("offline");
      const f = filter as StaffFilter;
      const cutoff = f.inactive_days ? Date.now() - f.inactive_days * 86_400_000 : null;
      return staff.filter(
        (m) =>
          (f.privileged == null || m.roles.some((r) => PRIVILEGED.includes(r)) === f.privileged) &&
          (f.active == null || m.active === f.active) &&
          (f.pending == null || (pendingIds.has(m.id) && m.roles.length === 0) === f.pending) &&
          (cutoff === null || !m.last_active_at || Date.parse(m.last_active_at) < cutoff),
      );
    },
    staff_create: (args) => {
      needs("staff:manage");
      // Its one argument (the Rust command's parameter name is not ours to rely on here).
      const n = Object.values(args)[0] as CreateStaff;
      const me = state.account;
      if (me && me.issuer === n.issuer && me.subject === n.subject) {
        throw fail("self_change_forbidden", "Nobody creates a staff account for their own identity.");
      }
      const invalid = (field: string, what: string) => fail("invalid_request", `The field \`${field}\` is invalid: ${what}.`);
      if (!state.server?.providers.some((p) => p.issuer === n.issuer)) {
        throw invalid("issuer", "not an issuer this server trusts (GET /v1/client-config lists them)");
      }
      if (!n.subject || n.subject.trim() !== n.subject || n.subject.length > 255) {
        throw invalid("subject", "the person's `sub` at the issuer, 1-255 characters, without spaces around it");
      }
      if (!n.display_name.trim() || n.display_name.length > 200) throw invalid("display_name", "a name of 1-200 characters");
      if (!/^[^\s@]+@[^\s@]+$/.test(n.email)) throw invalid("email", "an e-mail address like name@example.com");
      if (staff.some((m) => m.issuer === n.issuer && m.subject === n.subject)) {
        throw fail("staff_exists", "A staff account for this identity exists already.");
      }
      const created: StaffMember = {
        id: `staff-new-${calls.length}`,
        issuer: n.issuer,
        subject: n.subject,
        display_name: n.display_name,
        email: n.email,
        roles: n.roles,
        scope: n.scope,
        approval_limits: n.approval_limits,
        permission_epoch: 1,
        active: true,
        last_active_at: null,
        deactivated_at: null,
        deactivation_reason: null,
      };
      staff.push(created);
      return created;
    },
    staff_update: ({ staff_id, update }) => {
      const i = staffTarget(staff_id);
      // Any decision ends the wait (the server's staff_decision_ends_wait).
      pendingIds.delete(staff_id);
      const u = update as StaffUpdate;
      staff[i] = { ...staff[i]!, ...u, permission_epoch: staff[i]!.permission_epoch + 1 };
      return staff[i];
    },
    staff_deactivate: ({ staff_id, reason }) => {
      const i = staffTarget(staff_id);
      if (String(reason).trim().length < 10) throw fail("reason_required", "Give a reason of at least 10 characters.");
      pendingIds.delete(staff_id);
      staff[i] = { ...staff[i]!, active: false, deactivated_at: new Date().toISOString(), deactivation_reason: reason };
      return staff[i];
    },
    staff_reactivate: ({ staff_id }) => {
      const i = staffTarget(staff_id);
      staff[i] = { ...staff[i]!, active: true, deactivated_at: null, deactivation_reason: null };
      return staff[i];
    },
    settings_get: (): SettingsView => ({
      account: state.account,
      server_url: state.server?.url ?? null,
      server_source: state.server?.source ?? null,
      cache: state.account
        ? {
            mode: options.cacheMode ?? "encrypted",
            reason: options.cacheReason ?? null,
            records: state.records,
            last_synced_at: state.lastSyncedAt,
            size_bytes: state.records * 412,
          }
        : null,
      theme: state.theme,
      client_version: options.clientVersion ?? "0.1.0",
    }),
    theme_set: ({ theme }) => {
      state.theme = theme;
      return null;
    },
    wipe_local_data: () => {
      state.lastSyncedAt = null;
      state.records = 0;
      return null;
    },
    update_check: async () => {
      await sleep(options.updateStepMs ?? 0);
      if (options.updateCheckError) throw options.updateCheckError;
      foundUpdate = options.update ?? null;
      return foundUpdate;
    },
    update_install: async ({ on_progress }) => {
      if (!foundUpdate) throw fail("update_failed", "Look for updates first: there is no update to install.");
      foundUpdate = null;
      const total = 6_291_456;
      for (let i = 1; i <= 5; i++) {
        await sleep(options.updateStepMs ?? 0);
        send(on_progress as Channel<UpdateProgress>, i - 1, { bytes: (total * i) / 5, total });
      }
      if (options.updateInstallError) throw options.updateInstallError;
      // As the app does: it restarts into the new version, and the command never answers.
      state.restarted = true;
      return new Promise(() => {});
    },
  };

  function send<T>(channel: Channel<T>, index: number, message: T) {
    // Deliver the way Rust does: through the channel's registered callback, with an index.
    const internals = (window as unknown as {
      __TAURI_INTERNALS__?: {
        runCallback?: (id: number, data: unknown) => void;
        callbacks?: Map<number, unknown>;
      };
    }).__TAURI_INTERNALS__;
    // The page (or test) that opened the channel is gone: drop the message, as Rust would.
    if (internals?.callbacks && !internals.callbacks.has(channel.id)) return;
    if (internals?.runCallback) internals.runCallback(channel.id, { index, message });
    else channel.onmessage(message);
  }

  async function handle(cmd: string, args: Args = {}): Promise<unknown> {
    calls.push({ cmd, args });
    if (options.latencyMs) await sleep(options.latencyMs);
    const handler =
      options.overrides?.[cmd as CommandName] ?? handlers[cmd as CommandName];
    if (!handler) throw fail("internal", `no such command: ${cmd}`);
    return await handler(args);
  }

  return {
    handle,
    state,
    data,
    calls,
    /** The calls of one command so far. */
    callsOf: (cmd: CommandName) => calls.filter((c) => c.cmd === cmd).map((c) => c.args),
    /** The notification stream and delegations (`emit` a new notification). */
    notifications: notify,
    setOnline(online: boolean) {
      state.online = online;
    },
    purgeOnNextSync() {
      state.nextSyncPurges = true;
    },
    /** A supervisor answers the waiting session (the app sees it at its next status check). */
    answerSupport(approve: boolean) {
      const s = state.support;
      if (!s) return;
      const now = Date.now();
      state.support = { ...s };
      state.support.session = approve
        ? {
            ...s.session,
            status: "active",
            started_at: new Date(now).toISOString(),
            expires_at: new Date(now + s.session.duration_minutes * 60_000).toISOString(),
          }
        : { ...s.session, status: "rejected" };
    },
  };
}
