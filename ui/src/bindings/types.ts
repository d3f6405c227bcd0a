// GENERATED from the Rust types by src-tauri/src/bindings.rs: do not edit.
// UPDATE_BINDINGS=1 cargo test -p countersign-desktop bindings rewrites it.

export type Code = "unauthenticated" | "token_invalid" | "forbidden" | "not_found" | "method_not_allowed" | "invalid_request" | "reason_required" | "self_approval_forbidden" | "self_change_forbidden" | "already_decided" | "stale_version" | "request_expired" | "not_pending" | "approval_limit_exceeded" | "scope_exceeded" | "impersonation_expired" | "impersonation_not_active" | "not_while_impersonating" | "step_up_required" | "rate_limited" | "idempotency_key_reused" | "payout_hold" | "consent_required" | "payload_too_large" | "client_update_required" | "account_disabled" | "access_pending" | "staff_exists" | "service_unavailable" | "internal" | "offline" | "timeout" | "network" | "tls" | "not_countersign" | "unexpected_response" | "not_signed_in" | "signed_out" | "keyring_unavailable" | "config_invalid" | "update_required" | "cache_unavailable" | "not_found_locally" | "support_session_open" | "no_support_session" | "discovery_failed" | "listener_failed" | "sign_in_ports_busy" | "browser_failed" | "sign_in_timeout" | "sign_in_cancelled" | "sign_in_in_progress" | "invalid_callback" | "state_mismatch" | "issuer_mismatch" | "provider_error" | "code_rejected" | "token_request_failed" | "incomplete_token_response" | "nonce_mismatch" | "id_token_invalid" | "refresh_rejected" | "revocation_failed" | "export_cancelled" | "export_in_progress" | "file_write_failed" | "updates_unavailable" | "update_too_large" | "update_signature_invalid" | "update_version_unsigned" | "update_failed";

export type ErrorPayload = { code: Code, message: string, 
/**
 * The server's own sentence when it refused (the problem's `detail`,
 * which API.md keeps free of internals), e.g. "A bank account change for
 * this vendor is already pending.": what the UI shows for a refusal.
 */
detail?: string, };

export type Region = "EU" | "US";

export type SupportAccess = "open" | "consent";

export type CustomerRole = "member" | "org_admin";

export type InvoiceStatus = "open" | "paid" | "void";

export type PaymentKind = "refund" | "credit_note" | "payout";

export type RecordType = "org" | "user" | "invoice" | "vendor" | "payment";

export type Permission = "orgs:read" | "users:read" | "invoices:read" | "vendors:read" | "payments:read" | "pii:reveal" | "finance:reveal" | "approvals:request" | "approvals:decide" | "impersonation:start" | "impersonation:approve" | "impersonation:review" | "audit:read" | "audit:export" | "staff:read" | "staff:manage" | "support_access:read";

export type OrgId = string;

export type UserId = string;

export type InvoiceId = string;

export type VendorId = string;

export type PaymentId = string;

export type Currency = string;

export type Money = { amount_minor: number, currency: Currency, };

export type Masked = { 
/**
 * The display form, e.g. `j***@example.com`; never the value.
 */
masked: string, 
/**
 * The field name to pass to `POST /v1/reveals`.
 */
field: string, 
/**
 * Whether the caller may reveal it (permission and scope).
 */
revealable: boolean, };

export type Org = { id: OrgId, slug: string, name: string, region: Region, support_access: SupportAccess, created_at: string, };

export type CustomerUser = { id: UserId, org_id: OrgId, name: string, email: Masked, phone: Masked, 
/**
 * Street address masked to the city.
 */
address: Masked, city: string, role: CustomerRole, };

export type Invoice = { id: InvoiceId, org_id: OrgId, number: string, amount: Money, status: InvoiceStatus, issued_at: string, due_at: string, };

export type BankAccount = { iban: Masked, bank_name: string, account_holder: string, };

export type Vendor = { id: VendorId, org_id: OrgId, name: string, tax_id: Masked, address: Masked, city: string, 
/**
 * The current account; `null` if the vendor has none on file.
 */
bank_account: BankAccount | null, };

export type Payment = { id: PaymentId, org_id: OrgId, kind: PaymentKind, amount: Money, approval_id: string | null, vendor_id?: VendorId | null, invoice_id?: InvoiceId | null, created_at: string, };

export type Scope = { all_orgs: boolean, regions: Array<Region>, org_ids: Array<OrgId>, };

export type Provider = { 
/**
 * Shown on the button: "Sign in with <name>".
 */
name: string, issuer: string, client_id: string, 
/**
 * The API's audience, requested as the RFC 8707 `resource` when it is a URI.
 */
audience: string | null, scopes: Array<string>, 
/**
 * Loopback ports registered at the provider; empty = any free port.
 */
redirect_ports: Array<number>, };

