//! `countersign-server serve | migrate | seed --demo [--orgs N] | staff …`.
//! Every subcommand reads the same configuration (file and/or environment),
//! so after `. .stack/env` none needs another argument.

use crate::config::Config;
use crate::sign_in::store::{StaffRow, STAFF_COLUMNS};
use clap::{Parser, Subcommand};
use countersign_api::{CreateStaff, Currency, Money, OrgId, Region, Scope, StaffRole, StaffUpdate};
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
    /// Staff administration (same rules as POST /v1/staff and PUT /v1/staff/{id}; a change bumps
    /// permission_epoch and is audited as the operator's).
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
    /// Show one staff member.
    Show {
        #[command(flatten)]
        who: Who,
    },
    /// Onboard a staff member at a configured issuer (the same rules as POST /v1/staff).
    Add {
        /// One of the configured issuers, exactly.
        #[arg(long)]
        issuer: String,
        /// The person's `sub` at that issuer.
        #[arg(long)]
        subject: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        email: String,
        /// A role; repeat for several. None: an account that may do nothing yet.
        #[arg(long = "role")]
        roles: Vec<String>,
        /// Every org.
        #[arg(long, conflicts_with_all = ["regions", "orgs"])]
        all_orgs: bool,
        /// The orgs of a region; repeat for several.
        #[arg(long = "region")]
        regions: Vec<String>,
        /// One org (slug or id); repeat for several.
        #[arg(long = "org")]
        orgs: Vec<String>,
    },
    /// Add a role.
    Grant {
        #[command(flatten)]
        who: Who,
        role: String,
    },
    /// Remove a role.
    Revoke {
        #[command(flatten)]
        who: Who,
        role: String,
    },
    /// Set the scope: --all, or --regions and/or --orgs (slugs or ids).
    Scope {
        #[command(flatten)]
        who: Who,
        #[arg(long)]
        all: bool,
        #[arg(long, value_delimiter = ',')]
        regions: Vec<String>,
        #[arg(long, value_delimiter = ',')]
        orgs: Vec<String>,
    },
    /// Set an approval limit for a kind: an amount in minor units, or `none` for no limit.
    Limit {
        #[command(flatten)]
        who: Who,
        kind: String,
        amount_minor: String,
        #[arg(long, default_value = "EUR")]
        currency: String,
    },
}

