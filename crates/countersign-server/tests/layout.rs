//! The server's layout (issue 20, point 1), read from its source: which
//! module refers to which (`use crate::…`, `super::…` and inline
//! `crate::…` paths), at the granularity of files.
//! - no circle: the modules can be read, and changed, bottom-up;
//! - every `rules.rs` is pure: it names nothing of sqlx, axum or tokio, and
//!   of the crate only the kernel and its own verb's other rules;
//! - the kernel names no verb and nothing of HTTP.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Module path ("approve::rules") → file.
fn modules(src: &Path) -> BTreeMap<String, PathBuf> {
    let mut out = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(src).unwrap().with_extension("");
            let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
            if parts.last().is_some_and(|l| l == "mod" || l == "lib" || l == "main") {
                parts.pop();
            }
            out.insert(parts.join("::"), path);
        }
    }
    out
}

/// The crate paths a file names: `crate::a::b`, `super::c` (resolved
/// against `module`) and the items of `use crate::a::{b, c::d}` groups.
fn references(module: &str, text: &str) -> BTreeSet<String> {
    let code: String = text
        .lines()
        .map(|l| match l.find("//") {
            Some(i) if !l[..i].contains('"') => &l[..i],
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n");
    let parent: Vec<&str> = module.split("::").filter(|s| !s.is_empty()).collect();
    let mut out = BTreeSet::new();
    let bytes = code.as_bytes();
    for (start, prefix) in ["crate::", "super::"]
        .iter()
        .flat_map(|p| code.match_indices(p).map(move |(i, _)| (i, *p)))
    {
        if start > 0 && (bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_') {
            continue;
        }
        let rest = &code[start + prefix.len()..];
        let mut base: Vec<String> = if prefix == "crate::" {
            vec![]
        } else {
            // `super` of a file `a::b` is `a` (a `mod.rs` is its directory).
            parent[..parent.len().saturating_sub(1)]
                .iter()
                .map(|s| s.to_string())
                .collect()
        };
        let mut path = rest;
        while let Some(r) = path.strip_prefix("super::") {
            base.pop();
            path = r;
        }
        let segs: String = path
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':' || *c == '{')
            .collect();
        if let Some((head, _)) = segs.split_once('{') {
            // A use group: each item, one level deep.
            let close = path.find('}').unwrap_or(path.len());
            let group = &path[head.len() + 1..close];
            for item in group.split(',') {
                let item = item.trim().split(" as ").next().unwrap().trim();
                let joined = [base.join("::"), head.trim_end_matches("::").to_owned(), item.to_owned()]
                    .into_iter()
                    .filter(|s| !s.is_empty() && s != "self")
                    .collect::<Vec<_>>()
                    .join("::");
                out.insert(joined);
            }
            out.insert([base.join("::"), head.trim_end_matches("::").to_owned()].join("::"));
        } else {
            out.insert(
                [base.join("::"), segs.trim_end_matches(':').to_owned()]
                    .into_iter()
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
                    .join("::"),
            );
        }
    }
    out
}

/// The module a path lands in: its longest prefix that is a module.
fn resolve<'a>(path: &str, mods: &'a BTreeMap<String, PathBuf>) -> Option<&'a str> {
    let segs: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
    (1..=segs.len())
        .rev()
        .find_map(|n| mods.get_key_value(&segs[..n].join("::")).map(|(k, _)| k.as_str()))
}

fn graph() -> (BTreeMap<String, PathBuf>, BTreeMap<String, BTreeSet<String>>) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mods = modules(&src);
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (m, file) in &mods {
        let text = std::fs::read_to_string(file).unwrap();
        // A module's own tests are not part of its layout.
        let text = text.split("#[cfg(test)]").next().unwrap();
        let to: BTreeSet<String> = references(m, text)
            .iter()
            .filter_map(|p| resolve(p, &mods))
            // A parent `mod.rs` declares its children; that is not a use.
            .filter(|t| *t != m && !t.is_empty() && !m.is_empty())
            .filter(|t| {
                !(t.starts_with(&format!("{m}::")) && mods.get(m.as_str()).is_some_and(|f| f.ends_with("mod.rs")))
            })
            .map(str::to_owned)
            .collect();
        edges.insert(m.clone(), to);
    }
    (mods, edges)
}

/// Strongly connected components with more than one module (Tarjan).
fn circles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct T<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(t: &mut T<'a>, v: &'a str) {
        let i = t.index.len();
        t.index.insert(v, i);
        t.low.insert(v, i);
        t.stack.push(v);
        t.on.insert(v);
        for w in t.edges.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !t.index.contains_key(w) {
                visit(t, w);
                let lw = t.low[w];
                let lv = t.low.get_mut(v).unwrap();
                *lv = (*lv).min(lw);
            } else if t.on.contains(w) {
                let iw = t.index[w];
                let lv = t.low.get_mut(v).unwrap();
                *lv = (*lv).min(iw);
            }
        }
        if t.low[v] == t.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = t.stack.pop() {
                t.on.remove(w);
                comp.push(w.to_owned());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                t.out.push(comp);
            }
        }
    }
    let mut t = T {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: vec![],
        on: BTreeSet::new(),
        out: vec![],
    };
    for v in edges.keys() {
        if !t.index.contains_key(v.as_str()) {
            visit(&mut t, v);
        }
    }
    t.out
}

