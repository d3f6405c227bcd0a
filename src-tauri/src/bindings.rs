//! The TypeScript bindings (`ui/src/bindings/`) are generated from the Rust
//! types and the command table, committed, and this test fails when they
//! drift. `UPDATE_BINDINGS=1 cargo test -p countersign-desktop bindings`
//! rewrites them.

use countersign_client::api::*;
use countersign_client::api_client::{
    ApprovalFilter, AuditFilter, ExportFormat, ImpersonationFilter, Mine, StaffFilter,
};
use countersign_client::desktop::*;
use countersign_client::discovery::ServerSource;
use countersign_client::error::{Code, ErrorPayload};
use countersign_client::search::Hit;
use std::collections::BTreeSet;
use std::path::PathBuf;
use ts_rs::{Config, TS};

const HEADER: &str = "// GENERATED from the Rust types by src-tauri/src/bindings.rs: do not edit.\n// \
    UPDATE_BINDINGS=1 cargo test -p countersign-desktop bindings rewrites it.\n";

macro_rules! decls {
    ($cfg:expr; $($t:ty),* $(,)?) => {
        vec![$((<$t as TS>::ident($cfg), <$t as TS>::decl($cfg))),*]
    };
}

/// Every type that reaches the webview, in one file.
fn types(cfg: &Config) -> Vec<(String, String)> {
    decls![cfg;
        // errors
        Code, ErrorPayload,
        // wire types
        Region, SupportAccess, CustomerRole, InvoiceStatus, PaymentKind, RecordType, Permission,
        OrgId, UserId, InvoiceId, VendorId, PaymentId, Currency, Money, Masked,
        Org, CustomerUser, Invoice, BankAccount, Vendor, Payment, Scope, ProviderInfo,
        serde_json::Value, Page<Approval>, ApprovalId, StaffId, ImpersonationId,
        // approvals
        ApprovalKind, ApprovalStatus, Rule, Decision, DecisionRecord, CannotDecide,
        Approval, DecideApproval, CreateApproval, AmendApproval, Mine, ApprovalFilter,
        // notifications, out of office
        NotificationKind, Notification, Delegation, Delegate, CreateDelegation,
        // support sessions, audit
        SessionScope, ImpersonationSession, Review, ReviewOutcome, ImpersonationFilter,
        CreateImpersonation, UpdateUser, Grant, SupportAccessEntry, SupportAccessReport, SupportView,
        ActorKind, Actor, Outcome, AuditEvent, AuditFilter, ExportFormat, ExportProgress, ExportReport,
        AuditVerification, ChainBreak,
        // staff access
        StaffRole, StaffMember, StaffUpdate, CreateStaff, StaffFilter,
        // app views
        ServerSource, ServerInfo, PersistenceView, AccountView, AppState, SyncProgress, SyncReport, SyncStatus,
        Hit, OrgSummary, Revealed, Theme, CacheMode, CacheView, SettingsView, UpdateView, UpdateProgress,
    ]
}

fn camel(snake: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// Identifiers a TypeScript type expression refers to (outside string
/// literals and doc comments).
fn idents(ts: &str) -> BTreeSet<String> {
    let mut code = String::new();
    let mut rest = ts;
    while let Some(i) = rest.find(['"', '/']) {
        code.push_str(&rest[..i]);
        let (open, close) = if rest[i..].starts_with("/**") {
            ("/**", "*/")
        } else if rest[i..].starts_with('"') {
            ("\"", "\"")
        } else {
            ("/", "")
        };
        rest = &rest[i + open.len()..];
        if !close.is_empty() {
            rest = rest.find(close).map_or("", |j| &rest[j + close.len()..]);
        }
    }
    code.push_str(rest);
    code.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with(|c: char| c.is_ascii_uppercase()))
        .map(str::to_owned)
        .collect()
}

const TS_BUILTINS: &[&str] = &["Array", "Record", "Partial", "Promise"];

fn types_ts(cfg: &Config) -> String {
    let mut out = String::from(HEADER);
    for (_, decl) in types(cfg) {
        out.push_str("\nexport ");
        out.push_str(&decl);
        out.push('\n');
    }
    out
}

