// GENERATED from the Rust types by src-tauri/src/bindings.rs: do not edit.
// UPDATE_BINDINGS=1 cargo test -p countersign-desktop bindings rewrites it.

import { invoke, Channel } from "@tauri-apps/api/core";
import type { AccountView, AmendApproval, AppState, Approval, ApprovalFilter, ApprovalId, AuditEvent, AuditFilter, AuditVerification, CreateApproval, CreateDelegation, CreateImpersonation, CreateStaff, CustomerUser, DecideApproval, Delegate, Delegation, ExportFormat, ExportProgress, ExportReport, ImpersonationFilter, ImpersonationId, ImpersonationSession, Invoice, InvoiceId, Notification, Org, OrgId, OrgSummary, Page, Payment, RecordType, Revealed, Review, SearchHit, SettingsView, StaffFilter, StaffId, StaffMember, StaffUpdate, SupportAccessReport, SupportView, SyncProgress, SyncReport, SyncStatus, Theme, UpdateProgress, UpdateUser, UpdateView, UserId, Vendor } from "./types";

/** `app_start`; rejects with an `ErrorPayload`. */
export async function appStart(): Promise<AppState> {
  return invoke<AppState>("app_start");
}

/** `server_set`; rejects with an `ErrorPayload`. */
export async function serverSet(url: string): Promise<AppState> {
  return invoke<AppState>("server_set", { url });
}

/** `sign_in`; rejects with an `ErrorPayload`. */
export async function signIn(issuer: string): Promise<AccountView> {
  return invoke<AccountView>("sign_in", { issuer });
}

/** `sign_in_cancel`; rejects with an `ErrorPayload`. */
export async function signInCancel(): Promise<null> {
  return invoke<null>("sign_in_cancel");
}

/** `sign_out`; rejects with an `ErrorPayload`. */
export async function signOut(): Promise<null> {
  return invoke<null>("sign_out");
}

/** `sync_run`; rejects with an `ErrorPayload`. */
export async function syncRun(onProgressHandler: (message: SyncProgress) => void): Promise<SyncReport> {
  const on_progress = new Channel<SyncProgress>();
  on_progress.onmessage = onProgressHandler;
  return invoke<SyncReport>("sync_run", { on_progress });
}

/** `sync_status`; rejects with an `ErrorPayload`. */
export async function syncStatus(): Promise<SyncStatus> {
  return invoke<SyncStatus>("sync_status");
}

/** `search`; rejects with an `ErrorPayload`. */
export async function search(query: string, limit: number): Promise<Array<SearchHit>> {
  return invoke<Array<SearchHit>>("search", { query, limit });
}

/** `orgs_list`; rejects with an `ErrorPayload`. */
export async function orgsList(): Promise<Array<Org>> {
  return invoke<Array<Org>>("orgs_list");
}

/** `orgs_recent`; rejects with an `ErrorPayload`. */
export async function orgsRecent(): Promise<Array<Org>> {
  return invoke<Array<Org>>("orgs_recent");
}

/** `org_get`; rejects with an `ErrorPayload`. */
export async function orgGet(orgId: OrgId): Promise<OrgSummary> {
  return invoke<OrgSummary>("org_get", { org_id: orgId });
}

/** `org_users`; rejects with an `ErrorPayload`. */
export async function orgUsers(orgId: OrgId): Promise<Array<CustomerUser>> {
  return invoke<Array<CustomerUser>>("org_users", { org_id: orgId });
}

/** `org_invoices`; rejects with an `ErrorPayload`. */
export async function orgInvoices(orgId: OrgId): Promise<Array<Invoice>> {
  return invoke<Array<Invoice>>("org_invoices", { org_id: orgId });
}

/** `org_vendors`; rejects with an `ErrorPayload`. */
export async function orgVendors(orgId: OrgId): Promise<Array<Vendor>> {
  return invoke<Array<Vendor>>("org_vendors", { org_id: orgId });
}

/** `org_payments`; rejects with an `ErrorPayload`. */
export async function orgPayments(orgId: OrgId): Promise<Array<Payment>> {
  return invoke<Array<Payment>>("org_payments", { org_id: orgId });
}

/** `reveal`; rejects with an `ErrorPayload`. */
export async function reveal(recordType: RecordType, recordId: string, field: string, reason: string): Promise<Revealed> {
  return invoke<Revealed>("reveal", { record_type: recordType, record_id: recordId, field, reason });
}