export type JsonValue = number | string | boolean | Array<JsonValue> | { [key in string]: JsonValue } | null;

export type Page<T> = { items: Array<T>, 
/**
 * Opaque; pass back as `cursor` to get the next page. `null` on the last page.
 */
next_cursor: string | null, };

export type ApprovalId = string;

export type StaffId = string;

export type ImpersonationId = string;

export type ApprovalKind = "refund" | "credit_note" | "vendor_bank_change" | "payout_release" | "data_export";

export type ApprovalStatus = "pending" | "approved" | "executed" | "rejected" | "cancelled" | "expired";

export type Rule = { 
/**
 * Distinct approvers needed.
 */
approvals: number, 
/**
 * A role at least one of them must hold, if any (e.g. `finance_controller`).
 */
one_of_role: string | null, 
/**
 * The permission every approver needs.
 */
permission: string, 
/**
 * Human description, e.g. "2 distinct approvers, at least one finance_controller".
 */
description: string, };

export type Decision = "approve" | "reject";

export type DecisionRecord = { approver_id: StaffId, approver_name: string, on_behalf_of: StaffId | null, decision: Decision, comment: string, version_seen: number, 
/**
 * Whether it still counts (approvals of an older version were cleared).
 */
current: boolean, at: string, };

export type CannotDecide = { 
/**
 * The app's bindings name it by the client's `Code`, which holds every server code.
 */
code: Code, message: string, };

export type Approval = { id: ApprovalId, kind: ApprovalKind, org_id: OrgId, target_id: string, amount: Money | null, 
/**
 * `amount` in the server's base currency, at the rate recorded when the
 * request was made: what the policy's thresholds and approvers' limits
 * compare (API.md, Approvals).
 */
amount_base: Money | null, 
/**
 * The rate recorded (base units per unit of `amount`'s currency).
 */
exchange_rate: string | null, 
/**
 * Masked per caller (e.g. the new IBAN of a bank change).
 */
payload: JsonValue, reason: string, status: ApprovalStatus, version: number, requester_id: StaffId, policy_version: string, required: Array<Rule>, decisions: Array<DecisionRecord>, expires_at: string, created_at: string, execution_result: JsonValue | null, 
/**
 * Whether the caller could approve this request now, as it stands: the
 * server's decision rules asked without deciding (API.md).
 */
can_decide: boolean, 
/**
 * When `can_decide` is false: the code a decision would be refused
 * with, and why, in words.
 */
cannot_decide?: CannotDecide | null, };

export type DecideApproval = { decision: Decision, comment: string, 
/**
 * The version the approver saw; must be the current one.
 */
version: number, 
/**
 * Decide for an approver who delegated to you (out of office).
 */
on_behalf_of: StaffId | null, };

export type CreateApproval = { kind: ApprovalKind, org_id: OrgId, 
/**
 * The invoice (refund, credit note), the vendor (bank change, payout) or the org (data export).
 */
target_id: string, amount: Money | null, payload: JsonValue, reason: string, };

export type AmendApproval = { amount: Money | null, payload: JsonValue | null, reason: string | null, version: number, };

export type Mine = "requested" | "to_decide";

export type ApprovalFilter = { status: ApprovalStatus | null, kind: ApprovalKind | null, org_id: OrgId | null, mine: Mine | null, limit: number | null, cursor: string | null, };

export type NotificationKind = "to_decide" | "decided" | "executed" | "expires_soon" | "my_request_expires_soon" | "session_to_approve";

export type Notification = { kind: NotificationKind, approval_id: ApprovalId | null, approval_kind: ApprovalKind | null, impersonation_id: ImpersonationId | null, 
/**
 * The request's amount, where it has one.
 */
amount: Money | null, 
/**
 * The customer org it concerns.
 */
org_name: string | null, 
/**
 * Who caused it: the requester (to decide, expires soon), the approver
 * (decided), the agent (session to approve).
 */
actor_name: string | null, 
/**
 * For `decided`: approve or reject.
 */
decision: Decision | null, 
/**
 * When the event happened (for the expiry kinds: the expiry).
 */
at: string, };

export type Delegation = { id: string, delegator_id: StaffId, 
/**
 * Added with the notification centre; older servers leave it empty.
 */
delegator_name: string, delegate_id: StaffId, delegate_name: string, starts_at: string, ends_at: string, revoked: boolean, 
/**
 * The caller gave it (false: it was given to the caller).
 */
mine: boolean, };

export type Delegate = { id: StaffId, name: string, };

