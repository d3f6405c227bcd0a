// `sqlx::migrate!` embeds the migrations when the crate compiles; without
// this, adding or editing a migration would not rebuild it (a stale binary
// that migrates to an old schema).
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
