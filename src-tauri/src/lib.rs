//! The Countersign desktop shell: one managed state (`Desktop`, the server
//! and the signed-in account or none) and thin commands over it, grouped by
//! verb in `commands/`. No business logic here (DESIGN.md, "Layout").

mod commands;
mod trace;
pub mod update;

#[cfg(test)]
mod bindings;

use countersign_client::desktop::{Desktop, Options};
use countersign_client::discovery::Paths;
use std::sync::Arc;
use tauri::Manager;

/// Declares the app's commands once: the invoke handler, the list the
/// capability grants, and (in tests) the TypeScript wrappers' signatures.
macro_rules! app_commands {
    ($(
        $module:ident :: $name:ident ( $( $arg:ident : $ty:ty ),* $(; channel $ch:ident : $chty:ty)? ) -> $ret:ty ;
    )*) => {
        fn invoke_handler() -> impl Fn(tauri::ipc::Invoke<tauri::Wry>) -> bool + Send + Sync + 'static {
            tauri::generate_handler![$(commands::$module::$name),*]
        }

        /// Every command's name (each needs `allow-<name>` in the capability).
        pub const COMMANDS: &[&str] = &[$(stringify!($name)),*];

        /// (command, [(argument, TypeScript type)], channel argument, TypeScript result type)
        #[cfg(test)]
        #[allow(clippy::type_complexity)]
        pub(crate) fn command_signatures(cfg: &ts_rs::Config) -> Vec<(&'static str, Vec<(&'static str, String)>,
            Option<(&'static str, String)>, String)> {
            use ts_rs::TS;
            vec![$((
                stringify!($name),
                vec![$((stringify!($arg), <$ty as TS>::name(cfg))),*],
                None$(.or(Some((stringify!($ch), <$chty as TS>::name(cfg)))))?,
                <$ret as TS>::name(cfg),
            )),*]
        }
    };
}

#[allow(unused_imports)]
use countersign_client::{
    api::*,
    api_client::{ApprovalFilter, AuditFilter, ExportFormat, ImpersonationFilter, StaffFilter},
    desktop::*,
    search::Hit,
};

app_commands! {
    session::app_start() -> AppState;
    session::server_set(url: String) -> AppState;
    session::sign_in(issuer: String) -> AccountView;
    session::sign_in_cancel() -> ();
    session::sign_out() -> ();
    sync::sync_run(; channel on_progress: SyncProgress) -> SyncReport;
    sync::sync_status() -> SyncStatus;
    records::search(query: String, limit: u32) -> Vec<Hit>;
    records::orgs_list() -> Vec<Org>;
    records::orgs_recent() -> Vec<Org>;
    records::org_get(org_id: OrgId) -> OrgSummary;
    records::org_users(org_id: OrgId) -> Vec<CustomerUser>;
    records::org_invoices(org_id: OrgId) -> Vec<Invoice>;
    records::org_vendors(org_id: OrgId) -> Vec<Vendor>;
    records::org_payments(org_id: OrgId) -> Vec<Payment>;
    reveal::reveal(record_type: RecordType, record_id: uuid::Uuid, field: String, reason: String) -> Revealed;
    approvals::approvals_list(filter: ApprovalFilter) -> Page<Approval>;
    approvals::approval_get(approval_id: ApprovalId) -> Approval;
    approvals::approval_decide(approval_id: ApprovalId, decision: DecideApproval) -> Approval;
    approvals::approval_request(request: CreateApproval, idempotency_key: String) -> Approval;
    approvals::approval_amend(approval_id: ApprovalId, amend: AmendApproval) -> Approval;
    approvals::approval_cancel(approval_id: ApprovalId) -> Approval;
    audit::audit_search(filter: AuditFilter) -> Page<AuditEvent>;
    audit::audit_export(filter: AuditFilter, format: ExportFormat; channel on_progress: ExportProgress)
        -> Option<ExportReport>;
    audit::audit_export_cancel() -> ();
    audit::audit_verify() -> AuditVerification;
    notifications::notifications_watch(; channel on_notification: Notification) -> ();
    notifications::notifications_list() -> Vec<Notification>;
    notifications::delegations_list() -> Vec<Delegation>;
    notifications::delegates_list() -> Vec<Delegate>;
    notifications::delegation_create(request: CreateDelegation) -> Delegation;
    notifications::delegation_revoke(delegation_id: uuid::Uuid) -> Delegation;
    sessions::sessions_list(filter: ImpersonationFilter) -> Page<ImpersonationSession>;
    sessions::session_get(session_id: ImpersonationId) -> ImpersonationSession;
    sessions::session_answer(session_id: ImpersonationId, approve: bool, comment: String) -> ImpersonationSession;
    sessions::session_review(session_id: ImpersonationId, review: Review) -> ImpersonationSession;
    support::support_access(org_id: OrgId) -> SupportAccessReport;
    support::support_start(request: CreateImpersonation) -> SupportView;
    support::support_status() -> Option<SupportView>;
    support::support_end() -> Option<SupportView>;
    support::customer_users() -> Vec<CustomerUser>;
    support::customer_invoices() -> Vec<Invoice>;
    support::customer_update_user(user_id: UserId, update: UpdateUser) -> CustomerUser;
    support::customer_resend_invoice(invoice_id: InvoiceId) -> ();
    support::app_quit() -> ();
    staff::staff_list(filter: StaffFilter) -> Vec<StaffMember>;
    staff::staff_create(member: CreateStaff) -> StaffMember;
    staff::staff_update(staff_id: StaffId, update: StaffUpdate) -> StaffMember;
    staff::staff_deactivate(staff_id: StaffId, reason: String) -> StaffMember;
    staff::staff_reactivate(staff_id: StaffId) -> StaffMember;
    settings::settings_get() -> SettingsView;
    settings::theme_set(theme: Theme) -> ();
    settings::wipe_local_data() -> ();
    update::update_check() -> Option<UpdateView>;
    update::update_install(; channel on_progress: UpdateProgress) -> ();
}

