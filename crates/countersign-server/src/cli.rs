//! `countersign-server serve | migrate | seed --demo [--orgs N] | staff …`.
//! Every subcommand reads the same configuration (file and/or environment),
//! so after `. .stack/env` none needs another argument.

use crate::config::Config;
use crate::sign_in::store::{StaffRow, STAFF_COLUMNS};
use clap::{Parser, Subcommand};
use countersign_api::{Currency, Money, OrgId, Region, StaffRole, StaffUpdate};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "countersign-server", version, about = "The Countersign platform API")]
struct Cli {
    /// TOML configuration; `COUNTERSIGN_*` environment variables override it.
    #[arg(long, global = true, env = "COUNTERSIGN_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (migrations must have run).
    Serve,
    /// Apply database migrations with the administrative connection.
    Migrate,
    /// Load demo data.
    Seed {
        /// The named demo orgs and accounts of API.md.
        #[arg(long, required = true)]
        demo: bool,
        /// Additionally generate N orgs of ~100 records each.
        #[arg(long, default_value_t = 0)]
        orgs: usize,
    },
    /// Staff administration (same rules as PUT /v1/staff/{id}; bumps permission_epoch).
    #[command(subcommand)]
    Staff(StaffCommand),
    /// The audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Recompute the hash chain and the signed checkpoints; exit non-zero and
    /// name the first bad seq if anything was edited, deleted, reordered,
    /// inserted or truncated.
    Verify,
    /// Write a new Ed25519 checkpoint signing key (PKCS#8) to a file.
    Keygen {
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Subcommand)]
enum StaffCommand {
    /// List staff members.
    List,
    /// Show one staff member (by subject or id).
    Show { who: String },
    /// Add a role.
    Grant { who: String, role: String },
    /// Remove a role.
    Revoke { who: String, role: String },
    /// Set the scope: --all, or --regions and/or --orgs (slugs or ids).
    Scope {
        who: String,
        #[arg(long)]
        all: bool,
        #[arg(long, value_delimiter = ',')]
        regions: Vec<String>,
        #[arg(long, value_delimiter = ',')]
        orgs: Vec<String>,
    },
    /// Set an approval limit for a kind: an amount in minor units, or `none` for no limit.
    Limit {
        who: String,
        kind: String,
        amount_minor: String,
        #[arg(long, default_value = "EUR")]
        currency: String,
    },
}

#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error("{0}")]
    Config(#[from] crate::config::ConfigError),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Api(#[from] crate::http::problem::ApiError),
    #[error("{0}")]
    Usage(String),
    #[error("the audit log failed verification")]
    Tampered,
}

pub fn main() -> ExitCode {
    crate::telemetry::init_logging();
    let cli = Cli::parse();
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    match rt.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), CliError> {
    // Key generation needs no configuration (it runs before there is one).
    if let Command::Audit(AuditCommand::Keygen { out }) = &cli.command {
        let (_, der) = crate::audit::store::Signer::generate();
        write_secret(out, &der)?;
        println!("wrote an Ed25519 audit signing key to {}", out.display());
        return Ok(());
    }
    let config = Config::load(cli.config.as_deref())?;
    match cli.command {
        Command::Serve => {
            let app = crate::startup::Application::build(config).await?;
            tracing::info!(addr = %app.addr, metrics = %app.metrics_addr, "countersign-server listening");
            app.serve().await?;
        }
        Command::Migrate => {
            crate::startup::migrate(&config.database_url).await?;
            println!("migrations applied");
        }
        Command::Seed { demo: _, orgs } => {
            let pool = admin_pool(&config).await?;
            let started = std::time::Instant::now();
            let r = crate::seed::demo(&pool, &config.issuer, orgs).await?;
            println!(
                "seeded {} orgs, {} records, {} staff in {:.1}s",
                r.orgs,
                r.records,
                r.staff,
                started.elapsed().as_secs_f64()
            );
        }
        Command::Staff(cmd) => staff(&config, cmd).await?,
        Command::Audit(AuditCommand::Verify) => {
            let path = config.audit_key_file.as_deref().ok_or_else(|| {
                CliError::Usage("audit verify needs audit_key_file (COUNTERSIGN_AUDIT_KEY_FILE)".into())
            })?;
            let signer = crate::audit::store::Signer::from_file(path).map_err(|e| CliError::Usage(e.to_string()))?;
            let pool = admin_pool(&config).await?;
            let report = crate::audit::store::verify(&pool, &signer.public_key()).await?;
            println!("{report}");
            if !report.ok() {
                return Err(CliError::Tampered);
            }
        }
        Command::Audit(AuditCommand::Keygen { .. }) => unreachable!("handled above"),
    }
    Ok(())
}

fn write_secret(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)
}

