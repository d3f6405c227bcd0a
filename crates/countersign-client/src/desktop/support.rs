//! Support sessions from the agent's side (issue 21, point 3): the one
//! session this app is in (waiting for a supervisor, or active), the
//! customer's view through it, and ending it, also when the app quits.
//!
//! The server decides everything: whether a session may start, whether it
//! must wait, what the subject may see and do, when it is over. The app keeps
//! only which session it is in, so that every request it makes while the
//! session is active carries the session's header: the staff actions the
//! window hides are then refused by the server (`not_while_impersonating`)
//! if something calls them anyway, instead of quietly acting as staff.

use super::{lock, Desktop};
use crate::account::Account;
use crate::api_client::{ApiClient, ImpersonationFilter, InvoiceFilter, ListParams};
use crate::error::{Code, ErrorPayload, HasCode};
use countersign_api::{
    CreateImpersonation, CustomerUser, ImpersonationSession, Invoice, InvoiceId, Org, OrgId, RecordType,
    SupportAccessReport, UpdateUser, UserId, LIMIT_MAX,
};
use serde::Serialize;
use std::time::Duration;

/// The support session as the window shows it: its banner, its countdown.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SupportView {
    pub session: ImpersonationSession,
    pub subject_name: String,
    pub org_name: String,
    /// The server's clock minus this machine's, in milliseconds, from the
    /// server's last answer: the countdown to `expires_at` runs on the
    /// server's time (UI.md), not on a local clock that may be off.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub clock_offset_ms: i64,
}

impl SupportView {
    /// Waiting for a supervisor, or active: the app is in it.
    fn current(&self) -> bool {
        matches!(self.session.status.as_str(), "pending_approval" | "active")
    }
    fn active(&self) -> bool {
        self.session.status == "active"
    }
}

/// Rows the customer's view lists at most per table: a customer's own org
/// is small; a huge one shows its first rows and says so.
const CUSTOMER_VIEW_ROWS: usize = 1000;
/// How long quitting waits for the server to end the session.
const END_ON_QUIT: Duration = Duration::from_secs(3);

fn no_session() -> ErrorPayload {
    ErrorPayload::new(Code::NoSupportSession, "You are not in a support session.")
}

impl Desktop {
    /// Starts a support session on a customer user (the server checks the
    /// reason, ticket, scope, duration, consent and whether a supervisor must
    /// approve it first). One at a time: a current one must end first.
    pub async fn start_support(&self, req: CreateImpersonation) -> Result<SupportView, ErrorPayload> {
        let account = self.account().await?;
        if lock(&self.support).as_ref().is_some_and(SupportView::current) {
            return Err(ErrorPayload::new(
                Code::SupportSessionOpen,
                "You are already in a support session. End it before you start another.",
            ));
        }
        let session = self.answered(account.api().create_impersonation(&req).await).await?;
        let (subject_name, org_name) = names(&account, session.subject_user_id, session.org_id).await;
        let view = SupportView {
            session,
            subject_name,
            org_name,
            clock_offset_ms: account.api().clock_offset_ms(),
        };
        *lock(&self.support) = Some(view.clone());
        Ok(view)
    }

    /// The session this app is in, as the server sees it now: a waiting one
    /// may have been approved (its clock starts then) or rejected; an active
    /// one may have expired or been ended by a supervisor. One that is over
    /// is returned once, with its final status (the window says why), and
    /// forgotten.
    pub async fn support(&self) -> Result<Option<SupportView>, ErrorPayload> {
        let account = self.account().await?;
        let Some(mut view) = lock(&self.support).clone() else {
            return Ok(None);
        };
        view.session = self.latest(&account, &view.session).await?;
        view.clock_offset_ms = account.api().clock_offset_ms();
        self.keep(&view);
        Ok(Some(view))
    }

    /// Ends the session on the server (also one still waiting for approval)
    /// and leaves it. Offline, the app stays in it: the server would still
    /// count it as running.
    pub async fn end_support(&self) -> Result<Option<SupportView>, ErrorPayload> {
        let account = self.account().await?;
        let Some(mut view) = lock(&self.support).clone() else {
            return Ok(None);
        };
        match account.api().end_impersonation(view.session.id).await {
            Ok(session) => {
                *lock(&self.offline_since) = None;
                view.session = session;
            }
            // Already over on the server (expired, ended by a supervisor,
            // the agent's access changed): the app just leaves it.
            Err(e) if matches!(e.code(), Code::NotPending | Code::NotFound) => {
                view.session = self.latest(&account, &view.session).await?;
            }
            Err(e) => return Err(self.failed(e.into()).await),
        }
        view.clock_offset_ms = account.api().clock_offset_ms();
        *lock(&self.support) = None;
        Ok(Some(view))
    }

    /// In a session (waiting or active): closing the window must end it first.
    pub fn in_support(&self) -> bool {
        lock(&self.support).is_some()
    }

    /// At quit or window close: ends a current session on the server first,
    /// waiting at most a few seconds (an unreachable server must not keep
    /// the app from closing; the server ends the session at `expires_at`).
    pub async fn end_support_on_quit(&self) {
        if lock(&self.support).is_none() {
            return;
        }
        let _ = tokio::time::timeout(END_ON_QUIT, self.end_support()).await;
    }