fn commands_ts(cfg: &Config) -> String {
    let declared: BTreeSet<String> = types(cfg).into_iter().map(|(n, _)| n).collect();
    let mut used = BTreeSet::new();
    let mut body = String::new();
    for (name, args, channel, ret) in crate::command_signatures(cfg) {
        let ret = if ret == "null" { "null".to_owned() } else { ret };
        used.extend(idents(&ret));
        let mut params: Vec<String> = args.iter().map(|(a, t)| format!("{}: {t}", camel(a))).collect();
        let mut keys: Vec<String> = args
            .iter()
            .map(|(a, _)| {
                if camel(a) == *a {
                    a.to_string()
                } else {
                    format!("{a}: {}", camel(a))
                }
            })
            .collect();
        for (_, t) in &args {
            used.extend(idents(t));
        }
        let mut setup = String::new();
        if let Some((ch, t)) = &channel {
            used.extend(idents(t));
            let cb = camel(&format!("{ch}_handler"));
            params.push(format!("{cb}: (message: {t}) => void"));
            setup = format!("  const {ch} = new Channel<{t}>();\n  {ch}.onmessage = {cb};\n");
            keys.push(ch.to_string());
        }
        let args_obj = if keys.is_empty() {
            String::new()
        } else {
            format!(", {{ {} }}", keys.join(", "))
        };
        body.push_str(&format!(
            "\n/** `{name}`; rejects with an `ErrorPayload`. */\nexport async function {}({}): Promise<{ret}> \
                {{\n{setup}  return invoke<{ret}>(\"{name}\"{args_obj});\n}}\n",
            camel(name),
            params.join(", "),
        ));
    }
    for u in &used {
        assert!(
            declared.contains(u) || TS_BUILTINS.contains(&u.as_str()),
            "a command uses {u}, which types.ts does not declare"
        );
    }
    let imports: Vec<&String> = used.iter().filter(|u| declared.contains(*u)).collect();
    let channel_import = if body.contains("new Channel") { ", Channel" } else { "" };
    format!(
        "{HEADER}\nimport {{ invoke{channel_import} }} from \"@tauri-apps/api/core\";\nimport type {{ {} }} from \
            \"./types\";\n{body}",
        imports.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
    )
}

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../ui/src/bindings")
}

#[test]
fn bindings_are_generated_from_the_rust_types_and_committed() {
    let cfg = Config::new().with_large_int("number");
    let files = [("types.ts", types_ts(&cfg)), ("commands.ts", commands_ts(&cfg))];
    if std::env::var_os("UPDATE_BINDINGS").is_some() {
        for (name, text) in &files {
            std::fs::write(dir().join(name), text).unwrap();
        }
    }
    for (name, text) in &files {
        let committed = std::fs::read_to_string(dir().join(name)).unwrap_or_default();
        assert!(
            committed == *text,
            "ui/src/bindings/{name} differs from the Rust types: run UPDATE_BINDINGS=1 cargo \
            test -p countersign-desktop bindings and commit it"
        );
    }
}

#[test]
fn every_type_a_declaration_mentions_is_declared_too() {
    let cfg = Config::new().with_large_int("number");
    let decls = types(&cfg);
    let declared: BTreeSet<String> = decls.iter().map(|(n, _)| n.clone()).collect();
    for (name, decl) in &decls {
        let (head, body) = decl.split_once('=').unwrap_or(("", decl));
        // A generic declaration (`type Page<T> = …`) may mention its own parameters.
        let params = head.split_once('<').map(|(_, p)| idents(p)).unwrap_or_default();
        for u in idents(body) {
            assert!(
                declared.contains(&u) || TS_BUILTINS.contains(&u.as_str()) || params.contains(&u),
                "{name} mentions {u}, which is not declared"
            );
        }
    }
}

#[test]
fn the_capability_grants_exactly_the_apps_commands() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let cap: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("capabilities/default.json")).unwrap()).unwrap();
    let granted: BTreeSet<String> = cap["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_owned())
        .collect();
    let expected: BTreeSet<String> = crate::COMMANDS
        .iter()
        .map(|c| format!("allow-{}", c.replace('_', "-")))
        .collect();
    assert_eq!(
        granted, expected,
        "only the app's own commands: no plugin or core permission the app does not use"
    );
    // build.rs declares the same commands to tauri-build (which makes the permissions).
    let build = std::fs::read_to_string(root.join("build.rs")).unwrap();
    for c in crate::COMMANDS {
        assert!(build.contains(&format!("\"{c}\"")), "build.rs does not declare {c}");
    }
}