export type CreateDelegation = { delegate_id: StaffId, starts_at: string, ends_at: string, };

export type SessionScope = "read" | "write";

export type ImpersonationSession = { id: ImpersonationId, org_id: OrgId, agent_id: StaffId, agent_name: string, subject_user_id: UserId, reason: string, ticket_ref: string, scope: SessionScope, duration_minutes: number, 
/**
 * `pending_approval`, `active`, `rejected`, `ended` or `expired`.
 */
status: string, requested_at: string, started_at: string | null, expires_at: string | null, ended_at: string | null, 
/**
 * Why an `ended` session ended: `ended` (its agent or a supervisor),
 * `access_revoked` (the agent's roles or scope no longer cover it, seen
 * by the server) or `account_disabled` (the agent was deactivated).
 */
end_reason: string | null, 
/**
 * `unreviewed`, `ok` or `flagged`.
 */
review: string, review_note: string | null, 
/**
 * Only on `GET /v1/impersonations/{id}`: the audit events of the session.
 */
timeline?: Array<AuditEvent>, };

export type Review = { outcome: ReviewOutcome, note: string, };

export type ReviewOutcome = "ok" | "flagged";

export type ImpersonationFilter = { 
/**
 * `pending_approval`, `active`, `rejected`, `ended`, `expired`.
 */
status: string | null, 
/**
 * `unreviewed`, `reviewed`, `flagged`.
 */
review: string | null, agent_id: StaffId | null, limit: number | null, };

export type CreateImpersonation = { subject_user_id: UserId, reason: string, ticket_ref: string, scope: SessionScope, 
/**
 * 1-60, default 15.
 */
duration_minutes: number | null, };

export type UpdateUser = { name: string | null, phone: string | null, };

export type Grant = { id: string, org_id: OrgId, granted_by: UserId, starts_at: string, ends_at: string, revoked: boolean, };

export type SupportAccessEntry = { session_id: ImpersonationId, agent_name: string, reason: string, ticket_ref: string, scope: SessionScope, status: string, started_at: string | null, ended_at: string | null, };

export type SupportAccessReport = { org_id: OrgId, mode: SupportAccess, sessions: Array<SupportAccessEntry>, grants: Array<Grant>, };

export type SupportView = { session: ImpersonationSession, subject_name: string, org_name: string, 
/**
 * The server's clock minus this machine's, in milliseconds, from the
 * server's last answer: the countdown to `expires_at` runs on the
 * server's time (UI.md), not on a local clock that may be off.
 */
clock_offset_ms: number, };

export type ActorKind = "staff" | "customer" | "service";

export type Actor = { issuer: string | null, subject: string | null, kind: ActorKind | null, };

export type Outcome = "success" | "denied" | "error";

export type AuditEvent = { seq: number, id: string, at: string, actor: Actor, on_behalf_of: JsonValue | null, impersonation_id: string | null, org_id: string | null, action: string, target_type: string | null, target_id: string | null, outcome: Outcome, code: string | null, reason: string | null, request_id: string, ip: string | null, user_agent: string | null, details: JsonValue, 
/**
 * Hex SHA-256 of the previous event's hash and this event's canonical form.
 */
prev_hash: string, hash: string, };

export type AuditFilter = { org_id: OrgId | null, actor_subject: string | null, action: string | null, target_type: string | null, target_id: string | null, outcome: Outcome | null, request_id: string | null, impersonation_id: ImpersonationId | null, from?: string | null, to?: string | null, limit: number | null, cursor: string | null, };

export type ExportFormat = "ndjson" | "csv";

export type ExportProgress = { 
/**
 * Bytes written to disk so far.
 */
bytes: number, 
/**
 * Events written so far.
 */
events: number, 
/**
 * How many events the export holds, when the server said (it does: the
 * `Countersign-Export-Count` header).
 */
total_events: number | null, };

export type ExportReport = { 
/**
 * Where the file is (the user chose it).
 */
path: string, file_name: string, bytes: number, events: number, };

export type AuditVerification = { 
/**
 * No event or checkpoint differs from what was written.
 */
ok: boolean, events_checked: number, 
/**
 * Events whose chain was intact up to them (after the first bad one, the
 * rest are counted but cannot be vouched for).
 */
events_valid: number, 
/**
 * The last seq read (0: an empty log).
 */
last_seq: number, checkpoints_checked: number, checkpoints_valid: number, 
/**
 * The first seq at which the log is not what was written, and why.
 */
first_bad: ChainBreak | null, verified_at: string, };

export type ChainBreak = { seq: number, 
/**
 * In words, e.g. "content does not match its hash".
 */
reason: string, };

