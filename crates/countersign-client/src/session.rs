//! The token lifecycle of a signed-in user (issue 6, point 2; DESIGN.md
//! invariant 6).
//!
//! - The access token lives only in this process's memory.
//! - The refresh token lives in the OS keyring under (issuer, subject)
//!   (`secrets::refresh_token_service`), so the app can resume after a restart.
//! - The access token is renewed `refresh_ahead` before it expires, and once
//!   more when the server answers 401 to it (clock skew, a key rotation).
//! - Refresh tokens rotate. The rotated one is written to the keyring *before*
//!   the new access token is handed out: if the write fails the call fails, so
//!   the app never works on a token pair it could lose on a crash (the next
//!   call retries the write first).
//! - A refresh the provider refuses (reuse detected, grant revoked, expired)
//!   ends the session cleanly: tokens dropped, the keyring entry deleted, every
//!   later call `signed_out` with a message for the user, and no further
//!   request to the provider.
//! - One refresh at a time (a tokio mutex held across it): two concurrent
//!   refreshes with the same rotating token would look like reuse to the
//!   provider and revoke the whole grant.
//!
//! No keyring (no Secret Service on the session bus) → the session works in
//! memory only and says so ([`Persistence::MemoryOnly`]); the user signs in
//! again next start. Never a file fallback.
//!
//! No refresh token (a provider that does not grant `offline_access` to
//! native apps) → the session lasts as long as the access token, in memory
//! only, and says when it ends; then it ends ([`Ended::Lapsed`]) and the user
//! signs in again through the browser.

use crate::api_client::{BoxFuture, ClientError, TokenProvider};
use crate::error::{Code, HasCode};
use crate::oidc::{Identity, Provider, SignInError, Tokens};
use crate::secrets::{self, SecretError, SecretStore, Sensitive};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::Mutex;

/// Renew the access token this long before it expires, by default.
pub const DEFAULT_REFRESH_AHEAD: Duration = Duration::from_secs(60);

/// Where the refresh token is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Persistence {
    /// In the OS keyring: the session survives a restart.
    Keyring,
    /// The keyring is unavailable: memory only, sign in again next start.
    /// Show `reason` to the user.
    MemoryOnly { reason: String },
}

/// Why a session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// The user signed out.
    SignedOut,
    /// The provider refused to renew the session (reuse, revocation, expiry).
    RefreshRefused { detail: String },
    /// The provider granted no refresh token and the access token expired.
    Lapsed,
}

impl Ended {
    /// What the UI tells the user.
    pub fn message(&self) -> String {
        match self {
            Ended::SignedOut => "You have signed out.".into(),
            Ended::RefreshRefused { detail } => {
                format!("Your session has ended: the identity provider refused to renew it ({detail}). Sign in again.")
            }
            Ended::Lapsed => "Your session has ended: your identity provider does not let this app renew it. Sign in \
                              again."
                .into(),
        }
    }
}

enum State {
    Active {
        tokens: Tokens,
        /// The rotated refresh token is not yet in the keyring: write it
        /// before the access token is used.
        unsaved: bool,
    },
    Ended(Ended),
}

/// A signed-in user's tokens; the [`TokenProvider`] of their `ApiClient`.
pub struct Session {
    provider: Provider,
    secrets: Arc<dyn SecretStore>,
    identity: Identity,
    persistence: Persistence,
    refresh_ahead: Duration,
    state: Mutex<State>,
    refreshes: AtomicU64,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("identity", &self.identity)
            .field("persistence", &self.persistence)
            .finish_non_exhaustive()
    }
}

