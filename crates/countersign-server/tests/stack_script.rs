//! `scripts/stack up|down|status` (issue 2, point 3): a private stack in a
//! temporary directory, so it never touches the one the other tests use.

use std::path::Path;
use std::process::{Command, Output};

fn stack(dir: &Path, cmd: &str) -> Output {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    Command::new(root.join("scripts/stack"))
        .arg(cmd)
        .env("COUNTERSIGN_STACK_DIR", dir)
        .output()
        .unwrap()
}

fn in_stack_shell(dir: &Path, script: &str) -> Output {
    Command::new("bash")
        .arg("-c")
        .arg(format!(". {}/env && {script}", dir.display()))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap())
        .output()
        .unwrap()
}

#[test]
fn stack_up_is_idempotent_serves_the_demo_and_down_removes_everything() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("stack");
    let up = stack(&dir, "up");
    assert!(up.status.success(), "{}", String::from_utf8_lossy(&up.stderr));
    let env = std::fs::read_to_string(dir.join("env")).unwrap();
    for key in [
        "COUNTERSIGN_API_URL",
        "COUNTERSIGN_ISSUER",
        "COUNTERSIGN_CLIENT_ID",
        "COUNTERSIGN_AUDIENCE",
        "COUNTERSIGN_DATABASE_URL",
        "COUNTERSIGN_SERVER_BIN",
    ] {
        assert!(env.lines().any(|l| l.starts_with(&format!("{key}="))), "{key} in env");
    }
    // After sourcing the env, subcommands need no other argument.
    let out = in_stack_shell(
        &dir,
        "$COUNTERSIGN_SERVER_BIN staff list && $COUNTERSIGN_SERVER_BIN migrate",
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("staff-alice"));
    let out = in_stack_shell(
        &dir,
        "curl -fsS $COUNTERSIGN_API_URL/readyz && curl -fsS \
        $COUNTERSIGN_ISSUER/.well-known/openid-configuration >/dev/null",
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = in_stack_shell(
        &dir,
        "psql \"$COUNTERSIGN_DATABASE_URL\" -Atc \"select count(*) from orgs where slug in \
        ('acme','globex','initech','umbrella')\"",
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "4", "demo seed");

    // A second `up` changes nothing.
    let again = stack(&dir, "up");
    assert!(again.status.success());
    assert_eq!(std::fs::read_to_string(dir.join("env")).unwrap(), env);
    assert!(stack(&dir, "status").status.success());

    let pgdata = env
        .lines()
        .find_map(|l| l.strip_prefix("PGDATA_DIR="))
        .unwrap()
        .to_owned();
    let pids: Vec<String> = ["idp.pid", "server.pid"]
        .iter()
        .map(|p| std::fs::read_to_string(dir.join(p)).unwrap().trim().to_owned())
        .collect();
    let down = stack(&dir, "down");
    assert!(down.status.success());
    assert!(!dir.exists(), "stack directory removed");
    assert!(!Path::new(&pgdata).exists(), "database files removed");
    for pid in pids {
        assert!(!Path::new(&format!("/proc/{pid}")).exists(), "process {pid} stopped");
    }
    assert!(!stack(&dir, "status").status.success(), "status reports down");
}