/// The staff member a command names.
#[derive(clap::Args)]
struct Who {
    /// Their subject (the demo's `alice` stands for `staff-alice`) or account id.
    who: String,
    /// The issuer of the subject; needed when the subject has accounts at several.
    #[arg(long)]
    issuer: Option<String>,
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
            // The demo's staff sign in at the first issuer.
            let issuer = config.issuers().remove(0).issuer;
            let r = crate::seed::demo(&pool, &issuer, orgs).await?;
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

/// The account `who` names: by id, or by subject (`alice` standing for the
/// demo's `staff-alice` too) at `issuer`, or at whichever issuer has it when
/// only one does.
async fn find(pool: &sqlx::PgPool, who: &Who) -> Result<StaffRow, CliError> {
    let id = uuid::Uuid::parse_str(&who.who).ok();
    let rows: Vec<StaffRow> = sqlx::query_as(&format!(
        "SELECT {STAFF_COLUMNS} FROM staff WHERE (id = $1 OR subject = $2 OR subject = $3) \
           AND ($4::text IS NULL OR issuer = $4) ORDER BY issuer, subject"
    ))
    .bind(id)
    .bind(&who.who)
    .bind(crate::seed::staff_subject(&who.who))
    .bind(who.issuer.as_deref())
    .fetch_all(pool)
    .await?;
    let mut rows = rows.into_iter();
    match (rows.next(), rows.next()) {
        (Some(one), None) => Ok(one),
        (None, _) => Err(CliError::Usage(match &who.issuer {
            Some(issuer) => format!("no staff member {:?} at {issuer:?}", who.who),
            None => format!("no staff member {:?}", who.who),
        })),
        (Some(a), Some(b)) => {
            let issuers: Vec<String> = [a, b].into_iter().chain(rows).map(|r| r.issuer).collect();
            Err(CliError::Usage(format!(
                "{:?} has staff accounts at several issuers ({}): name one with --issuer",
                who.who,
                issuers.join(", ")
            )))
        }
    }
}

fn print(row: &StaffRow) {
    println!("{}", serde_json::to_string_pretty(&row.to_api()).expect("serializable"));
}

/// What a `staff` subcommand does to the account it names.
type StaffChange = Box<dyn FnOnce(&mut StaffUpdate) -> Result<(), CliError>>;

async fn staff(config: &Config, cmd: StaffCommand) -> Result<(), CliError> {
    let pool = admin_pool(config).await?;
    let (who, change): (Who, StaffChange) = match cmd {
        StaffCommand::List => {
            let rows: Vec<StaffRow> =
                sqlx::query_as(&format!("SELECT {STAFF_COLUMNS} FROM staff ORDER BY subject, issuer"))
                    .fetch_all(&pool)
                    .await?;
            for r in rows {
                println!(
                    "{}\t{}\t{}\tepoch {}\t{}\t{}",
                    r.id,
                    r.subject,
                    r.roles.0.iter().map(|x| x.as_str()).collect::<Vec<_>>().join(","),
                    r.permission_epoch,
                    match (r.active, r.access_pending) {
                        (false, _) => "inactive",
                        (true, true) => "waiting for access",
                        (true, false) => "active",
                    },
                    r.issuer,
                );
            }
            return Ok(());
        }
        StaffCommand::Show { who } => {
            print(&find(&pool, &who).await?);
            return Ok(());
        }
        StaffCommand::Add {
            issuer,
            subject,
            name,
            email,
            roles,
            all_orgs,
            regions,
            orgs,
        } => {
            let new = CreateStaff {
                issuer,
                subject,
                display_name: name,
                email,
                roles: roles.iter().map(|r| parse_role(r)).collect::<Result<_, _>>()?,
                scope: scope(&pool, all_orgs, &regions, &orgs).await?,
                approval_limits: Default::default(),
            };
            let issuers = config.issuers();
            let trusted: Vec<&str> = issuers.iter().map(|i| i.issuer.as_str()).collect();
            let mut tx = pool.begin().await?;
            let row = crate::staff_admin::store::create(&mut tx, &new, &trusted, None).await?;
            let details = serde_json::json!({ "issuer": row.issuer, "subject": row.subject, "roles": new.roles });
            audited(&mut tx, "staff.create", &row, details).await?;
            tx.commit().await?;
            print(&row);
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
            let scope = scope(&pool, all, &regions, &orgs).await?;
            (
                who,
                Box::new(move |u: &mut StaffUpdate| {
                    u.scope = scope;
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
    let details = serde_json::json!({ "roles": update.roles, "permission_epoch": row.permission_epoch });
    audited(&mut tx, "staff.update", &row, details).await?;
    tx.commit().await?;
    print(&row);
    Ok(())
}

/// A scope from the command line: every org, or regions and/or orgs (slugs or ids).
async fn scope(pool: &sqlx::PgPool, all: bool, regions: &[String], orgs: &[String]) -> Result<Scope, CliError> {
    let regions = regions
        .iter()
        .map(|r| Region::parse(r).ok_or_else(|| CliError::Usage(format!("unknown region {r:?}"))))
        .collect::<Result<Vec<_>, _>>()?;
    let mut org_ids = Vec::new();
    for o in orgs {
        let id: Option<(uuid::Uuid,)> = sqlx::query_as("SELECT id FROM orgs WHERE slug = $1 OR id::text = $1")
            .bind(o)
            .fetch_optional(pool)
            .await?;
        org_ids.push(OrgId(
            id.ok_or_else(|| CliError::Usage(format!("unknown org {o:?}")))?.0,
        ));
    }
    Ok(Scope {
        all_orgs: all,
        regions,
        org_ids,
    })
}

/// Records a staff change made at the command line in the audit log, in the
/// change's transaction (both or neither): the actor is the operator, a
/// `service` actor (the CLI has no token and no staff account), named by
/// the operating system's user.
async fn audited(
    tx: &mut sqlx::PgConnection,
    action: &str,
    row: &StaffRow,
    mut details: serde_json::Value,
) -> Result<(), CliError> {
    let os_user = ["USER", "LOGNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|u| !u.is_empty()))
        .unwrap_or_else(|| "unknown".into());
    details["via"] = "cli".into();
    details["os_user"] = os_user.into();
    let mut event = crate::audit::store::EventRow {
        actor_subject: Some(OPERATOR.into()),
        actor_kind: Some("service".into()),
        target_type: Some("staff".into()),
        target_id: Some(row.id.to_string()),
        details,
        ..crate::audit::store::EventRow::new(action, format!("cli-{}", uuid::Uuid::new_v4()))
    };
    crate::audit::store::append_in(tx, std::slice::from_mut(&mut event)).await?;
    Ok(())
}

/// The actor of the staff changes made with `countersign-server staff …`.
pub const OPERATOR: &str = "countersign-server staff (operator)";

fn parse_role(s: &str) -> Result<StaffRole, CliError> {
    StaffRole::parse(s).ok_or_else(|| {
        CliError::Usage(format!(
            "unknown role {s:?}; one of {}",
            StaffRole::ALL.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ")
        ))
    })
}