/** `approvals_list`; rejects with an `ErrorPayload`. */
export async function approvalsList(filter: ApprovalFilter): Promise<Page<Approval>> {
  return invoke<Page<Approval>>("approvals_list", { filter });
}

/** `approval_get`; rejects with an `ErrorPayload`. */
export async function approvalGet(approvalId: ApprovalId): Promise<Approval> {
  return invoke<Approval>("approval_get", { approval_id: approvalId });
}

/** `approval_decide`; rejects with an `ErrorPayload`. */
export async function approvalDecide(approvalId: ApprovalId, decision: DecideApproval): Promise<Approval> {
  return invoke<Approval>("approval_decide", { approval_id: approvalId, decision });
}

/** `approval_request`; rejects with an `ErrorPayload`. */
export async function approvalRequest(request: CreateApproval, idempotencyKey: string): Promise<Approval> {
  return invoke<Approval>("approval_request", { request, idempotency_key: idempotencyKey });
}

/** `approval_amend`; rejects with an `ErrorPayload`. */
export async function approvalAmend(approvalId: ApprovalId, amend: AmendApproval): Promise<Approval> {
  return invoke<Approval>("approval_amend", { approval_id: approvalId, amend });
}

/** `approval_cancel`; rejects with an `ErrorPayload`. */
export async function approvalCancel(approvalId: ApprovalId): Promise<Approval> {
  return invoke<Approval>("approval_cancel", { approval_id: approvalId });
}

/** `audit_search`; rejects with an `ErrorPayload`. */
export async function auditSearch(filter: AuditFilter): Promise<Page<AuditEvent>> {
  return invoke<Page<AuditEvent>>("audit_search", { filter });
}

/** `audit_export`; rejects with an `ErrorPayload`. */
export async function auditExport(filter: AuditFilter, format: ExportFormat, onProgressHandler: (message: ExportProgress) => void): Promise<ExportReport | null> {
  const on_progress = new Channel<ExportProgress>();
  on_progress.onmessage = onProgressHandler;
  return invoke<ExportReport | null>("audit_export", { filter, format, on_progress });
}

/** `audit_export_cancel`; rejects with an `ErrorPayload`. */
export async function auditExportCancel(): Promise<null> {
  return invoke<null>("audit_export_cancel");
}

/** `audit_verify`; rejects with an `ErrorPayload`. */
export async function auditVerify(): Promise<AuditVerification> {
  return invoke<AuditVerification>("audit_verify");
}

/** `notifications_watch`; rejects with an `ErrorPayload`. */
export async function notificationsWatch(onNotificationHandler: (message: Notification) => void): Promise<null> {
  const on_notification = new Channel<Notification>();
  on_notification.onmessage = onNotificationHandler;
  return invoke<null>("notifications_watch", { on_notification });
}

/** `notifications_list`; rejects with an `ErrorPayload`. */
export async function notificationsList(): Promise<Array<Notification>> {
  return invoke<Array<Notification>>("notifications_list");
}

/** `delegations_list`; rejects with an `ErrorPayload`. */
export async function delegationsList(): Promise<Array<Delegation>> {
  return invoke<Array<Delegation>>("delegations_list");
}

/** `delegates_list`; rejects with an `ErrorPayload`. */
export async function delegatesList(): Promise<Array<Delegate>> {
  return invoke<Array<Delegate>>("delegates_list");
}

/** `delegation_create`; rejects with an `ErrorPayload`. */
export async function delegationCreate(request: CreateDelegation): Promise<Delegation> {
  return invoke<Delegation>("delegation_create", { request });
}

/** `delegation_revoke`; rejects with an `ErrorPayload`. */
export async function delegationRevoke(delegationId: string): Promise<Delegation> {
  return invoke<Delegation>("delegation_revoke", { delegation_id: delegationId });
}

/** `sessions_list`; rejects with an `ErrorPayload`. */
export async function sessionsList(filter: ImpersonationFilter): Promise<Page<ImpersonationSession>> {
  return invoke<Page<ImpersonationSession>>("sessions_list", { filter });
}

/** `session_get`; rejects with an `ErrorPayload`. */
export async function sessionGet(sessionId: ImpersonationId): Promise<ImpersonationSession> {
  return invoke<ImpersonationSession>("session_get", { session_id: sessionId });
}

