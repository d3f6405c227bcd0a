use crate::http::problem::ApiResult;
use crate::kernel::Principal;
use axum::Json;
use countersign_api::{Me, Problem};

#[utoipa::path(get, path = "/v1/me", responses((status = 200, body = Me), (status = 401, body = Problem)),
    security(("bearer" = [])), tag = "identity")]
pub async fn me(p: Principal) -> ApiResult<Json<Me>> {
    Ok(Json(Me {
        issuer: p.issuer,
        subject: p.subject,
        kind: p.kind,
        display_name: p.display_name,
        email: p.email,
        roles: p.roles,
        permissions: p.permissions.into_iter().collect(),
        scope: p.scope,
        approval_limits: p.approval_limits,
        permission_epoch: p.permission_epoch,
        impersonation: p.impersonation.map(|i| countersign_api::ActiveImpersonation {
            session_id: countersign_api::ImpersonationId(i.session_id),
            subject_user_id: i.subject_user_id,
            org_id: i.org_id,
            scope: i.scope,
            expires_at: i.expires_at,
        }),
    }))
}
