//! The route table. Every route sits behind `audit::layer`, so every
//! response — including the router's own 404 and 405 — carries a request
//! id, a problem document on error, and one audit event.

use super::client_version;
use super::context::{AuditCtx, RouteInfo};
use super::ops;
use super::updates;
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
use axum::response::IntoResponse;
use axum::routing::{on, MethodFilter, MethodRouter};
use axum::Router;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Countersign platform API",
        description = "The authority for every action of the Countersign back office. See shared/API.md."
    ),
    paths(
        ops::healthz, ops::livez, ops::readyz, openapi, ops::client_config,
        updates::manifest, updates::file,
        me::me,
        records::list_orgs, records::get_org, records::list_users, records::get_user,
        records::list_invoices, records::get_invoice, records::list_vendors, records::get_vendor,
            records::list_payments,
        staff::list, staff::create, staff::get, staff::put, staff::deactivate, staff::reactivate,
        reveals::reveal,
        audit_log::search, audit_log::export, audit_log::verify,
        sync::sync,
        approvals::create, approvals::list, approvals::get, approvals::decide, approvals::amend, approvals::cancel,
            approvals::download,
        delegations::create, delegations::list, delegations::delegates, delegations::revoke,
        notifications::list, notifications::stream,
        impersonations::create, impersonations::approve, impersonations::reject, impersonations::end,
            impersonations::list, impersonations::get, impersonations::review,
        impersonations::support_access, impersonations::grant, impersonations::revoke_grant, customer::update_user,
            customer::resend_invoice,
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
/// Idempotency-Key is taken, 503 on every API route; and on every route an
/// outdated app may not use, the `Countersign-Client` header with its 426 and
/// its 422.
struct ErrorResponses;
impl utoipa::Modify for ErrorResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        use utoipa::openapi::{ContentBuilder, Ref, RefOr, Required, ResponseBuilder};
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
                let version_checked = !client_version::serves_any_version(path);
                if version_checked {
                    op.parameters.get_or_insert_with(Vec::new).push(
                        ParameterBuilder::new()
                            .name("Countersign-Client")
                            .parameter_in(ParameterIn::Header)
                            .required(Required::False)
                            .description(Some(
                                "The desktop app's version (semantic versioning); below the server's \
                                 min_client_version: 426. Absent: not checked.",
                            ))
                            .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                            .build(),
                    );
                }
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
                    (body || takes(ParameterIn::Query) || version_checked, C::InvalidRequest),
                    (version_checked, C::ClientUpdateRequired),
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

/// May be called inside a support session.
const IN_SESSION: bool = true;
/// Refused inside a support session (`not_while_impersonating`).
const NOT_IN_SESSION: bool = false;
const GET: &str = "GET";
const POST: &str = "POST";
const PUT: &str = "PUT";
const PATCH: &str = "PATCH";

const fn route(
    method: &'static str,
    path: &'static str,
    action: Option<&'static str>,
    while_impersonating: bool,
    handler: fn(MethodFilter) -> MethodRouter<AppState>,
) -> Route {
    Route {
        method,
        path,
        action,
        while_impersonating,
        handler,
    }
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
pub const ROUTES: &[Route] = &[
    route(GET, "/healthz", None, NOT_IN_SESSION, |m| on(m, ops::healthz)),
    route(GET, "/livez", None, NOT_IN_SESSION, |m| on(m, ops::livez)),
    route(GET, "/readyz", None, NOT_IN_SESSION, |m| on(m, ops::readyz)),
    route(GET, "/v1/openapi.json", None, NOT_IN_SESSION, |m| on(m, openapi)),
    route(GET, "/v1/client-config", None, NOT_IN_SESSION, |m| {
        on(m, ops::client_config)
    }),
    route(
        GET,
        "/v1/updates/{target}/{arch}/{current_version}",
        None,
        NOT_IN_SESSION,
        |m| on(m, updates::manifest),
    ),
    route(GET, "/v1/updates/files/{name}", None, NOT_IN_SESSION, |m| {
        on(m, updates::file)
    }),
    route(GET, "/v1/me", None, IN_SESSION, |m| on(m, me::me)),
    route(GET, "/v1/orgs", None, IN_SESSION, |m| on(m, records::list_orgs)),
    route(GET, "/v1/orgs/{org_id}", None, IN_SESSION, |m| on(m, records::get_org)),
    route(GET, "/v1/orgs/{org_id}/users", None, IN_SESSION, |m| {
        on(m, records::list_users)
    }),
    route(GET, "/v1/users/{user_id}", None, IN_SESSION, |m| {
        on(m, records::get_user)
    }),
    route(PATCH, "/v1/users/{user_id}", Some("user.update"), IN_SESSION, |m| {
        on(m, customer::update_user)
    }),
    route(GET, "/v1/orgs/{org_id}/invoices", None, IN_SESSION, |m| {
        on(m, records::list_invoices)
    }),
    route(GET, "/v1/invoices/{invoice_id}", None, IN_SESSION, |m| {
        on(m, records::get_invoice)
    }),
    route(
        POST,
        "/v1/invoices/{invoice_id}/resend",
        Some("invoice.resend"),
        IN_SESSION,
        |m| on(m, customer::resend_invoice),
    ),
    route(GET, "/v1/orgs/{org_id}/vendors", None, NOT_IN_SESSION, |m| {
        on(m, records::list_vendors)
    }),
    route(GET, "/v1/vendors/{vendor_id}", None, NOT_IN_SESSION, |m| {
        on(m, records::get_vendor)
    }),
    route(GET, "/v1/orgs/{org_id}/payments", None, NOT_IN_SESSION, |m| {
        on(m, records::list_payments)
    }),
    route(POST, "/v1/reveals", Some("reveal"), NOT_IN_SESSION, |m| {
        on(m, reveals::reveal)
    }),
    route(GET, "/v1/sync", None, NOT_IN_SESSION, |m| on(m, sync::sync)),
    route(GET, "/v1/approvals", None, NOT_IN_SESSION, |m| on(m, approvals::list)),
    route(POST, "/v1/approvals", Some("approval.request"), NOT_IN_SESSION, |m| {
        on(m, approvals::create)
    }),
    route(GET, "/v1/approvals/{approval_id}", None, NOT_IN_SESSION, |m| {
        on(m, approvals::get)
    }),
    route(
        PATCH,
        "/v1/approvals/{approval_id}",
        Some("approval.amend"),
        NOT_IN_SESSION,
        |m| on(m, approvals::amend),
    ),
    route(
        POST,
        "/v1/approvals/{approval_id}/decisions",
        Some("approval.decide"),
        NOT_IN_SESSION,
        |m| on(m, approvals::decide),
    ),
    route(
        POST,
        "/v1/approvals/{approval_id}/cancel",
        Some("approval.cancel"),
        NOT_IN_SESSION,
        |m| on(m, approvals::cancel),
    ),
    route(
        GET,
        "/v1/approvals/{approval_id}/export",
        Some("approval.export_download"),
        NOT_IN_SESSION,
        |m| on(m, approvals::download),
    ),
    route(GET, "/v1/delegations", None, NOT_IN_SESSION, |m| {
        on(m, delegations::list)
    }),
    route(GET, "/v1/delegations/delegates", None, NOT_IN_SESSION, |m| {
        on(m, delegations::delegates)
    }),
    route(
        POST,
        "/v1/delegations",
        Some("approval.delegated"),
        NOT_IN_SESSION,
        |m| on(m, delegations::create),
    ),
    route(
        POST,
        "/v1/delegations/{delegation_id}/revoke",
        Some("approval.delegation_revoked"),
        NOT_IN_SESSION,
        |m| on(m, delegations::revoke),
    ),
    route(GET, "/v1/notifications", None, NOT_IN_SESSION, |m| {
        on(m, notifications::list)
    }),
    route(GET, "/v1/notifications/stream", None, NOT_IN_SESSION, |m| {
        on(m, notifications::stream)
    }),
    route(GET, "/v1/impersonations", None, NOT_IN_SESSION, |m| {
        on(m, impersonations::list)
    }),
    route(
        POST,
        "/v1/impersonations",
        Some("impersonation.request"),
        NOT_IN_SESSION,
        |m| on(m, impersonations::create),
    ),
    route(
        GET,
        "/v1/impersonations/{session_id}",
        Some("impersonation.timeline"),
        NOT_IN_SESSION,
        |m| on(m, impersonations::get),
    ),
    route(
        POST,
        "/v1/impersonations/{session_id}/approve",
        Some("impersonation.approve"),
        NOT_IN_SESSION,
        |m| on(m, impersonations::approve),
    ),
    route(
        POST,
        "/v1/impersonations/{session_id}/reject",
        Some("impersonation.reject"),
        NOT_IN_SESSION,
        |m| on(m, impersonations::reject),
    ),
    route(
        POST,
        "/v1/impersonations/{session_id}/end",
        Some("impersonation.end"),
        NOT_IN_SESSION,
        |m| on(m, impersonations::end),
    ),
    route(
        POST,
        "/v1/impersonations/{session_id}/review",
        Some("impersonation.review"),
        NOT_IN_SESSION,
        |m| on(m, impersonations::review),
    ),
    route(GET, "/v1/orgs/{org_id}/support-access", None, NOT_IN_SESSION, |m| {
        on(m, impersonations::support_access)
    }),
    route(
        POST,
        "/v1/orgs/{org_id}/support-access/grants",
        Some("support_access.grant"),
        NOT_IN_SESSION,
        |m| on(m, impersonations::grant),
    ),
    route(
        POST,
        "/v1/orgs/{org_id}/support-access/grants/{grant_id}/revoke",
        Some("support_access.revoke"),
        NOT_IN_SESSION,
        |m| on(m, impersonations::revoke_grant),
    ),
    route(GET, "/v1/audit", Some("audit.search"), NOT_IN_SESSION, |m| {
        on(m, audit_log::search)
    }),
    route(GET, "/v1/audit/export", Some("audit.export"), NOT_IN_SESSION, |m| {
        on(m, audit_log::export)
    }),
    route(GET, "/v1/audit/verify", Some("audit.verify"), NOT_IN_SESSION, |m| {
        on(m, audit_log::verify)
    }),
    route(GET, "/v1/staff", None, NOT_IN_SESSION, |m| on(m, staff::list)),
    route(POST, "/v1/staff", Some("staff.create"), NOT_IN_SESSION, |m| {
        on(m, staff::create)
    }),
    route(GET, "/v1/staff/{staff_id}", None, NOT_IN_SESSION, |m| on(m, staff::get)),
    route(PUT, "/v1/staff/{staff_id}", Some("staff.update"), NOT_IN_SESSION, |m| {
        on(m, staff::put)
    }),
    route(
        POST,
        "/v1/staff/{staff_id}/deactivate",
        Some("staff.deactivate"),
        NOT_IN_SESSION,
        |m| on(m, staff::deactivate),
    ),
    route(
        POST,
        "/v1/staff/{staff_id}/reactivate",
        Some("staff.reactivate"),
        NOT_IN_SESSION,
        |m| on(m, staff::reactivate),
    ),
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
    let min_version = countersign_api::ClientVersion::parse(&state.config.desktop.min_client_version)
        .expect("desktop.min_client_version was validated at load");
    let mut router = Router::new();
    for r in ROUTES {
        let info = r.info();
        let version_checked = !client_version::serves_any_version(r.path);
        let tag = axum::middleware::from_fn(move |mut req: Request, next: Next| async move {
            if let Some(ctx) = req.extensions().get::<AuditCtx>() {
                ctx.route(info);
            }
            // Inside the audit layer and before any extractor: the refusal is
            // audited under the route's action, and nothing has run.
            if version_checked {
                if let Err(e) = client_version::check(req.headers(), min_version) {
                    return e.into_response();
                }
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

#[utoipa::path(get, path = "/v1/openapi.json", responses((status = 200, description = "This document")),
    tag = "operations")]
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
