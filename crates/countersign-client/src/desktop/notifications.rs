//! Notifications and out-of-office delegation (issue 21, point 2).
//!
//! The server derives every notification from the approvals and sessions
//! themselves and never tells anyone about their own actions; the app only
//! carries them: [`Desktop::watch_notifications`] keeps the event stream open
//! while someone is signed in (reconnecting with backoff) and hands each
//! notification on, saying whether it is new to this run of the app, so the
//! shell shows an OS notification once and not again at every reconnect
//! (the server replays what is current on each new stream).

use super::{lock, Desktop};
use crate::account::Account;
use crate::error::{Code, ErrorPayload};
use countersign_api::{ApprovalKind, CreateDelegation, Decision, Delegate, Delegation, Notification, NotificationKind};
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use time::OffsetDateTime;

/// The first wait before reconnecting; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// Notifications this much older than the watch's start are not news: they
/// happened while the app was closed, and the centre lists them unread.
const NEWS_SLACK: time::Duration = time::Duration::seconds(30);

/// A notification, and whether it is news to this run of the app.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivered {
    pub notification: Notification,
    /// True once per notification, for what happened since the app started
    /// watching (and for an expiry, the first time it is heard of).
    pub news: bool,
}

/// The one watch per app: a newer one (the window reloaded) ends the older,
/// and what was announced stays announced.
#[derive(Debug, Default)]
pub(super) struct Watch {
    generation: AtomicU64,
    state: Mutex<Announced>,
    /// Woken when the signed-in account changes or a newer watch starts:
    /// sign-out does not close the server's stream, so a watch waits on this.
    changed: tokio::sync::Notify,
}

impl Watch {
    /// The signed-in account changed (signed in, out, or ended under us).
    pub(super) fn account_changed(&self) {
        self.changed.notify_waiters();
    }
}

#[derive(Debug, Default)]
struct Announced {
    /// Whose notifications these are (a different account starts afresh).
    account: Option<String>,
    since: Option<OffsetDateTime>,
    keys: HashSet<(NotificationKind, Option<uuid::Uuid>, i128)>,
}

fn key(n: &Notification) -> (NotificationKind, Option<uuid::Uuid>, i128) {
    let about = n.approval_id.map(|a| a.0).or(n.impersonation_id.map(|i| i.0));
    (n.kind, about, n.at.unix_timestamp_nanos())
}

impl Announced {
    fn deliver(&mut self, n: Notification) -> Delivered {
        let fresh = self.keys.insert(key(&n));
        let expiry = matches!(
            n.kind,
            NotificationKind::ExpiresSoon | NotificationKind::MyRequestExpiresSoon
        );
        let recent = self.since.is_none_or(|s| n.at >= s - NEWS_SLACK);
        Delivered {
            news: fresh && (expiry || recent),
            notification: n,
        }
    }
}

impl Desktop {
    /// Notifications as they stand (the server's latest 200), for the
    /// centre when it opens: what it holds unread is kept by the window.
    pub async fn notifications(&self) -> Result<Vec<Notification>, ErrorPayload> {
        let account = self.account().await?;
        self.answered(account.api().notifications(None).await).await
    }