/// Why a session could not be started or resumed.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("no saved session for this user: sign in")]
    NoSavedSession,
    #[error("{}", .0.message())]
    Ended(Ended),
    #[error(transparent)]
    SignIn(#[from] SignInError),
    #[error("the OS keyring failed: {0}")]
    Keyring(#[from] SecretError),
}

impl HasCode for SessionError {
    fn code(&self) -> Code {
        match self {
            SessionError::NoSavedSession => Code::NotSignedIn,
            SessionError::Ended(_) => Code::SignedOut,
            SessionError::SignIn(e) => e.code(),
            SessionError::Keyring(_) => Code::KeyringUnavailable,
        }
    }
}

impl Session {
    /// Starts a session with the tokens of a sign-in: the refresh token goes
    /// to the keyring (or the session is memory-only when there is none).
    pub fn begin(provider: Provider, secrets: Arc<dyn SecretStore>, tokens: Tokens) -> Session {
        let identity = tokens.identity.clone();
        let persistence = match &tokens.refresh_token {
            Some(refresh_token) => {
                match secrets::store_refresh_token(secrets.as_ref(), &identity.issuer, &identity.subject, refresh_token)
                {
                    Ok(()) => Persistence::Keyring,
                    Err(e) => Persistence::MemoryOnly { reason: e.to_string() },
                }
            }
            None => {
                // A refresh token from an earlier sign-in is of no use now.
                let _ = secrets::delete_refresh_token(secrets.as_ref(), &identity.issuer, &identity.subject);
                Persistence::MemoryOnly {
                    reason: format!(
                        "Your identity provider does not let this app stay signed in: this session ends at {} \
                         UTC, and the app asks you to sign in again through your browser then.",
                        tokens
                            .expires_at
                            .format(time::macros::format_description!("[hour]:[minute]"))
                            .unwrap_or_default()
                    ),
                }
            }
        };
        Self::new(
            provider,
            secrets,
            identity,
            persistence,
            State::Active { tokens, unsaved: false },
        )
    }

    /// Resumes the saved session of `subject` at the provider's issuer (app
    /// start): a refresh with the refresh token from the keyring. A refused
    /// refresh deletes the entry and is `SessionError::Ended`.
    pub async fn resume(
        provider: Provider,
        secrets: Arc<dyn SecretStore>,
        subject: &str,
    ) -> Result<Session, SessionError> {
        let issuer = provider.issuer().to_owned();
        let refresh_token =
            secrets::load_refresh_token(secrets.as_ref(), &issuer, subject)?.ok_or(SessionError::NoSavedSession)?;
        let identity = Identity {
            issuer,
            subject: subject.to_owned(),
            name: None,
            email: None,
        };
        // Expired on arrival: the first use refreshes.
        let tokens = Tokens {
            access_token: Sensitive::new(String::new()),
            refresh_token: Some(refresh_token),
            id_token: Sensitive::new(String::new()),
            identity: identity.clone(),
            expires_at: OffsetDateTime::UNIX_EPOCH,
        };
        let session = Self::new(
            provider,
            secrets,
            identity,
            Persistence::Keyring,
            State::Active { tokens, unsaved: false },
        );
        match session.current_access_token().await {
            Ok(_) => Ok(session),
            Err(ClientError::SignedOut(_)) => {
                Err(SessionError::Ended(session.ended().await.unwrap_or(Ended::SignedOut)))
            }
            Err(ClientError::Transport(e)) => Err(SessionError::SignIn(SignInError::TokenRequest(e))),
            Err(e) => Err(SessionError::SignIn(SignInError::TokenRequest(e.to_string()))),
        }
    }

    fn new(
        provider: Provider,
        secrets: Arc<dyn SecretStore>,
        identity: Identity,
        persistence: Persistence,
        state: State,
    ) -> Session {
        Session {
            provider,
            secrets,
            identity,
            persistence,
            refresh_ahead: DEFAULT_REFRESH_AHEAD,
            state: Mutex::new(state),
            refreshes: AtomicU64::new(0),
        }
    }

    /// Renew this long before expiry (default one minute).
    pub fn with_refresh_ahead(mut self, ahead: Duration) -> Session {
        self.refresh_ahead = ahead;
        self
    }

    pub fn identity(&self) -> &Identity {
        &self.identity
    }
    pub fn persistence(&self) -> &Persistence {
        &self.persistence
    }
    pub fn provider(&self) -> &Provider {
        &self.provider
    }
    pub fn secrets(&self) -> &Arc<dyn SecretStore> {
        &self.secrets
    }
    /// Refreshes made at the provider so far (successful or not).
    pub fn refresh_count(&self) -> u64 {
        self.refreshes.load(Ordering::SeqCst)
    }
    /// `Some` once the session has ended.
    pub async fn ended(&self) -> Option<Ended> {
        match &*self.state.lock().await {
            State::Ended(e) => Some(e.clone()),
            State::Active { .. } => None,
        }
    }

    /// The access token, renewed first when it expires within `refresh_ahead`.
    async fn current_access_token(&self) -> Result<Sensitive<String>, ClientError> {
        let mut state = self.state.lock().await;
        let due = match &*state {
            State::Ended(e) => return Err(ClientError::SignedOut(e.message())),
            State::Active { tokens, .. } => OffsetDateTime::now_utc() + self.refresh_ahead >= tokens.expires_at,
        };
        if due {
            match self.refresh_locked(&mut state).await {
                Ok(()) => {}
                // Early renewal is opportunistic: a provider that cannot be
                // reached does not stop a token that is still valid.
                Err(e @ ClientError::Transport(_)) => {
                    if !matches!(&*state, State::Active { tokens, .. } if OffsetDateTime::now_utc() < tokens.expires_at)
                    {
                        return Err(e);
                    }
                }
                Err(e) => return Err(e),
            }
        }
        self.hand_out(&mut state)
    }

    /// The access token, after making sure the refresh token that goes with
    /// it is in the keyring.
    fn hand_out(&self, state: &mut State) -> Result<Sensitive<String>, ClientError> {
        match state {
            State::Ended(e) => Err(ClientError::SignedOut(e.message())),
            State::Active { tokens, unsaved } => {
                if *unsaved {
                    if let Some(refresh_token) = &tokens.refresh_token {
                        self.save(refresh_token)?;
                    }
                    *unsaved = false;
                }
                Ok(tokens.access_token.clone())
            }
        }
    }

    fn save(&self, refresh_token: &Sensitive<String>) -> Result<(), ClientError> {
        if self.persistence != Persistence::Keyring {
            return Ok(());
        }
        secrets::store_refresh_token(
            self.secrets.as_ref(),
            &self.identity.issuer,
            &self.identity.subject,
            refresh_token,
        )
        .map_err(|e| {
            ClientError::Keyring(format!(
                "the renewed session could not be saved in the OS keyring, so it is not used: {e}"
            ))
        })
    }

    /// One refresh at the provider, with the state locked.
    async fn refresh_locked(&self, state: &mut State) -> Result<(), ClientError> {
        let State::Active { tokens, .. } = &*state else {
            return Ok(());
        };
        if tokens.refresh_token.is_none() {
            // Nothing to renew with: usable until it expires, then over.
            if OffsetDateTime::now_utc() < tokens.expires_at {
                return Ok(());
            }
            let message = Ended::Lapsed.message();
            *state = State::Ended(Ended::Lapsed);
            return Err(ClientError::SignedOut(message));
        }
        self.refreshes.fetch_add(1, Ordering::SeqCst);
        match self.provider.refresh(tokens).await {
            Ok(next) => {
                // From here the old refresh token is dead at the provider:
                // the new one is kept, and saved before any use.
                *state = State::Active {
                    tokens: next,
                    unsaved: true,
                };
                Ok(())
            }
            Err(SignInError::RefreshRejected(detail)) => {
                let ended = Ended::RefreshRefused { detail };
                // Nothing left to keep: the token in the keyring is dead.
                let _ =
                    secrets::delete_refresh_token(self.secrets.as_ref(), &self.identity.issuer, &self.identity.subject);
                let message = ended.message();
                *state = State::Ended(ended);
                Err(ClientError::SignedOut(message))
            }
            Err(e @ SignInError::IdTokenInvalid(_)) => Err(ClientError::Unexpected {
                status: 0,
                detail: e.to_string(),
            }),
            Err(e) => Err(ClientError::Transport(format!(
                "the identity provider could not renew the session: {e}"
            ))),
        }
    }

    /// Sign-out: revokes the refresh token at the provider (RFC 7009) and
    /// deletes it from the keyring. A refused or failed revocation is logged
    /// and the local part happens anyway; only the keyring can fail it. The cache is
    /// the caller's to wipe (`Cache::wipe`), see `account::Account::sign_out`.
    pub async fn sign_out(&self) -> Result<(), SessionError> {
        let mut state = self.state.lock().await;
        let previous = std::mem::replace(&mut *state, State::Ended(Ended::SignedOut));
        if let State::Active { tokens, .. } = &previous {
            // Signing out never depends on the provider: one that refuses to
            // revoke (several do for public clients), or cannot be reached,
            // gets the refresh token deleted here all the same; it then lapses
            // there. The error carries the provider's words, never the token.
            if let Err(e) = self.provider.revoke(tokens).await {
                tracing::warn!(issuer = %self.identity.issuer, error = %e, "sign-out: revocation refused");
            }
        }
        drop(previous);
        secrets::delete_refresh_token(self.secrets.as_ref(), &self.identity.issuer, &self.identity.subject)
            .map_err(SessionError::from)
    }
}

impl TokenProvider for Session {
    fn access_token(&self) -> BoxFuture<'_, Result<Sensitive<String>, ClientError>> {
        Box::pin(self.current_access_token())
    }

    fn rejected<'a>(&'a self, rejected: &'a Sensitive<String>) -> BoxFuture<'a, Result<bool, ClientError>> {
        Box::pin(async move {
            let mut state = self.state.lock().await;
            match &*state {
                State::Ended(e) => return Err(ClientError::SignedOut(e.message())),
                // Someone else renewed it meanwhile: retry with theirs.
                State::Active { tokens, .. } if tokens.access_token.expose() != rejected.expose() => {}
                // Refused and nothing to renew it with: the session is over.
                State::Active { tokens, .. } if tokens.refresh_token.is_none() => {
                    let message = Ended::Lapsed.message();
                    *state = State::Ended(Ended::Lapsed);
                    return Err(ClientError::SignedOut(message));
                }
                State::Active { .. } => self.refresh_locked(&mut state).await?,
            }
            self.hand_out(&mut state).map(|_| true)
        })
    }
}
