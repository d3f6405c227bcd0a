//! The route table. Every route sits behind `audit::layer`, so every
//! response — including the router's own 404 and 405 — carries a request
//! id, a problem document on error, and one audit event.

use super::ops;
use crate::approve::delegations;
use crate::approve::http as approvals;
use crate::audit::http as audit_log;
use crate::http::problem::ApiError;
use crate::impersonate::http as impersonations;
use crate::notify::http as notifications;
use crate::records::customer;
use crate::records::http as records;
use crate::reveal::http as reveals;
use crate::sign_in::me;
use crate::staff_admin::http as staff;
use crate::state::AppState;
use crate::sync::http as sync;
use axum::routing::{get, post};
use axum::Router;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(title = "Countersign platform API", description = "The authority for every action of the Countersign back office. See shared/API.md."),
    paths(
        ops::healthz, ops::readyz, openapi, ops::client_config,
        me::me,
        records::list_orgs, records::get_org, records::list_users, records::get_user,
        records::list_invoices, records::get_invoice, records::list_vendors, records::get_vendor, records::list_payments,
        staff::list, staff::get, staff::put,
        reveals::reveal,
        audit_log::search, audit_log::export,
        sync::sync,
        approvals::create, approvals::list, approvals::get, approvals::decide, approvals::amend, approvals::cancel, approvals::download,
        delegations::create, delegations::list, delegations::revoke, notifications::list, notifications::stream,
        impersonations::create, impersonations::approve, impersonations::reject, impersonations::end, impersonations::list, impersonations::get, impersonations::review,
        impersonations::support_access, impersonations::grant, impersonations::revoke_grant, customer::update_user, customer::resend_invoice,
    ),
    components(schemas(countersign_api::Problem, countersign_api::ErrorCode, countersign_api::Masked)),
    modifiers(&BearerAuth, &ErrorResponses)
)]
struct ApiDoc;

/// Documents the errors every route can answer, from what the route takes
/// (issue 19, point 15: the document lists every status a route returns),
/// and gives every error its real content type, `application/problem+json`:
/// 401/403 where a token is needed, 404 where an id is in the path, 422
/// where there is a query or a body, 413 where there is a body, 409 where an
/// Idempotency-Key is taken, 503 on every API route.
struct ErrorResponses;
impl utoipa::Modify for ErrorResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::ParameterIn;
        use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
        let problem = |code: countersign_api::ErrorCode| {
            RefOr::T(
                ResponseBuilder::new()
                    .description(code.title())
                    .content(
                        countersign_api::error::PROBLEM_CONTENT_TYPE,
                        ContentBuilder::new()
                            .schema(Some(Ref::from_schema_name("Problem")))
                            .build(),
                    )
                    .build(),
            )
        };
        for (path, item) in openapi.paths.paths.iter_mut() {
            let ops = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for op in ops.into_iter().flatten() {
                let params = op.parameters.as_deref().unwrap_or_default();
                let takes = |place: ParameterIn| params.iter().any(|p| p.parameter_in == place);
                let keyed = params.iter().any(|p| p.name.eq_ignore_ascii_case("Idempotency-Key"));
                let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
                let body = op.request_body.is_some();
                use countersign_api::ErrorCode as C;
                let wanted = [
                    (secured, C::Unauthenticated),
                    (secured, C::Forbidden),
                    (takes(ParameterIn::Path), C::NotFound),
                    (keyed, C::IdempotencyKeyReused),
                    (body, C::PayloadTooLarge),
                    (body || takes(ParameterIn::Query), C::InvalidRequest),
                    (path.starts_with("/v1/"), C::ServiceUnavailable),
                ];
                for (applies, code) in wanted {
                    if applies {
                        op.responses
                            .responses
                            .entry(code.status().to_string())
                            .or_insert_with(|| problem(code));
                    }
                }
                // A header value HTTP cannot carry (control characters) is
                // refused by the HTTP layer before any route runs.
                if takes(ParameterIn::Header) {
                    op.responses.responses.entry("400".into()).or_insert_with(|| {
                        RefOr::T(
                            ResponseBuilder::new()
                                .description(
                                    "The HTTP request itself is malformed (answered by the HTTP layer, without a body)",
                                )
                                .build(),
                        )
                    });
                }
                // Errors documented by hand with `body = Problem` say JSON; they are problem+json.
                for (status, response) in op.responses.responses.iter_mut() {
                    if let (true, RefOr::T(r)) = (status.starts_with('4') || status.starts_with('5'), response) {
                        if let Some(content) = r.content.shift_remove("application/json") {
                            r.content
                                .insert(countersign_api::error::PROBLEM_CONTENT_TYPE.to_owned(), content);
                        }
                    }
                }
            }
        }
    }
}