#[test]
fn no_module_circle() {
    let (_, edges) = graph();
    // `PRINT_LAYOUT=1 cargo test --test layout -- --nocapture` shows the graph.
    if std::env::var_os("PRINT_LAYOUT").is_some() {
        for (m, to) in &edges {
            println!("{m} -> {}", to.iter().cloned().collect::<Vec<_>>().join(", "));
        }
    }
    let found = circles(&edges);
    let shown: Vec<String> = found.iter().map(|c| c.join(" ↔ ")).collect();
    assert!(found.is_empty(), "module circles:\n{}", shown.join("\n"));
}

/// A `mod.rs` only declares and re-exports its children, so that what a
/// parent "uses" is always a child's and no code hides in it.
#[test]
fn a_mod_rs_only_declares() {
    let (mods, _) = graph();
    for (m, file) in mods.iter().filter(|(_, f)| f.ends_with("mod.rs")) {
        let text = std::fs::read_to_string(file).unwrap();
        for line in text.lines().map(str::trim) {
            let ok = line.is_empty()
                || line.starts_with("//")
                || line.starts_with("pub mod ")
                || line.starts_with("mod ")
                || line.starts_with("pub use ");
            assert!(ok, "{m}: {line}");
        }
    }
}

#[test]
fn rules_are_pure() {
    let (mods, edges) = graph();
    let rules: Vec<&String> = mods
        .keys()
        .filter(|m| m.ends_with("::rules") || *m == "rules")
        .collect();
    assert!(rules.len() >= 4, "{rules:?}");
    for m in rules {
        let text = std::fs::read_to_string(&mods[m]).unwrap();
        let text = text.split("#[cfg(test)]").next().unwrap();
        for forbidden in ["sqlx", "axum", "tokio"] {
            let named = text.lines().filter(|l| !l.trim_start().starts_with("//")).any(|l| {
                l.match_indices(forbidden).any(|(i, _)| {
                    let before = l[..i].chars().last();
                    let after = l[i + forbidden.len()..].chars().next();
                    !before.is_some_and(|c| c.is_alphanumeric() || c == '_') && after == Some(':')
                })
            });
            assert!(!named, "{m} names {forbidden}");
        }
        let verb = m.rsplit_once("::").map(|(v, _)| v).unwrap_or("");
        for to in &edges[m] {
            let ok = to == "kernel" || to.starts_with("kernel::") || (to.ends_with("::rules") && !verb.is_empty());
            assert!(
                ok,
                "{m} imports {to}: a rules.rs imports only the kernel (and other rules)"
            );
        }
    }
}

#[test]
fn the_kernel_names_no_verb_and_no_http() {
    let (_, edges) = graph();
    for (m, to) in edges
        .iter()
        .filter(|(m, _)| *m == "kernel" || m.starts_with("kernel::"))
    {
        for t in to {
            assert!(t.starts_with("kernel"), "{m} imports {t}");
        }
    }
}

#[test]
fn the_reader_finds_uses_of_every_form() {
    let text = "use crate::db::{self, Tx};\nuse super::rules::{self as r, Given};\nfn f() { crate::principal::x(); }";
    let refs = references("approve::engine", text);
    for expected in [
        "db",
        "db::Tx",
        "approve::rules",
        "approve::rules::Given",
        "principal::x",
    ] {
        assert!(refs.contains(expected), "{expected} in {refs:?}");
    }
    let mut e = BTreeMap::new();
    e.insert("a".to_owned(), BTreeSet::from(["b".to_owned()]));
    e.insert("b".to_owned(), BTreeSet::from(["c".to_owned()]));
    e.insert("c".to_owned(), BTreeSet::from(["a".to_owned()]));
    e.insert("d".to_owned(), BTreeSet::from(["a".to_owned()]));
    assert_eq!(circles(&e), vec![vec!["a".to_owned(), "b".to_owned(), "c".to_owned()]]);
}

/// Issue 20, point 4: what sees past row-level security is visible in the
/// type (`kernel::db::GlobalTx`), begun only in a `store.rs`; and nothing
/// hands the pool to sqlx directly but the kernel's `db` and the batch
/// workers' kept connections (`Held`), which are their stores' own.
#[test]
fn global_transactions_are_begun_only_in_a_store() {
    let (mods, _) = graph();
    for (m, file) in &mods {
        let text = std::fs::read_to_string(file).unwrap();
        let text = text.split("#[cfg(test)]").next().unwrap();
        let is_store = m.ends_with("::store") || m == "kernel::db";
        if !is_store {
            assert!(!text.contains("db::global("), "{m} begins a global transaction");
        }
        if m == "kernel::db" || m == "cli" || m == "seed" || m == "startup" {
            continue;
        }
        for pool_use in [
            ".db.begin()",
            "(&s.db)",
            "(&state.db)",
            "(&self.db)",
            "Principal::service(true)",
        ] {
            for line in text.lines().filter(|l| l.contains(pool_use)) {
                let sqlx_call = ["fetch", "execute", ".begin()", "service(true)"]
                    .iter()
                    .any(|c| line.contains(c));
                assert!(!sqlx_call, "{m} reaches the pool itself: {}", line.trim());
            }
        }
    }
}