    /// Who may be supported in an org, as the start dialog explains it: the
    /// org's support-access mode and its customers' grants (API.md
    /// "Customer evidence").
    pub async fn support_access(&self, org: OrgId) -> Result<SupportAccessReport, ErrorPayload> {
        let account = self.account().await?;
        self.answered(account.api().support_access(org).await).await
    }

    // ---------- the customer's view, through the session ----------

    /// The users the subject sees in their org.
    pub async fn customer_users(&self) -> Result<Vec<CustomerUser>, ErrorPayload> {
        let (api, org) = self.inside().await?;
        let mut rows = Vec::new();
        let mut cursor = None;
        loop {
            let page = ListParams {
                limit: Some(LIMIT_MAX),
                cursor,
            };
            let r = api.list_users(org, &page).await;
            let page = self.in_session(r).await?;
            rows.extend(page.items);
            cursor = page.next_cursor;
            if cursor.is_none() || rows.len() >= CUSTOMER_VIEW_ROWS {
                return Ok(rows);
            }
        }
    }

    /// The invoices the subject sees in their org.
    pub async fn customer_invoices(&self) -> Result<Vec<Invoice>, ErrorPayload> {
        let (api, org) = self.inside().await?;
        let mut rows = Vec::new();
        let mut cursor = None;
        loop {
            let filter = InvoiceFilter {
                status: None,
                limit: Some(LIMIT_MAX),
                cursor,
            };
            let r = api.list_invoices(org, &filter).await;
            let page = self.in_session(r).await?;
            rows.extend(page.items);
            cursor = page.next_cursor;
            if cursor.is_none() || rows.len() >= CUSTOMER_VIEW_ROWS {
                return Ok(rows);
            }
        }
    }

    /// A customer action on the subject's behalf: a `write` session only
    /// (a `read` one is refused with `scope_exceeded`).
    pub async fn customer_update_user(&self, id: UserId, update: UpdateUser) -> Result<CustomerUser, ErrorPayload> {
        let (api, _) = self.inside().await?;
        let r = api.update_user(id, &update).await;
        self.in_session(r).await
    }

    /// The other customer action: send an invoice to the customer again.
    pub async fn customer_resend_invoice(&self, id: InvoiceId) -> Result<(), ErrorPayload> {
        let (api, _) = self.inside().await?;
        let r = api.resend_invoice(id).await;
        self.in_session(r).await.map(|_| ())
    }

    /// The API client every staff action goes through: inside an active
    /// session it carries the session's header, so the server refuses what a
    /// support session may not do rather than doing it as staff.
    pub(super) fn acting<'a>(&self, account: &'a Account) -> std::borrow::Cow<'a, ApiClient> {
        match lock(&self.support).as_ref().filter(|v| v.active()) {
            Some(v) => std::borrow::Cow::Owned(account.api().with_impersonation(v.session.id)),
            None => std::borrow::Cow::Borrowed(account.api()),
        }
    }

    /// The client inside the active session, and the subject's org.
    async fn inside(&self) -> Result<(ApiClient, OrgId), ErrorPayload> {
        let account = self.account().await?;
        let view = lock(&self.support)
            .clone()
            .filter(SupportView::active)
            .ok_or_else(no_session)?;
        Ok((account.api().with_impersonation(view.session.id), view.session.org_id))
    }

    /// An answer inside the session: past `expires_at` the server says
    /// `impersonation_expired`, and the app leaves the session.
    async fn in_session<T, E: Into<ErrorPayload>>(&self, r: Result<T, E>) -> Result<T, ErrorPayload> {
        let r = self.answered(r).await;
        if let Err(e) = &r {
            if matches!(e.code, Code::ImpersonationExpired | Code::ImpersonationNotActive) {
                *lock(&self.support) = None;
            }
        }
        r
    }

    /// The session as the server has it now, from the agent's own list
    /// (newest first: the current one is at its top). Not `GET
    /// /v1/impersonations/{id}`: that opens the timeline, which the server
    /// audits, and a poll every few seconds would fill the log.
    async fn latest(
        &self,
        account: &Account,
        session: &ImpersonationSession,
    ) -> Result<ImpersonationSession, ErrorPayload> {
        let filter = ImpersonationFilter {
            limit: Some(10),
            ..ImpersonationFilter::default()
        };
        let page = self.answered(account.api().list_impersonations(&filter).await).await?;
        Ok(page
            .items
            .into_iter()
            .find(|s| s.id == session.id)
            // Not among the newest: long over (the list shows every session of the agent).
            .unwrap_or_else(|| ImpersonationSession {
                status: "ended".into(),
                ..session.clone()
            }))
    }

    /// Keeps a session that is still current; forgets one that is over.
    fn keep(&self, view: &SupportView) {
        *lock(&self.support) = view.current().then(|| view.clone());
    }
}

/// The subject's and the org's names from the cache (synced before the
/// session: the agent found the user there); the ids when it lacks them.
async fn names(account: &Account, user: UserId, org: OrgId) -> (String, String) {
    let user_name = account
        .record::<CustomerUser>(RecordType::User, user.0)
        .await
        .ok()
        .flatten()
        .map(|u| u.name);
    let org_name = account
        .record::<Org>(RecordType::Org, org.0)
        .await
        .ok()
        .flatten()
        .map(|o| o.name);
    (
        user_name.unwrap_or_else(|| "a customer user".into()),
        org_name.unwrap_or_else(|| "their organisation".into()),
    )
}
