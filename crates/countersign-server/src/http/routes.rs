//! The route table. Every route sits behind `audit::layer`, so every
//! response — including the router's own 404 and 405 — carries a request
//! id, a problem document on error, and one audit event.

use super::context::{AuditCtx, RouteInfo};
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
use axum::extract::Request;
use axum::middleware::Next;
use axum::routing::{on, MethodFilter, MethodRouter};
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

/// A route: its method and path; the action its audit event is named
/// (`None`: "METHOD path"); whether it may be called inside a support
/// session (the subject's reads and the customer actions; everything else —
/// reveals, approvals, staff administration, audit, starting other
/// sessions — is refused while impersonating); and its handler.
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub action: Option<&'static str>,
    pub while_impersonating: bool,
    handler: fn(MethodFilter) -> MethodRouter<AppState>,
}

impl Route {
    pub fn info(&self) -> RouteInfo {
        RouteInfo {
            action: self.action,
            while_impersonating: self.while_impersonating,
        }
    }
}

/// The route table: the router is built from it, and each request carries
/// its route's `RouteInfo` to the audit event and the impersonation check.
#[rustfmt::skip]
pub const ROUTES: &[Route] = &[
    Route { method: "GET", path: "/healthz", action: None, while_impersonating: false, handler: |m| on(m, ops::healthz) },
    Route { method: "GET", path: "/readyz", action: None, while_impersonating: false, handler: |m| on(m, ops::readyz) },
    Route { method: "GET", path: "/v1/openapi.json", action: None, while_impersonating: false, handler: |m| on(m, openapi) },
    Route { method: "GET", path: "/v1/client-config", action: None, while_impersonating: false, handler: |m| on(m, ops::client_config) },
    Route { method: "GET", path: "/v1/me", action: None, while_impersonating: true, handler: |m| on(m, me::me) },
    Route { method: "GET", path: "/v1/orgs", action: None, while_impersonating: true, handler: |m| on(m, records::list_orgs) },
    Route { method: "GET", path: "/v1/orgs/{org_id}", action: None, while_impersonating: true, handler: |m| on(m, records::get_org) },
    Route { method: "GET", path: "/v1/orgs/{org_id}/users", action: None, while_impersonating: true, handler: |m| on(m, records::list_users) },
    Route { method: "GET", path: "/v1/users/{user_id}", action: None, while_impersonating: true, handler: |m| on(m, records::get_user) },
    Route { method: "PATCH", path: "/v1/users/{user_id}", action: Some("user.update"), while_impersonating: true, handler: |m| on(m, customer::update_user) },
    Route { method: "GET", path: "/v1/orgs/{org_id}/invoices", action: None, while_impersonating: true, handler: |m| on(m, records::list_invoices) },
    Route { method: "GET", path: "/v1/invoices/{invoice_id}", action: None, while_impersonating: true, handler: |m| on(m, records::get_invoice) },
    Route { method: "POST", path: "/v1/invoices/{invoice_id}/resend", action: Some("invoice.resend"), while_impersonating: true, handler: |m| on(m, customer::resend_invoice) },
    Route { method: "GET", path: "/v1/orgs/{org_id}/vendors", action: None, while_impersonating: false, handler: |m| on(m, records::list_vendors) },
    Route { method: "GET", path: "/v1/vendors/{vendor_id}", action: None, while_impersonating: false, handler: |m| on(m, records::get_vendor) },
    Route { method: "GET", path: "/v1/orgs/{org_id}/payments", action: None, while_impersonating: false, handler: |m| on(m, records::list_payments) },
    Route { method: "POST", path: "/v1/reveals", action: Some("reveal"), while_impersonating: false, handler: |m| on(m, reveals::reveal) },
    Route { method: "GET", path: "/v1/sync", action: None, while_impersonating: false, handler: |m| on(m, sync::sync) },
    Route { method: "GET", path: "/v1/approvals", action: None, while_impersonating: false, handler: |m| on(m, approvals::list) },
    Route { method: "POST", path: "/v1/approvals", action: Some("approval.request"), while_impersonating: false, handler: |m| on(m, approvals::create) },
    Route { method: "GET", path: "/v1/approvals/{approval_id}", action: None, while_impersonating: false, handler: |m| on(m, approvals::get) },
    Route { method: "PATCH", path: "/v1/approvals/{approval_id}", action: Some("approval.amend"), while_impersonating: false, handler: |m| on(m, approvals::amend) },
    Route { method: "POST", path: "/v1/approvals/{approval_id}/decisions", action: Some("approval.decide"), while_impersonating: false, handler: |m| on(m, approvals::decide) },
    Route { method: "POST", path: "/v1/approvals/{approval_id}/cancel", action: Some("approval.cancel"), while_impersonating: false, handler: |m| on(m, approvals::cancel) },
    Route { method: "GET", path: "/v1/approvals/{approval_id}/export", action: Some("approval.export_download"), while_impersonating: false, handler: |m| on(m, approvals::download) },
    Route { method: "GET", path: "/v1/delegations", action: None, while_impersonating: false, handler: |m| on(m, delegations::list) },
    Route { method: "POST", path: "/v1/delegations", action: Some("approval.delegated"), while_impersonating: false, handler: |m| on(m, delegations::create) },
    Route { method: "POST", path: "/v1/delegations/{delegation_id}/revoke", action: Some("approval.delegation_revoked"), while_impersonating: false, handler: |m| on(m, delegations::revoke) },
    Route { method: "GET", path: "/v1/notifications", action: None, while_impersonating: false, handler: |m| on(m, notifications::list) },
    Route { method: "GET", path: "/v1/notifications/stream", action: None, while_impersonating: false, handler: |m| on(m, notifications::stream) },
    Route { method: "GET", path: "/v1/impersonations", action: None, while_impersonating: false, handler: |m| on(m, impersonations::list) },
    Route { method: "POST", path: "/v1/impersonations", action: Some("impersonation.request"), while_impersonating: false, handler: |m| on(m, impersonations::create) },
    Route { method: "GET", path: "/v1/impersonations/{session_id}", action: Some("impersonation.timeline"), while_impersonating: false, handler: |m| on(m, impersonations::get) },
    Route { method: "POST", path: "/v1/impersonations/{session_id}/approve", action: Some("impersonation.approve"), while_impersonating: false, handler: |m| on(m, impersonations::approve) },
    Route { method: "POST", path: "/v1/impersonations/{session_id}/reject", action: Some("impersonation.reject"), while_impersonating: false, handler: |m| on(m, impersonations::reject) },
    Route { method: "POST", path: "/v1/impersonations/{session_id}/end", action: Some("impersonation.end"), while_impersonating: false, handler: |m| on(m, impersonations::end) },
    Route { method: "POST", path: "/v1/impersonations/{session_id}/review", action: Some("impersonation.review"), while_impersonating: false, handler: |m| on(m, impersonations::review) },
    Route { method: "GET", path: "/v1/orgs/{org_id}/support-access", action: None, while_impersonating: false, handler: |m| on(m, impersonations::support_access) },
    Route { method: "POST", path: "/v1/orgs/{org_id}/support-access/grants", action: Some("support_access.grant"), while_impersonating: false, handler: |m| on(m, impersonations::grant) },
    Route { method: "POST", path: "/v1/orgs/{org_id}/support-access/grants/{grant_id}/revoke", action: Some("support_access.revoke"), while_impersonating: false, handler: |m| on(m, impersonations::revoke_grant) },
    Route { method: "GET", path: "/v1/audit", action: Some("audit.search"), while_impersonating: false, handler: |m| on(m, audit_log::search) },
    Route { method: "GET", path: "/v1/audit/export", action: Some("audit.export"), while_impersonating: false, handler: |m| on(m, audit_log::export) },
    Route { method: "GET", path: "/v1/staff", action: None, while_impersonating: false, handler: |m| on(m, staff::list) },
    Route { method: "GET", path: "/v1/staff/{staff_id}", action: None, while_impersonating: false, handler: |m| on(m, staff::get) },
    Route { method: "PUT", path: "/v1/staff/{staff_id}", action: Some("staff.update"), while_impersonating: false, handler: |m| on(m, staff::put) },
];