struct BearerAuth;
impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT (at+jwt)")
                    .build(),
            ),
        );
    }
}

pub fn openapi_doc() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

async fn not_found() -> ApiError {
    ApiError::not_found()
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/v1/openapi.json", get(openapi))
        .route("/v1/client-config", get(ops::client_config))
        .route("/v1/me", get(me::me))
        .route("/v1/orgs", get(records::list_orgs))
        .route("/v1/orgs/{org_id}", get(records::get_org))
        .route("/v1/orgs/{org_id}/users", get(records::list_users))
        .route(
            "/v1/users/{user_id}",
            get(records::get_user).patch(customer::update_user),
        )
        .route("/v1/orgs/{org_id}/invoices", get(records::list_invoices))
        .route("/v1/invoices/{invoice_id}", get(records::get_invoice))
        .route("/v1/invoices/{invoice_id}/resend", post(customer::resend_invoice))
        .route("/v1/orgs/{org_id}/vendors", get(records::list_vendors))
        .route("/v1/vendors/{vendor_id}", get(records::get_vendor))
        .route("/v1/orgs/{org_id}/payments", get(records::list_payments))
        .route("/v1/reveals", post(reveals::reveal))
        .route("/v1/sync", get(sync::sync))
        .route("/v1/approvals", get(approvals::list).post(approvals::create))
        .route(
            "/v1/approvals/{approval_id}",
            get(approvals::get).patch(approvals::amend),
        )
        .route("/v1/approvals/{approval_id}/decisions", post(approvals::decide))
        .route("/v1/approvals/{approval_id}/cancel", post(approvals::cancel))
        .route("/v1/approvals/{approval_id}/export", get(approvals::download))
        .route("/v1/delegations", get(delegations::list).post(delegations::create))
        .route("/v1/delegations/{delegation_id}/revoke", post(delegations::revoke))
        .route("/v1/notifications", get(notifications::list))
        .route(
            "/v1/impersonations",
            get(impersonations::list).post(impersonations::create),
        )
        .route("/v1/impersonations/{session_id}", get(impersonations::get))
        .route("/v1/impersonations/{session_id}/approve", post(impersonations::approve))
        .route("/v1/impersonations/{session_id}/reject", post(impersonations::reject))
        .route("/v1/impersonations/{session_id}/end", post(impersonations::end))
        .route("/v1/impersonations/{session_id}/review", post(impersonations::review))
        .route("/v1/orgs/{org_id}/support-access", get(impersonations::support_access))
        .route("/v1/orgs/{org_id}/support-access/grants", post(impersonations::grant))
        .route(
            "/v1/orgs/{org_id}/support-access/grants/{grant_id}/revoke",
            post(impersonations::revoke_grant),
        )
        .route("/v1/notifications/stream", get(notifications::stream))
        .route("/v1/audit", get(audit_log::search))
        .route("/v1/audit/export", get(audit_log::export))
        .route("/v1/staff", get(staff::list))
        .route("/v1/staff/{staff_id}", get(staff::get).put(staff::put))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), super::audit::layer))
        // API.md: bodies are at most 64 KB (413 payload_too_large).
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024))
        .with_state(state)
}

#[utoipa::path(get, path = "/v1/openapi.json", responses((status = 200, description = "This document")), tag = "operations")]
pub async fn openapi() -> impl axum::response::IntoResponse {
    axum::Json(openapi_doc())
}