export type StaffRole = "support_agent" | "support_supervisor" | "finance_clerk" | "finance_approver" | "finance_controller" | "auditor" | "security_admin";

export type StaffMember = { id: StaffId, issuer: string, subject: string, display_name: string, email: string, roles: Array<StaffRole>, scope: Scope, 
/**
 * Kind → limit; `null` means no limit.
 */
approval_limits: { [key in string]: Money | null }, permission_epoch: number, active: boolean, 
/**
 * When the account last made a request, to within 5 minutes: it is
 * recorded at most once every 5 minutes, so later requests within those
 * 5 minutes do not move it. `null`: never active.
 */
last_active_at: string | null, 
/**
 * When an inactive account was deactivated; `null` while it is active
 * (and for one deactivated before this was recorded).
 */
deactivated_at: string | null, 
/**
 * The reason given to `POST /v1/staff/{id}/deactivate`; `null` while the
 * account is active, or when it was deactivated through `PUT`.
 */
deactivation_reason: string | null, };

export type StaffUpdate = { roles: Array<StaffRole>, scope: Scope, 
/**
 * Kind → limit; `null` means no limit.
 */
approval_limits: { [key in string]: Money | null }, active: boolean, };

export type CreateStaff = { 
/**
 * One of the issuers in `GET /v1/client-config`, exactly.
 */
issuer: string, 
/**
 * The person's `sub` at that issuer (not an e-mail, not a username).
 */
subject: string, display_name: string, email: string, roles: Array<StaffRole>, scope: Scope, 
/**
 * Kind → limit; `null` means no limit.
 */
approval_limits: { [key in string]: Money | null }, };

export type StaffFilter = { 
/**
 * Holding a privileged role (or, `false`, none).
 */
privileged: boolean | null, 
/**
 * No request for at least this many days, never-active accounts included.
 */
inactive_days: number | null, active: boolean | null, 
/**
 * Waiting for access: created by a first sign-in (just-in-time
 * provisioning) with no roles, not decided yet.
 */
pending: boolean | null, };

export type ServerSource = "env" | "user_config" | "system_config" | "entered";

export type ServerInfo = { url: string, source: ServerSource, providers: Array<Provider>, min_client_version: string, server_version: string, };

export type Persistence = "keyring" | "memory_only";

export type AccountView = { issuer: string, subject: string, display_name: string, email: string, roles: Array<string>, permissions: Array<Permission>, scope: Scope, persistence: Persistence, persistence_reason: string | null, };

export type AppState = { client_version: string, 
/**
 * `None`: ask for the server's URL (first screen).
 */
server: ServerInfo | null, 
/**
 * The configured URL could not be used (shown on the URL screen).
 */
server_error: ErrorPayload | null, 
/**
 * This app is older than the server's minimum: update, sign nobody in.
 */
update_required: boolean, 
/**
 * `None`: the sign-in screen.
 */
account: AccountView | null, 
/**
 * A saved session could not be resumed (shown on the sign-in screen).
 */
resume_error: ErrorPayload | null, sync_interval_secs: number, };

export type SyncProgress = { done: number, estimated_total: number | null, };

export type SyncReport = { applied: number, pages: number, 
/**
 * The cache was discarded and refilled: the user's access changed.
 */
purged: boolean, 
/**
 * Records now cached.
 */
records: number, synced_at: string, };

export type SyncStatus = { online: boolean, syncing: boolean, records: number, last_synced_at: string | null, offline_since: string | null, };

export type SearchHit = { record_type: RecordType, record_id: string, org_id: string, 
/**
 * The org the record belongs to (its own name for an org).
 */
org_name: string, 
/**
 * What to show first: a name, an invoice number.
 */
title: string, 
/**
 * Secondary line: masked e-mail, amount, kind.
 */
detail: string, };

export type OrgSummary = { org: Org, users: number, invoices: number, vendors: number, payments: number, };

export type Revealed = { value: string, revealed_at: string, };

export type Theme = "light" | "dark" | "system";

export type CacheMode = "encrypted" | "memory_only";

export type CacheView = { mode: CacheMode, reason: string | null, records: number, last_synced_at: string | null, size_bytes: number, };

export type SettingsView = { account: AccountView | null, server_url: string | null, server_source: ServerSource | null, cache: CacheView | null, theme: Theme, client_version: string, };

export type UpdateView = { version: string, current_version: string, 
/**
 * The release notes, as the administrator wrote them (plain text).
 */
notes: string | null, 
/**
 * When it was published (RFC 3339), when the manifest says.
 */
published_at: string | null, };

export type UpdateProgress = { bytes: number, 
/**
 * The package's size, when the server said.
 */
total: number | null, };
