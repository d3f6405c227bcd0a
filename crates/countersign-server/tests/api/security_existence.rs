//! Issue 19, point 5: no existence oracles (API.md: objects outside the
//! caller's reach are "exactly as if they did not exist"). For every route
//! with an id in its path and every demo account: an existing object the
//! caller may not see and a random id get the same status, code and detail.
//! "May see" is what the object's own GET (or list) shows the caller.

use crate::approvals::post_as;
use crate::helpers::*;
use crate::impersonation::{member, start};
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

const ACCOUNTS: &[&str] = &[
    "alice",
    "bob",
    "sam",
    "carl",
    "ana",
    "andy",
    "cora",
    "ava",
    "sid",
    "acme-admin",
    "acme-user",
    "globex-admin",
    "globex-user",
];

/// A family of routes about one kind of object, and how to tell whether a
/// caller may see one.
struct Family {
    name: &'static str,
    /// Objects that exist (in different orgs, by different people).
    ids: Vec<String>,
    /// `{id}` is replaced; the GET that shows visibility.
    visible: &'static str,
    routes: Vec<(Method, &'static str, Option<Value>)>,
}

async fn send(
    app: &TestApp,
    who: &str,
    method: &Method,
    path: &str,
    body: &Option<Value>,
) -> (u16, Option<String>, Option<String>) {
    let token = app.token(who).await;
    let mut r = app
        .http
        .request(method.clone(), format!("{}{path}", app.base))
        .bearer_auth(token);
    if let Some(b) = body {
        r = r.json(b);
    }
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    let v: Value = r.json().await.unwrap_or(Value::Null);
    (
        status,
        v["code"].as_str().map(str::to_owned),
        v["detail"].as_str().map(str::to_owned),
    )
}

async fn id_of(r: reqwest::Response) -> String {
    let v: Value = r.json().await.unwrap();
    v["id"].as_str().unwrap_or_else(|| panic!("no id in {v}")).to_owned()
}

#[tokio::test]
async fn an_object_the_caller_may_not_see_reads_exactly_like_a_random_id() {
    let app = spawn_app().await;
    let one = |sql: &'static str, slug: &'static str| {
        let app = &app;
        async move {
            let id: Uuid = sqlx::query_scalar(sql)
                .bind(app.org_id(slug).await)
                .fetch_one(&app.admin)
                .await
                .unwrap();
            id.to_string()
        }
    };
    let user_in = |slug| {
        one(
            "SELECT id FROM customer_users WHERE org_id = $1 AND role = 'member' ORDER BY name LIMIT 1",
            slug,
        )
    };
    let invoice_in = |slug| {
        one(
            "SELECT id FROM invoices WHERE org_id = $1 ORDER BY number LIMIT 1",
            slug,
        )
    };
    let vendor_in = |slug| one("SELECT id FROM vendors WHERE org_id = $1 ORDER BY name LIMIT 1", slug);

    // Objects of every kind, in an EU and a US org.
    let orgs = vec![
        app.org_id("acme").await.to_string(),
        app.org_id("initech").await.to_string(),
    ];
    let users = vec![user_in("acme").await, user_in("initech").await];
    let invoices = vec![invoice_in("acme").await, invoice_in("initech").await];
    let vendors = vec![vendor_in("acme").await, vendor_in("initech").await];
    let mut approvals = Vec::new();
    for (slug, inv, currency) in [("acme", &invoices[0], "EUR"), ("initech", &invoices[1], "USD")] {
        let body = json!({ "kind": "refund", "org_id": app.org_id(slug).await, "target_id": inv,
            "amount": { "amount_minor": 200_000, "currency": currency }, "reason": "Customer was charged twice" });
        approvals.push(id_of(post_as(&app, "carl", "/v1/approvals", &body, None).await).await);
    }
    let sessions = vec![
        id_of(start(&app, "alice", member(&app, "acme").await, "read").await).await,
        {
            let initech_member: Uuid =
                sqlx::query_scalar("SELECT id FROM customer_users WHERE org_id = $1 AND role = 'member' LIMIT 1")
                    .bind(app.org_id("initech").await)
                    .fetch_one(&app.admin)
                    .await
                    .unwrap();
            id_of(start(&app, "bob", initech_member, "read").await).await
        },
    ];
    let andy = app.staff_id("andy").await;
    let at = |m: i64| {
        (time::OffsetDateTime::now_utc() + time::Duration::minutes(m))
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    let delegations = vec![
        id_of(
            post_as(
                &app,
                "cora",
                "/v1/delegations",
                &json!({ "delegate_id": andy, "starts_at": at(1), "ends_at": at(60) }),
                None,
            )
            .await,
        )
        .await,
    ];
    let acme = &orgs[0];
    let grants = vec![
        id_of(
            post_as(
                &app,
                "acme-admin",
                &format!("/v1/orgs/{acme}/support-access/grants"),
                &json!({ "duration_hours": 4 }),
                None,
            )
            .await,
        )
        .await,
    ];
    let staff = vec![
        app.staff_id("alice").await.to_string(),
        app.staff_id("cora").await.to_string(),
    ];

    let comment = Some(json!({ "comment": "looks right" }));
    let families = vec![
        Family {
            name: "org",
            ids: orgs.clone(),
            visible: "/v1/orgs/{id}",
            routes: vec![
                (Method::GET, "/v1/orgs/{id}", None),
                (Method::GET, "/v1/orgs/{id}/users", None),
                (Method::GET, "/v1/orgs/{id}/invoices", None),
                (Method::GET, "/v1/orgs/{id}/vendors", None),
                (Method::GET, "/v1/orgs/{id}/payments", None),
                (Method::GET, "/v1/orgs/{id}/support-access", None),
                (
                    Method::POST,
                    "/v1/orgs/{id}/support-access/grants",
                    Some(json!({ "duration_hours": 4 })),
                ),
            ],
        },
        Family {
            name: "user",
            ids: users,
            visible: "/v1/users/{id}",
            routes: vec![
                (Method::GET, "/v1/users/{id}", None),
                (Method::PATCH, "/v1/users/{id}", Some(json!({ "name": "Changed Name" }))),
            ],
        },
        Family {
            name: "invoice",
            ids: invoices.clone(),
            visible: "/v1/invoices/{id}",
            routes: vec![
                (Method::GET, "/v1/invoices/{id}", None),
                (Method::POST, "/v1/invoices/{id}/resend", Some(json!({}))),
            ],
        },
        Family {
            name: "vendor",
            ids: vendors,
            visible: "/v1/vendors/{id}",
            routes: vec![(Method::GET, "/v1/vendors/{id}", None)],
        },
        Family {
            name: "approval",
            ids: approvals,
            visible: "/v1/approvals/{id}",
            routes: vec![
                (Method::GET, "/v1/approvals/{id}", None),
                (
                    Method::PATCH,
                    "/v1/approvals/{id}",
                    Some(json!({ "reason": "Customer was charged twice, amended", "version": 1 })),
                ),
                (
                    Method::POST,
                    "/v1/approvals/{id}/decisions",
                    Some(json!({ "decision": "reject", "comment": "no", "version": 1 })),
                ),
                (Method::POST, "/v1/approvals/{id}/cancel", Some(json!({}))),
                (Method::GET, "/v1/approvals/{id}/export", None),
            ],
        },
        Family {
            name: "impersonation",
            ids: sessions,
            visible: "/v1/impersonations/{id}",
            routes: vec![
                (Method::GET, "/v1/impersonations/{id}", None),
                (Method::POST, "/v1/impersonations/{id}/approve", comment.clone()),
                (Method::POST, "/v1/impersonations/{id}/reject", comment.clone()),
                (Method::POST, "/v1/impersonations/{id}/end", Some(json!({}))),
                (
                    Method::POST,
                    "/v1/impersonations/{id}/review",
                    Some(json!({ "outcome": "ok", "note": "fine" })),
                ),
            ],
        },
        Family {
            name: "delegation",
            ids: delegations,
            visible: "/v1/delegations",
            routes: vec![(Method::POST, "/v1/delegations/{id}/revoke", Some(json!({})))],
        },
        Family {
            name: "grant",
            ids: grants,
            visible: "/v1/orgs/{org}/support-access",
            routes: vec![(
                Method::POST,
                "/v1/orgs/{org}/support-access/grants/{id}/revoke",
                Some(json!({})),
            )],
        },
        Family {
            name: "staff",
            ids: staff,
            visible: "/v1/staff/{id}",
            routes: vec![
                (Method::GET, "/v1/staff/{id}", None),
                (
                    Method::PUT,
                    "/v1/staff/{id}",
                    Some(
                        json!({ "roles": ["support_agent"], "scope": { "all_orgs": false, "regions": ["EU"],
                            "org_ids": [] }, "active": true }),
                    ),
                ),
            ],
        },
    ];

    let mut compared = std::collections::BTreeMap::<String, usize>::new();
    for f in &families {
        for id in &f.ids {
            for who in ACCOUNTS {
                let path = |t: &str, id: &str| t.replace("{id}", id).replace("{org}", acme);
                // Whether `who` may see this object: its GET answers, or (delegations) it is in their list.
                let (status, _, _) = send(&app, who, &Method::GET, &path(f.visible, id), &None).await;
                let sees = if f.name == "delegation" {
                    status == 200
                        && app
                            .get_as(who, "/v1/delegations")
                            .await
                            .text()
                            .await
                            .unwrap()
                            .contains(id.as_str())
                } else if f.name == "grant" {
                    status == 200
                        && app
                            .get_as(who, &path(f.visible, id))
                            .await
                            .text()
                            .await
                            .unwrap()
                            .contains(id.as_str())
                } else {
                    status == 200
                };
                if sees {
                    continue;
                }
                for (method, template, body) in &f.routes {
                    let real = send(&app, who, method, &path(template, id), body).await;
                    let random = send(&app, who, method, &path(template, &Uuid::new_v4().to_string()), body).await;
                    assert_eq!(
                        real, random,
                        "{who} {method} {template}: an object they may not see ({id}) and a random id differ"
                    );
                    assert!(
                        real.0 >= 400,
                        "{who} {method} {template} on an object they may not see succeeded"
                    );
                    *compared.entry(format!("{method} {template}")).or_default() += 1;
                }
            }
        }
    }
    // The matrix is not empty anywhere: every route met some caller who may not see its object.
    for f in &families {
        for (method, template, _) in &f.routes {
            assert!(
                compared.get(&format!("{method} {template}")).is_some_and(|n| *n > 0),
                "{method} {template} was never compared"
            );
        }
    }
    // And nothing of what the refused requests tried happened.
    let changed: i64 = sqlx::query_scalar("SELECT count(*) FROM customer_users WHERE name = 'Changed Name'")
        .fetch_one(&app.admin)
        .await
        .unwrap();
    assert_eq!(changed, 0);
}