/// Builds and runs the application; returns when the last window closes.
/// WebKitGTK's accelerated compositing off, unless the user set
/// `WEBKIT_DISABLE_COMPOSITING_MODE` themselves. The app draws tables and
/// forms, which need no compositing; on a machine without a GPU driver (a
/// virtual desktop, a VM, Xvfb) it goes through a software GL that made
/// every frame slow: measured (`scripts/bench app-search`, 100k records),
/// keystroke to the next frame p50 141 ms with it, 6 ms without; idle frames
/// 53/s with 106 ms gaps, 113/s with 17 ms. Call it first in `main`.
#[cfg(target_os = "linux")]
pub fn without_accelerated_compositing() {
    if std::env::var_os("WEBKIT_DISABLE_COMPOSITING_MODE").is_none() {
        std::env::set_var("WEBKIT_DISABLE_COMPOSITING_MODE", "1");
    }
}

pub fn run() {
    let desktop = Desktop::new(
        Paths::from_env(),
        std::env::var("COUNTERSIGN_API_URL").ok(),
        Arc::new(countersign_client::secrets::KeyringSecretStore::new()),
        Arc::new(countersign_client::browser::SystemBrowser),
        Options::default(),
    );
    tauri::Builder::default()
        // First: a second launch hands over to the running app, which comes
        // to the front, and exits before it opens anything.
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            if let Some(w) = app.get_webview_window("main") {
                let _ = w.unminimize();
                let _ = w.set_focus();
            }
        }))
        // The export's save dialog, opened from Rust (commands/audit.rs): the
        // webview is granted none of the plugin's commands.
        .plugin(tauri_plugin_dialog::init())
        // OS notifications, shown from Rust (commands/notifications.rs): the
        // webview is granted none of the plugin's commands.
        .plugin(tauri_plugin_notification::init())
        // Signed updates, checked and installed from Rust (crate::update):
        // the webview is granted none of the plugin's commands.
        .plugin(update::plugin())
        .manage(update::Updates::default())
        .manage(desktop)
        // The start's network round trips and the cache's opening run while
        // WebKit starts and loads the page (scripts/bench app: cold start).
        .setup(|app| {
            let handle = app.handle().clone();
            tauri::async_runtime::spawn(async move { handle.state::<Desktop>().start_early().await });
            Ok(())
        })
        // Closing the window quits the app: a support session ends on the
        // server first (issue 21: nobody stays logged in as a customer).
        .on_window_event(|window, event| {
            if let tauri::WindowEvent::CloseRequested { api, .. } = event {
                if window.state::<Desktop>().in_support() {
                    api.prevent_close();
                    let window = window.clone();
                    tauri::async_runtime::spawn(async move {
                        window.state::<Desktop>().end_support_on_quit().await;
                        let _ = window.destroy();
                    });
                }
            }
        })
        .invoke_handler(invoke_handler())
        .run(tauri::generate_context!("../tauri.conf.json"))
        .expect("error while running Countersign");
}
