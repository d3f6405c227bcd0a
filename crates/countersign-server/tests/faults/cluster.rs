//! A PostgreSQL of a test's own, for the faults no shared one may suffer.

use crate::helpers::env;
use sqlx::PgPool;

/// A PostgreSQL cluster of a test's own (initdb in /tmp, owned by the postgres
/// user, which PostgreSQL requires), migrated and demo-seeded: for faults that
/// cannot be done to the shared one — restarting it, killing it. Stopped
/// (immediately) and removed on drop.
pub struct PgCluster {
    dir: std::path::PathBuf,
    /// Superuser URL of the `countersign` database.
    pub url: String,
}

impl PgCluster {
    pub async fn start() -> PgCluster {
        let dir = tempfile::Builder::new()
            .prefix("countersign-faults-pg.")
            .tempdir_in("/tmp")
            .unwrap()
            .keep();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let as_postgres = |args: &[&str]| {
            let out = std::process::Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .args(args)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        std::process::Command::new("chown")
            .arg("postgres:")
            .arg(&dir)
            .status()
            .unwrap();
        let data = dir.join("data");
        let data_s = data.to_str().unwrap().to_owned();
        let bin = pg_bin();
        as_postgres(&[
            &format!("{bin}/initdb"),
            "-N",
            "-A",
            "trust",
            "-U",
            "postgres",
            "-D",
            &data_s,
        ]);
        let conf = format!(
            "listen_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{}'\nfsync = off\n\
             synchronous_commit = on\nfull_page_writes = off\nmax_connections = 100\n",
            dir.display()
        );
        std::fs::OpenOptions::new()
            .append(true)
            .open(data.join("postgresql.conf"))
            .and_then(|mut f| std::io::Write::write_all(&mut f, conf.as_bytes()))
            .unwrap();
        let cluster = PgCluster {
            url: format!("postgres://postgres@127.0.0.1:{port}/countersign"),
            dir,
        };
        cluster.pg_ctl(&["start", "-w"]);
        as_postgres(&[
            &format!("{bin}/createdb"),
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "countersign",
        ]);
        countersign_server::startup::migrate(&cluster.url)
            .await
            .expect("migrations");
        let pool = PgPool::connect(&cluster.url).await.unwrap();
        countersign_server::seed::demo(&pool, &env().issuer, 0)
            .await
            .expect("demo seed");
        pool.close().await;
        cluster
    }

    fn pg_ctl(&self, args: &[&str]) {
        let data = self.dir.join("data");
        let log = self.dir.join("postgres.log");
        let out = std::process::Command::new("runuser")
            .args(["-u", "postgres", "--", &format!("{}/pg_ctl", pg_bin()), "-D"])
            .arg(&data)
            .arg("-l")
            .arg(&log)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pg_ctl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `pg_ctl restart` (fast: sessions are terminated, as an operator's restart does).
    pub fn restart(&self) {
        self.pg_ctl(&["restart", "-m", "fast", "-w"]);
    }

    /// SIGKILL to the postmaster (its pid from postmaster.pid, nothing else);
    /// returns once it is gone. Its backends notice and exit.
    pub fn kill_postmaster(&self) {
        let pidfile = std::fs::read_to_string(self.dir.join("data/postmaster.pid")).unwrap();
        let pid: i32 = pidfile.lines().next().unwrap().trim().parse().unwrap();
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL).unwrap();
        while nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok() {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }

    /// Starts it again after [`PgCluster::kill_postmaster`].
    pub fn start_again(&self) {
        // The killed postmaster's backends may still hold its shared memory
        // for a moment; pg_ctl waits until the new one accepts connections.
        self.pg_ctl(&["start", "-w"]);
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let _ = std::process::Command::new("runuser")
            .args(["-u", "postgres", "--", &format!("{}/pg_ctl", pg_bin()), "-D"])
            .arg(self.dir.join("data"))
            .args(["stop", "-m", "immediate"])
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// PostgreSQL's programs (Debian keeps them out of PATH).
fn pg_bin() -> String {
    let out = std::process::Command::new("pg_config").arg("--bindir").output();
    match out {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).trim().to_owned(),
        _ => "/usr/lib/postgresql/15/bin".to_owned(),
    }
}