fn filter(method: &str) -> MethodFilter {
    match method {
        "GET" => MethodFilter::GET,
        "POST" => MethodFilter::POST,
        "PUT" => MethodFilter::PUT,
        "PATCH" => MethodFilter::PATCH,
        other => unreachable!("the route table has no {other} route"),
    }
}

/// The router: every route of the table, tagged with its `RouteInfo`.
/// The audit middleware and the body limit go around it (`startup`).
pub fn router(state: AppState) -> Router {
    let mut router = Router::new();
    for r in ROUTES {
        let info = r.info();
        let tag = axum::middleware::from_fn(move |mut req: Request, next: Next| async move {
            if let Some(ctx) = req.extensions().get::<AuditCtx>() {
                ctx.route(info);
            }
            req.extensions_mut().insert(info);
            next.run(req).await
        });
        router = router.route(r.path, (r.handler)(filter(r.method)).layer(tag));
    }
    router
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The documented contract and the table name the same routes.
    #[test]
    fn the_openapi_document_lists_exactly_the_table() {
        let doc = openapi_doc();
        let mut documented: Vec<(String, String)> = Vec::new();
        for (path, item) in &doc.paths.paths {
            let methods = [
                ("GET", item.get.is_some()),
                ("POST", item.post.is_some()),
                ("PUT", item.put.is_some()),
                ("PATCH", item.patch.is_some()),
                ("DELETE", item.delete.is_some()),
            ];
            for (m, present) in methods {
                if present {
                    documented.push((m.to_owned(), path.clone()));
                }
            }
        }
        documented.sort();
        let mut table: Vec<(String, String)> = ROUTES
            .iter()
            .map(|r| (r.method.to_owned(), r.path.to_owned()))
            .collect();
        table.sort();
        assert_eq!(documented, table);
    }

    /// What a support session reaches: exactly the subject's reads and the
    /// customer actions (API.md "Impersonation").
    #[test]
    fn sessions_reach_exactly_the_subjects_reads_and_the_customer_actions() {
        let allowed: Vec<(&str, &str)> = ROUTES
            .iter()
            .filter(|r| r.while_impersonating)
            .map(|r| (r.method, r.path))
            .collect();
        assert_eq!(
            allowed,
            [
                ("GET", "/v1/me"),
                ("GET", "/v1/orgs"),
                ("GET", "/v1/orgs/{org_id}"),
                ("GET", "/v1/orgs/{org_id}/users"),
                ("GET", "/v1/users/{user_id}"),
                ("PATCH", "/v1/users/{user_id}"),
                ("GET", "/v1/orgs/{org_id}/invoices"),
                ("GET", "/v1/invoices/{invoice_id}"),
                ("POST", "/v1/invoices/{invoice_id}/resend"),
            ]
        );
    }

    #[test]
    fn every_route_is_in_the_table_once() {
        let mut seen = std::collections::BTreeSet::new();
        for r in ROUTES {
            assert!(seen.insert((r.method, r.path)), "{} {} twice", r.method, r.path);
        }
    }
}
