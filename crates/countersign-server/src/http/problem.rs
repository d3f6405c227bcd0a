//! The HTTP boundary's one error type. Handlers return `ApiError`; the request
//! middleware (`audit::layer`) renders it as problem+json with the request id,
//! so no handler ever formats an error body itself.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use countersign_api::ErrorCode;

#[derive(Debug, Clone, thiserror::Error)]
#[error("{code}: {detail}")]
pub struct ApiError {
    pub code: ErrorCode,
    /// Shown to the caller: specific, but never internal names, SQL or values.
    pub detail: String,
}

impl ApiError {
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        ApiError {
            code,
            detail: detail.into(),
        }
    }
    pub fn not_found() -> Self {
        ApiError::new(ErrorCode::NotFound, "No such resource.")
    }
    pub fn forbidden(permission: countersign_api::Permission) -> Self {
        ApiError::new(ErrorCode::Forbidden, format!("This needs the permission {permission}."))
    }
    pub fn invalid(detail: impl Into<String>) -> Self {
        ApiError::new(ErrorCode::InvalidRequest, detail)
    }
    pub fn internal() -> Self {
        ApiError::new(ErrorCode::Internal, "The server could not complete the request.")
    }
}

/// Carried in the response's extensions to the middleware, which renders it.
#[derive(Debug, Clone)]
pub struct ErrorInfo {
    pub code: ErrorCode,
    pub detail: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut res = status.into_response();
        res.extensions_mut().insert(ErrorInfo {
            code: self.code,
            detail: self.detail,
        });
        res
    }
}

impl From<crate::kernel::Refusal> for ApiError {
    fn from(r: crate::kernel::Refusal) -> Self {
        ApiError::new(r.code, r.message)
    }
}

impl From<crate::audit::store::AppendError> for ApiError {
    fn from(e: crate::audit::store::AppendError) -> Self {
        tracing::error!(error = %e, "audit write failed");
        ApiError::new(ErrorCode::ServiceUnavailable, "The request could not be recorded.")
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e {
            match db.code().as_deref() {
                // A write that row-level security refused: the target org is
                // not the caller's, and must look exactly like a missing one.
                Some("42501") if db.message().contains("row-level security") => return ApiError::not_found(),
                Some("23503") => return ApiError::not_found(),
                Some("23505") => {
                    return ApiError::new(ErrorCode::InvalidRequest, "A record with these values already exists.")
                }
                Some("23514") | Some("22P02") | Some("22003") => {
                    return ApiError::invalid("A value is out of range or malformed.")
                }
                _ => {}
            }
        }
        if matches!(e, sqlx::Error::PoolTimedOut) {
            tracing::error!(error = %e, "no database connection within the acquire timeout");
            return ApiError::new(
                ErrorCode::ServiceUnavailable,
                "The service is busy or its database unreachable; retry shortly.",
            );
        }
        if crate::kernel::db::is_connection_failure(&e) {
            tracing::error!(error = %e, "database connection failed");
            return ApiError::new(
                ErrorCode::ServiceUnavailable,
                "The database is unavailable; retry shortly.",
            );
        }
        tracing::error!(error = %e, "database error");
        ApiError::internal()
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