    /// Runs until the user signs out or a newer watch starts: every
    /// notification the server streams goes to `on`, in order. Offline or
    /// a stream the server ended: it reconnects after 1, 2, 4 … 60 s. A
    /// session that ended under it (refused refresh, disabled account) signs
    /// out like any other request, and the watch ends.
    pub async fn watch_notifications(&self, mut on: impl FnMut(Delivered)) -> Result<(), ErrorPayload> {
        let generation = self.notify.generation.fetch_add(1, Ordering::SeqCst) + 1;
        // The older watch, if any, ends now.
        self.notify.changed.notify_waiters();
        let account = self.account().await?;
        {
            let who = Some(format!("{} {}", account.identity().issuer, account.identity().subject));
            let mut state = lock(&self.notify.state);
            if state.account != who {
                *state = Announced {
                    account: who,
                    since: Some(OffsetDateTime::now_utc()),
                    keys: HashSet::new(),
                };
            }
        }
        let mut backoff = FIRST_BACKOFF;
        loop {
            if !self.still_watching(generation, &account).await {
                return Ok(());
            }
            match account.api().notification_stream().await {
                Ok(mut stream) => {
                    *lock(&self.offline_since) = None;
                    loop {
                        let next = tokio::select! {
                            n = stream.next() => n,
                            _ = self.until_not_watching(generation, &account) => return Ok(()),
                        };
                        match next {
                            Some(Ok(n)) => {
                                backoff = FIRST_BACKOFF;
                                on(lock(&self.notify.state).deliver(n));
                            }
                            // Ended (after ten minutes, or the server drains), or broken: again.
                            Some(Err(_)) | None => break,
                        }
                    }
                }
                Err(e) => {
                    let e = self.failed(e.into()).await;
                    if !self.still_watching(generation, &account).await {
                        return Ok(());
                    }
                    if e.code == Code::Forbidden {
                        // No staff person to notify (the server said so): nothing to wait for.
                        return Err(e);
                    }
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = self.until_not_watching(generation, &account) => return Ok(()),
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    async fn still_watching(&self, generation: u64, account: &Arc<Account>) -> bool {
        self.notify.generation.load(Ordering::SeqCst) == generation
            && self
                .signed_in
                .read()
                .await
                .as_ref()
                .is_some_and(|s| Arc::ptr_eq(&s.account, account))
    }

    async fn until_not_watching(&self, generation: u64, account: &Arc<Account>) {
        loop {
            // Registered before the check, so a change between the two is not missed.
            let changed = self.notify.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if !self.still_watching(generation, account).await {
                return;
            }
            changed.await;
        }
    }

    // ---------- out of office ----------

    /// The delegations I gave and those given to me, with both names.
    pub async fn delegations(&self) -> Result<Vec<Delegation>, ErrorPayload> {
        let account = self.account().await?;
        self.answered(account.api().list_delegations().await).await
    }
    /// Whom I may delegate to (active approvers other than me).
    pub async fn delegates(&self) -> Result<Vec<Delegate>, ErrorPayload> {
        let account = self.account().await?;
        self.answered(account.api().delegates().await).await
    }
    /// Hands my approvals to a delegate for a window (the server checks the
    /// dates, at most 31 days, and that the delegate is an approver).
    pub async fn delegate(&self, req: CreateDelegation) -> Result<Delegation, ErrorPayload> {
        let account = self.account().await?;
        self.answered(account.api().create_delegation(&req).await).await
    }
    pub async fn revoke_delegation(&self, id: uuid::Uuid) -> Result<Delegation, ErrorPayload> {
        let account = self.account().await?;
        self.answered(account.api().revoke_delegation(id).await).await
    }
}

fn kind_words(k: Option<ApprovalKind>) -> &'static str {
    match k {
        Some(ApprovalKind::Refund) => "refund",
        Some(ApprovalKind::CreditNote) => "credit note",
        Some(ApprovalKind::VendorBankChange) => "bank account change",
        Some(ApprovalKind::PayoutRelease) => "payout release",
        Some(ApprovalKind::DataExport) => "data export",
        None => "request",
    }
}

/// "refund of 300.00 EUR for Acme Corporation"
fn request_words(n: &Notification) -> String {
    let mut s = kind_words(n.approval_kind).to_owned();
    if let Some(m) = &n.amount {
        s.push_str(" of ");
        s.push_str(&m.display());
    }
    if let Some(org) = &n.org_name {
        s.push_str(" for ");
        s.push_str(org);
    }
    s
}

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// An OS notification's title and body, in words (UI.md: never a code).
pub fn words(n: &Notification) -> (String, String) {
    let what = request_words(n);
    let by = |verb: &str| match &n.actor_name {
        Some(who) => format!("{who} {verb}"),
        None => format!("Someone {verb}"),
    };
    match n.kind {
        NotificationKind::ToDecide => (
            "Waits for your decision".into(),
            match &n.actor_name {
                Some(who) => format!("{}, requested by {who}.", capitalized(&what)),
                None => format!("{}.", capitalized(&what)),
            },
        ),
        NotificationKind::ExpiresSoon => (
            "Expires within 24 hours".into(),
            format!(
                "{}, which waits for your decision, expires within 24 hours.",
                capitalized(&what)
            ),
        ),
        NotificationKind::MyRequestExpiresSoon => (
            "Your request expires within 24 hours".into(),
            format!("Your {what} still waits for approval and expires within 24 hours."),
        ),
        NotificationKind::Decided => {
            let verb = match n.decision {
                Some(Decision::Reject) => "rejected",
                _ => "approved",
            };
            (format!("Your request was {verb}"), format!("{} your {what}.", by(verb)))
        }
        NotificationKind::Executed => (
            "Your request was carried out".into(),
            format!("Your {what} was executed."),
        ),
        NotificationKind::SessionToApprove => (
            "A support session waits for your approval".into(),
            match &n.org_name {
                Some(org) => format!("{} to act as a customer of {org}.", by("asks")),
                None => format!("{} to act as a customer.", by("asks")),
            },
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use countersign_api::{ApprovalId, Currency, ImpersonationId, Money};

    fn n(kind: NotificationKind, at: OffsetDateTime) -> Notification {
        Notification {
            kind,
            approval_id: Some(ApprovalId(uuid::Uuid::from_u128(1))),
            approval_kind: Some(ApprovalKind::Refund),
            impersonation_id: None,
            amount: Some(Money::new(3_000_000, Currency::parse("EUR").unwrap())),
            org_name: Some("Acme Corporation".into()),
            actor_name: Some("Carl Jensen".into()),
            decision: None,
            at,
        }
    }

    #[test]
    fn each_kind_reads_as_a_sentence() {
        let at = OffsetDateTime::UNIX_EPOCH;
        assert_eq!(
            words(&n(NotificationKind::ToDecide, at)),
            (
                "Waits for your decision".into(),
                "Refund of 30,000.00 EUR for Acme Corporation, requested by Carl Jensen.".into()
            )
        );
        let mut d = n(NotificationKind::Decided, at);
        d.actor_name = Some("Ana Costa".into());
        d.decision = Some(Decision::Reject);
        assert_eq!(
            words(&d).1,
            "Ana Costa rejected your refund of 30,000.00 EUR for Acme Corporation."
        );
        let mut s = n(NotificationKind::SessionToApprove, at);
        s.approval_id = None;
        s.approval_kind = None;
        s.amount = None;
        s.impersonation_id = Some(ImpersonationId(uuid::Uuid::from_u128(2)));
        s.actor_name = Some("Alice".into());
        assert_eq!(words(&s).1, "Alice asks to act as a customer of Acme Corporation.");
    }

    #[test]
    fn news_is_told_once_and_old_news_not_at_all() {
        let start = OffsetDateTime::now_utc();
        let mut a = Announced {
            account: Some("carl".into()),
            since: Some(start),
            keys: HashSet::new(),
        };
        let fresh = n(NotificationKind::Decided, start + time::Duration::seconds(5));
        assert!(a.deliver(fresh.clone()).news);
        // The server replays it on the next stream: not news again.
        assert!(!a.deliver(fresh).news);
        // It happened while the app was closed: listed, not announced.
        assert!(
            !a.deliver(n(NotificationKind::Executed, start - time::Duration::hours(3)))
                .news
        );
        // An expiry is about the future: announced the first time it is heard of.
        let soon = n(
            NotificationKind::MyRequestExpiresSoon,
            start + time::Duration::hours(20),
        );
        assert!(a.deliver(soon.clone()).news);
        assert!(!a.deliver(soon).news);
    }
}