/** `session_answer`; rejects with an `ErrorPayload`. */
export async function sessionAnswer(sessionId: ImpersonationId, approve: boolean, comment: string): Promise<ImpersonationSession> {
  return invoke<ImpersonationSession>("session_answer", { session_id: sessionId, approve, comment });
}

/** `session_review`; rejects with an `ErrorPayload`. */
export async function sessionReview(sessionId: ImpersonationId, review: Review): Promise<ImpersonationSession> {
  return invoke<ImpersonationSession>("session_review", { session_id: sessionId, review });
}

/** `support_access`; rejects with an `ErrorPayload`. */
export async function supportAccess(orgId: OrgId): Promise<SupportAccessReport> {
  return invoke<SupportAccessReport>("support_access", { org_id: orgId });
}

/** `support_start`; rejects with an `ErrorPayload`. */
export async function supportStart(request: CreateImpersonation): Promise<SupportView> {
  return invoke<SupportView>("support_start", { request });
}

/** `support_status`; rejects with an `ErrorPayload`. */
export async function supportStatus(): Promise<SupportView | null> {
  return invoke<SupportView | null>("support_status");
}

/** `support_end`; rejects with an `ErrorPayload`. */
export async function supportEnd(): Promise<SupportView | null> {
  return invoke<SupportView | null>("support_end");
}

/** `customer_users`; rejects with an `ErrorPayload`. */
export async function customerUsers(): Promise<Array<CustomerUser>> {
  return invoke<Array<CustomerUser>>("customer_users");
}

/** `customer_invoices`; rejects with an `ErrorPayload`. */
export async function customerInvoices(): Promise<Array<Invoice>> {
  return invoke<Array<Invoice>>("customer_invoices");
}

/** `customer_update_user`; rejects with an `ErrorPayload`. */
export async function customerUpdateUser(userId: UserId, update: UpdateUser): Promise<CustomerUser> {
  return invoke<CustomerUser>("customer_update_user", { user_id: userId, update });
}

/** `customer_resend_invoice`; rejects with an `ErrorPayload`. */
export async function customerResendInvoice(invoiceId: InvoiceId): Promise<null> {
  return invoke<null>("customer_resend_invoice", { invoice_id: invoiceId });
}

/** `app_quit`; rejects with an `ErrorPayload`. */
export async function appQuit(): Promise<null> {
  return invoke<null>("app_quit");
}

/** `staff_list`; rejects with an `ErrorPayload`. */
export async function staffList(filter: StaffFilter): Promise<Array<StaffMember>> {
  return invoke<Array<StaffMember>>("staff_list", { filter });
}

/** `staff_create`; rejects with an `ErrorPayload`. */
export async function staffCreate(member: CreateStaff): Promise<StaffMember> {
  return invoke<StaffMember>("staff_create", { member });
}

/** `staff_update`; rejects with an `ErrorPayload`. */
export async function staffUpdate(staffId: StaffId, update: StaffUpdate): Promise<StaffMember> {
  return invoke<StaffMember>("staff_update", { staff_id: staffId, update });
}

/** `staff_deactivate`; rejects with an `ErrorPayload`. */
export async function staffDeactivate(staffId: StaffId, reason: string): Promise<StaffMember> {
  return invoke<StaffMember>("staff_deactivate", { staff_id: staffId, reason });
}

/** `staff_reactivate`; rejects with an `ErrorPayload`. */
export async function staffReactivate(staffId: StaffId): Promise<StaffMember> {
  return invoke<StaffMember>("staff_reactivate", { staff_id: staffId });
}

/** `settings_get`; rejects with an `ErrorPayload`. */
export async function settingsGet(): Promise<SettingsView> {
  return invoke<SettingsView>("settings_get");
}

/** `theme_set`; rejects with an `ErrorPayload`. */
export async function themeSet(theme: Theme): Promise<null> {
  return invoke<null>("theme_set", { theme });
}

/** `wipe_local_data`; rejects with an `ErrorPayload`. */
export async function wipeLocalData(): Promise<null> {
  return invoke<null>("wipe_local_data");
}

/** `update_check`; rejects with an `ErrorPayload`. */
export async function updateCheck(): Promise<UpdateView | null> {
  return invoke<UpdateView | null>("update_check");
}

/** `update_install`; rejects with an `ErrorPayload`. */
export async function updateInstall(onProgressHandler: (message: UpdateProgress) => void): Promise<null> {
  const on_progress = new Channel<UpdateProgress>();
  on_progress.onmessage = onProgressHandler;
  return invoke<null>("update_install", { on_progress });
}