async fn admin_pool(config: &Config) -> Result<sqlx::PgPool, sqlx::Error> {
    sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .connect(&config.database_url)
        .await
}

async fn find(pool: &sqlx::PgPool, who: &str) -> Result<StaffRow, CliError> {
    let id = uuid::Uuid::parse_str(who).ok();
    let row: Option<StaffRow> = sqlx::query_as(&format!(
        "SELECT {STAFF_COLUMNS} FROM staff WHERE id = $1 OR subject = $2 OR subject = $3"
    ))
    .bind(id)
    .bind(who)
    .bind(crate::seed::staff_subject(who))
    .fetch_optional(pool)
    .await?;
    row.ok_or_else(|| CliError::Usage(format!("no staff member {who:?}")))
}

fn print(row: &StaffRow) {
    println!("{}", serde_json::to_string_pretty(&row.to_api()).expect("serializable"));
}

/// What a `staff` subcommand does to the account it names.
type StaffChange = Box<dyn FnOnce(&mut StaffUpdate) -> Result<(), CliError>>;

async fn staff(config: &Config, cmd: StaffCommand) -> Result<(), CliError> {
    let pool = admin_pool(config).await?;
    let (who, change): (String, StaffChange) = match cmd {
        StaffCommand::List => {
            let rows: Vec<StaffRow> = sqlx::query_as(&format!("SELECT {STAFF_COLUMNS} FROM staff ORDER BY subject"))
                .fetch_all(&pool)
                .await?;
            for r in rows {
                println!(
                    "{}\t{}\t{}\tepoch {}\t{}",
                    r.id,
                    r.subject,
                    r.roles.0.iter().map(|x| x.as_str()).collect::<Vec<_>>().join(","),
                    r.permission_epoch,
                    if r.active { "active" } else { "inactive" }
                );
            }
            return Ok(());
        }
        StaffCommand::Show { who } => {
            print(&find(&pool, &who).await?);
            return Ok(());
        }
        StaffCommand::Grant { who, role } => {
            let role = parse_role(&role)?;
            (
                who,
                Box::new(move |u: &mut StaffUpdate| {
                    if !u.roles.contains(&role) {
                        u.roles.push(role);
                    }
                    Ok(())
                }),
            )
        }
        StaffCommand::Revoke { who, role } => {
            let role = parse_role(&role)?;
            (
                who,
                Box::new(move |u: &mut StaffUpdate| {
                    u.roles.retain(|r| *r != role);
                    Ok(())
                }),
            )
        }
        StaffCommand::Scope {
            who,
            all,
            regions,
            orgs,
        } => {
            let regions = regions
                .iter()
                .map(|r| Region::parse(r).ok_or_else(|| CliError::Usage(format!("unknown region {r:?}"))))
                .collect::<Result<Vec<_>, _>>()?;
            let mut org_ids = Vec::new();
            for o in &orgs {
                let id: Option<(uuid::Uuid,)> = sqlx::query_as("SELECT id FROM orgs WHERE slug = $1 OR id::text = $1")
                    .bind(o)
                    .fetch_optional(&pool)
                    .await?;
                org_ids.push(OrgId(
                    id.ok_or_else(|| CliError::Usage(format!("unknown org {o:?}")))?.0,
                ));
            }
            (
                who,
                Box::new(move |u: &mut StaffUpdate| {
                    u.scope = countersign_api::Scope {
                        all_orgs: all,
                        regions,
                        org_ids,
                    };
                    Ok(())
                }),
            )
        }
        StaffCommand::Limit {
            who,
            kind,
            amount_minor,
            currency,
        } => {
            let limit = match amount_minor.as_str() {
                "none" => None,
                n => Some(Money::new(
                    n.parse()
                        .map_err(|_| CliError::Usage(format!("not an amount in minor units: {n:?}")))?,
                    Currency::parse(&currency).map_err(|e| CliError::Usage(e.to_string()))?,
                )),
            };
            (
                who,
                Box::new(move |u: &mut StaffUpdate| {
                    u.approval_limits.insert(kind, limit);
                    Ok(())
                }),
            )
        }
    };
    let current = find(&pool, &who).await?;
    let mut update = StaffUpdate {
        roles: current.roles(),
        scope: current.scope(),
        approval_limits: current.limits(),
        active: current.active,
    };
    change(&mut update)?;
    let mut tx = pool.begin().await?;
    let row = crate::staff_admin::store::apply_update(&mut *tx, current.id, &update).await?;
    tx.commit().await?;
    print(&row);
    Ok(())
}

fn parse_role(s: &str) -> Result<StaffRole, CliError> {
    StaffRole::parse(s).ok_or_else(|| {
        CliError::Usage(format!(
            "unknown role {s:?}; one of {}",
            StaffRole::ALL.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ")
        ))
    })
}
