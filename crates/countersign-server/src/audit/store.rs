//! The tamper-evident audit log (DESIGN.md invariant 5).
//!
//! - `append`: one event, chained: `hash = SHA-256(prev_hash || canonical)`,
//!   where `canonical` is the event's JSON (fixed field order, sorted keys in
//!   `details`). `seq` is gapless: it is assigned under the chain head's row
//!   lock, so a missing seq is a deleted event.
//! - `checkpoint`: an Ed25519 signature (ring) over the head (seq, hash, time),
//!   written on a schedule even when nothing happened: a removed tail leaves a
//!   checkpoint pointing past the end.
//! - `verify`: recomputes the chain and the checkpoints, names the first bad seq.

use futures::TryStreamExt;
use ring::signature::{Ed25519KeyPair, KeyPair, UnparsedPublicKey, ED25519};
use serde::Serialize;
use sqlx::PgPool;
use std::collections::HashMap;
use time::OffsetDateTime;
use uuid::Uuid;

pub const GENESIS: [u8; 32] = [0; 32];

/// An event as stored; its serde form (without the hashes) is the canonical form.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct EventRow {
    pub seq: i64,
    pub id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub actor_issuer: Option<String>,
    pub actor_subject: Option<String>,
    pub actor_kind: Option<String>,
    pub on_behalf_of: Option<serde_json::Value>,
    pub impersonation_id: Option<Uuid>,
    pub org_id: Option<Uuid>,
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub outcome: String,
    pub code: Option<String>,
    pub reason: Option<String>,
    pub request_id: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub details: serde_json::Value,
    #[serde(skip)]
    pub prev_hash: Vec<u8>,
    #[serde(skip)]
    pub hash: Vec<u8>,
}

pub const EVENT_COLUMNS: &str =
    "seq, id, at, actor_issuer, actor_subject, actor_kind, on_behalf_of, impersonation_id, org_id, action, \
     target_type, target_id, outcome, code, reason, request_id, ip, user_agent, details, prev_hash, hash";

impl EventRow {
    /// A successful `action`'s event with no actor, target or details yet;
    /// `seq`, `at` and the hashes are the appender's to assign.
    pub fn new(action: &str, request_id: String) -> EventRow {
        EventRow {
            seq: 0,
            id: Uuid::new_v4(),
            at: OffsetDateTime::UNIX_EPOCH,
            actor_issuer: None,
            actor_subject: None,
            actor_kind: None,
            on_behalf_of: None,
            impersonation_id: None,
            org_id: None,
            action: action.to_owned(),
            target_type: None,
            target_id: None,
            outcome: "success".into(),
            code: None,
            reason: None,
            request_id,
            ip: None,
            user_agent: None,
            details: serde_json::json!({}),
            prev_hash: vec![],
            hash: vec![],
        }
    }

    pub fn chain_hash(&self) -> Vec<u8> {
        let canonical = serde_json::to_vec(self).expect("plain data");
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        ctx.update(&self.prev_hash);
        ctx.update(&canonical);
        ctx.finish().as_ref().to_vec()
    }

    pub fn to_api(&self) -> countersign_api::AuditEvent {
        use countersign_api::{ActorKind, Outcome};
        countersign_api::AuditEvent {
            seq: self.seq,
            id: self.id,
            at: self.at,
            actor: countersign_api::Actor {
                issuer: self.actor_issuer.clone(),
                subject: self.actor_subject.clone(),
                kind: self.actor_kind.as_deref().and_then(|k| match k {
                    "staff" => Some(ActorKind::Staff),
                    "customer" => Some(ActorKind::Customer),
                    "service" => Some(ActorKind::Service),
                    _ => None,
                }),
            },
            on_behalf_of: self.on_behalf_of.clone(),
            impersonation_id: self.impersonation_id,
            org_id: self.org_id,
            action: self.action.clone(),
            target_type: self.target_type.clone(),
            target_id: self.target_id.clone(),
            outcome: match self.outcome.as_str() {
                "success" => Outcome::Success,
                "denied" => Outcome::Denied,
                _ => Outcome::Error,
            },
            code: self.code.clone(),
            reason: self.reason.clone(),
            request_id: self.request_id.clone(),
            ip: self.ip.clone(),
            user_agent: self.user_agent.clone(),
            details: self.details.clone(),
            prev_hash: hex::encode(&self.prev_hash),
            hash: hex::encode(&self.hash),
        }
    }
}

/// The database stores microseconds; hash what will be read back.
fn now_micros() -> OffsetDateTime {
    let t = OffsetDateTime::now_utc();
    t.replace_nanosecond(t.nanosecond() / 1_000 * 1_000).expect("in range")
}

// ---------- appending: group commit ----------
//
// Every request waits for its own event to be committed (no event, no answer:
// a failed append turns the response into 503). Appends are serialized by the
// chain head, so one transaction per event would make the head the
// bottleneck (five round trips each, the row lock held across three).
// Instead one writer task per process takes everything queued meanwhile (up
// to BATCH_MAX events), chains it after the head it last wrote, and writes the
// batch with ONE statement in autocommit: the head moves from the expected
// (seq, hash) to the new one and the rows are inserted only if it did. If
// another process moved the head meanwhile, nothing is written; the writer
// reads the head and chains the batch again. Each waiter is answered after
// the commit. The chain format is unchanged; only the round trips are fewer.

const BATCH_MAX: usize = 512;
const QUEUE: usize = 4096;
/// Another writer can move the head between our read and our write; after
/// this many lost races in a row the batch fails (503) rather than spin.
const MAX_RACES: usize = 16;

#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    #[error("audit database error: {0}")]
    Db(#[from] sqlx::Error),
    /// The batch the event was in failed (the message is the database's).
    #[error("the audit log could not be written: {0}")]
    Batch(String),
    #[error("the audit writer has stopped")]
    Stopped,
}

/// Events to append, or (no events) a flush: answered once everything queued
/// before it is written.
struct Job {
    events: Vec<EventRow>,
    done: tokio::sync::oneshot::Sender<Result<i64, String>>,
}

/// The handle requests append through (cheap to clone).
#[derive(Clone)]
pub struct AuditWriter {
    queue: tokio::sync::mpsc::Sender<Job>,
}

impl AuditWriter {
    /// Starts the writer task on the current runtime.
    pub fn spawn(pool: PgPool) -> AuditWriter {
        let (queue, rx) = tokio::sync::mpsc::channel(QUEUE);
        tokio::spawn(write_batches(pool, rx));
        AuditWriter { queue }
    }

    /// Appends `events` contiguously, in order; returns the last `seq`. Their
    /// `seq`, `at`, `prev_hash` and `hash` are assigned by the writer.
    pub async fn append(&self, events: Vec<EventRow>) -> Result<i64, AppendError> {
        if events.is_empty() {
            return Err(AppendError::Batch("nothing to append".into()));
        }
        let (done, answer) = tokio::sync::oneshot::channel();
        self.queue
            .send(Job { events, done })
            .await
            .map_err(|_| AppendError::Stopped)?;
        answer
            .await
            .map_err(|_| AppendError::Stopped)?
            .map_err(AppendError::Batch)
    }

    /// Resolves once every event queued before the call is written (or has
    /// failed): the server's drain.
    pub async fn flush(&self) {
        let (done, answer) = tokio::sync::oneshot::channel();
        if self
            .queue
            .send(Job {
                events: Vec::new(),
                done,
            })
            .await
            .is_ok()
        {
            let _ = answer.await;
        }
    }
}

/// The head this writer believes current: (seq, hash).
type Head = Option<(i64, Vec<u8>)>;

async fn write_batches(pool: PgPool, mut rx: tokio::sync::mpsc::Receiver<Job>) {
    let mut head: Head = None;
    let mut conn = crate::kernel::db::Held::default();
    while let Some(first) = rx.recv().await {
        crate::batch::let_ready_tasks_queue().await;
        let mut jobs = vec![first];
        let mut queued = jobs[0].events.len();
        while queued < BATCH_MAX {
            let Ok(job) = rx.try_recv() else { break };
            queued += job.events.len();
            jobs.push(job);
        }
        // Flushes are answered after the events queued with them.
        let (flushes, jobs): (Vec<Job>, Vec<Job>) = jobs.into_iter().partition(|j| j.events.is_empty());
        let _answer_flushes_last = Answered(flushes);
        if jobs.is_empty() {
            continue;
        }
        let mut events: Vec<EventRow> = jobs.iter().flat_map(|j| j.events.iter().cloned()).collect();
        match append(&mut conn, &pool, &mut head, &mut events).await {
            Ok(()) => {
                let mut end = 0;
                for job in jobs {
                    end += job.events.len();
                    let _ = job.done.send(Ok(events[end - 1].seq));
                }
            }
            // One bad event must not fail its neighbours: alone, each job
            // succeeds or fails on its own.
            Err(_) if jobs.len() > 1 => {
                for job in jobs {
                    let mut events = job.events;
                    let result = append(&mut conn, &pool, &mut head, &mut events)
                        .await
                        .map(|()| events[events.len() - 1].seq)
                        .map_err(|e| e.to_string());
                    let _ = job.done.send(result);
                }
            }
            Err(e) => {
                for job in jobs {
                    let _ = job.done.send(Err(e.to_string()));
                }
            }
        }
    }
}

/// Answers the flushes it holds when dropped, at the end of their batch.
struct Answered(Vec<Job>);
impl Drop for Answered {
    fn drop(&mut self) {
        for job in self.0.drain(..) {
            let _ = job.done.send(Ok(0));
        }
    }
}

/// Appends with the writer's kept connection (`db::Held`), which is
/// handed back after an error: the pool closes it if it is broken, and the
/// next batch gets another.
async fn append(
    held: &mut crate::kernel::db::Held,
    pool: &PgPool,
    head: &mut Head,
    events: &mut [EventRow],
) -> Result<(), sqlx::Error> {
    let result = async { append_batch(held.conn(pool).await?, head, events).await }.await;
    if result.is_err() {
        held.reset();
    }
    result
}

/// Appends `events` inside the caller's transaction, so that they are
/// written if and only if the change they record commits: for changes made
/// outside a request (the CLI's) or before there is a principal (a staff
/// account provisioned at sign-in). Call it last before the commit: from
/// here to the commit the chain head is locked, and every other append waits.
/// The writer task finds the head moved and chains after it.
pub async fn append_in(tx: &mut sqlx::PgConnection, events: &mut [EventRow]) -> Result<(), sqlx::Error> {
    append_batch(tx, &mut None, events).await
}

/// Chains `events` after `head` (read from the database when unknown or
/// stale) and writes them: one statement, atomic (in autocommit, or in the
/// caller's transaction: [`append_in`]).
async fn append_batch(
    conn: &mut sqlx::PgConnection,
    head: &mut Head,
    events: &mut [EventRow],
) -> Result<(), sqlx::Error> {
    for _ in 0..MAX_RACES {
        let (expected_seq, expected_hash) = match head.take() {
            Some(h) => h,
            None => {
                sqlx::query_as("SELECT seq, hash FROM audit_chain_head")
                    .fetch_one(&mut *conn)
                    .await?
            }
        };
        let (mut seq, mut prev) = (expected_seq, expected_hash.clone());
        let at = now_micros();
        for e in events.iter_mut() {
            seq += 1;
            e.seq = seq;
            e.at = at;
            e.prev_hash = std::mem::take(&mut prev);
            e.hash = e.chain_hash();
            prev = e.hash.clone();
        }
        if write_if_head(conn, expected_seq, &expected_hash, seq, &prev, events).await? {
            *head = Some((seq, prev));
            return Ok(());
        }
        // Another writer moved the head: `head` is None, so the next round reads it.
    }
    Err(sqlx::Error::Protocol(format!(
        "the audit chain head kept moving ({MAX_RACES} attempts)"
    )))
}

/// Moves the head from (expected_seq, expected_hash) to (seq, hash) and
/// inserts `events`, both or neither; `false` when the head was elsewhere.
/// Under READ COMMITTED a concurrent writer's UPDATE makes this one wait for
/// its commit, then re-check the WHERE against the new head and match nothing.
async fn write_if_head(
    conn: &mut sqlx::PgConnection,
    expected_seq: i64,
    expected_hash: &[u8],
    seq: i64,
    hash: &[u8],
    events: &[EventRow],
) -> Result<bool, sqlx::Error> {
    macro_rules! column {
        ($f:ident) => {
            events.iter().map(|e| e.$f.clone()).collect::<Vec<_>>()
        };
    }
    let (moved,): (i64,) = sqlx::query_as(
        "WITH head AS (UPDATE audit_chain_head SET seq = $22, hash = $23 WHERE seq = $24 AND hash = $25 RETURNING 1), \
         ins AS (INSERT INTO audit_events (seq, id, at, actor_issuer, actor_subject, actor_kind, on_behalf_of, \
             impersonation_id, org_id, action, \
           target_type, target_id, outcome, code, reason, request_id, ip, user_agent, details, prev_hash, hash) \
           SELECT * FROM UNNEST($1::int8[], $2::uuid[], $3::timestamptz[], $4::text[], $5::text[], $6::text[], \
               $7::jsonb[], $8::uuid[], $9::uuid[], \
             $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[], $16::text[], $17::text[], \
                 $18::text[], $19::jsonb[], \
             $20::bytea[], $21::bytea[]) \
           WHERE EXISTS (SELECT 1 FROM head)) \
         SELECT count(*) FROM head",
    )
    .bind(column!(seq))
    .bind(column!(id))
    .bind(column!(at))
    .bind(column!(actor_issuer))
    .bind(column!(actor_subject))
    .bind(column!(actor_kind))
    .bind(column!(on_behalf_of))
    .bind(column!(impersonation_id))
    .bind(column!(org_id))
    .bind(column!(action))
    .bind(column!(target_type))
    .bind(column!(target_id))
    .bind(column!(outcome))
    .bind(column!(code))
    .bind(column!(reason))
    .bind(column!(request_id))
    .bind(column!(ip))
    .bind(column!(user_agent))
    .bind(column!(details))
    .bind(column!(prev_hash))
    .bind(column!(hash))
    .bind(seq)
    .bind(hash)
    .bind(expected_seq)
    .bind(expected_hash)
    .fetch_one(conn)
    .await?;
    Ok(moved == 1)
}

// ---------- checkpoints ----------

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read the audit signing key {0}: {1}")]
    Read(String, std::io::Error),
    #[error("the audit signing key {0} is not an Ed25519 PKCS#8 key")]
    Invalid(String),
}

/// The checkpoint signing key (Ed25519, PKCS#8). Never logged or serialized.
pub struct Signer {
    key: Ed25519KeyPair,
    pub key_id: String,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("key_id", &self.key_id)
            .field("key", &"<redacted>")
            .finish()
    }
}

pub fn key_id(public_key: &[u8]) -> String {
    hex::encode(&ring::digest::digest(&ring::digest::SHA256, public_key).as_ref()[..8])
}

impl Signer {
    pub fn from_pkcs8(der: &[u8], name: &str) -> Result<Signer, KeyError> {
        let key = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).map_err(|_| KeyError::Invalid(name.to_owned()))?;
        let key_id = key_id(key.public_key().as_ref());
        Ok(Signer { key, key_id })
    }
    pub fn from_file(path: &str) -> Result<Signer, KeyError> {
        let der = std::fs::read(path).map_err(|e| KeyError::Read(path.to_owned(), e))?;
        Signer::from_pkcs8(&der, path)
    }
    /// A fresh key, for servers configured without one (development only).
    pub fn generate() -> (Signer, Vec<u8>) {
        let der = Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new()).expect("system randomness");
        (
            Signer::from_pkcs8(der.as_ref(), "generated").expect("valid"),
            der.as_ref().to_vec(),
        )
    }
    pub fn public_key(&self) -> Vec<u8> {
        self.key.public_key().as_ref().to_vec()
    }
}

fn checkpoint_message(seq: i64, hash: &[u8], at: OffsetDateTime) -> Vec<u8> {
    let at = at
        .format(&time::format_description::well_known::Rfc3339)
        .expect("valid time");
    format!("countersign-audit-checkpoint:v1\n{seq}\n{}\n{at}", hex::encode(hash)).into_bytes()
}

/// Signs the current head. Called on a schedule by the server.
pub async fn checkpoint(pool: &PgPool, signer: &Signer) -> Result<i64, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let (seq, hash): (i64, Vec<u8>) = sqlx::query_as("SELECT seq, hash FROM audit_chain_head FOR SHARE")
        .fetch_one(&mut *tx)
        .await?;
    let at = now_micros();
    let signature = signer.key.sign(&checkpoint_message(seq, &hash, at));
    sqlx::query(
        "INSERT INTO audit_checkpoints (at, last_seq, last_hash, key_id, signature) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(at)
    .bind(seq)
    .bind(&hash)
    .bind(&signer.key_id)
    .bind(signature.as_ref())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(seq)
}

// ---------- verification ----------

#[derive(Debug, Default)]
pub struct VerifyReport {
    pub events_total: u64,
    pub events_valid: u64,
    pub checkpoints_total: u64,
    pub checkpoints_valid: u64,
    /// The last seq read (0: an empty log).
    pub last_seq: i64,
    /// The first seq at which the log is not what was written, and why.
    pub first_bad: Option<(i64, String)>,
}

impl VerifyReport {
    pub fn ok(&self) -> bool {
        self.first_bad.is_none()
    }
    pub fn to_api(&self, verified_at: OffsetDateTime) -> countersign_api::AuditVerification {
        countersign_api::AuditVerification {
            ok: self.ok(),
            events_checked: self.events_total,
            events_valid: self.events_valid,
            last_seq: self.last_seq,
            checkpoints_checked: self.checkpoints_total,
            checkpoints_valid: self.checkpoints_valid,
            first_bad: self
                .first_bad
                .as_ref()
                .map(|(seq, reason)| countersign_api::ChainBreak {
                    seq: *seq,
                    reason: reason.clone(),
                }),
            verified_at,
        }
    }
    fn bad(&mut self, seq: i64, why: String) {
        if self.first_bad.as_ref().is_none_or(|(s, _)| seq < *s) {
            self.first_bad = Some((seq, why));
        }
    }
}

impl std::fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}/{} checkpoints valid, {}/{} events valid",
            self.checkpoints_valid, self.checkpoints_total, self.events_valid, self.events_total
        )?;
        if let Some((seq, why)) = &self.first_bad {
            write!(f, "\nfirst bad seq: {seq} ({why})")?;
        }
        Ok(())
    }
}

#[derive(sqlx::FromRow)]
struct CheckpointRow {
    id: i64,
    at: OffsetDateTime,
    last_seq: i64,
    last_hash: Vec<u8>,
    key_id: String,
    signature: Vec<u8>,
}

/// Recomputes everything from the rows (`countersign-server audit verify`),
/// with an administrative connection; `public_key` comes from the operator,
/// not from the database.
pub async fn verify(pool: &PgPool, public_key: &[u8]) -> Result<VerifyReport, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    verify_on(&mut conn, public_key).await
}

/// The same for `GET /v1/audit/verify`, on the server's own role: the log is
/// under row-level security, and a chain can only be checked whole, so it is
/// read through a transaction that sees every tenant whatever the caller's
/// scope (the answer names counts and seqs, no event). Nothing is written:
/// the role's SELECT on the three tables is all it takes. The key is the one
/// the server signs its checkpoints with.
pub async fn verify_all(pool: &PgPool, public_key: &[u8]) -> Result<VerifyReport, sqlx::Error> {
    let mut tx = crate::kernel::db::global(pool).await?;
    let report = verify_on(&mut tx, public_key).await;
    crate::kernel::db::end_read(tx);
    report
}

/// Each statement reads its own snapshot (READ COMMITTED) while the server
/// keeps appending, so the order matters: the checkpoints and the chain head
/// are read before the events, and an append moves the head and writes its
/// events in one transaction. On an untouched log the events read then
/// reach at least the head; fewer is a removed tail, not a race.
async fn verify_on(conn: &mut sqlx::PgConnection, public_key: &[u8]) -> Result<VerifyReport, sqlx::Error> {
    let mut report = VerifyReport::default();
    let checkpoints: Vec<CheckpointRow> =
        sqlx::query_as("SELECT id, at, last_seq, last_hash, key_id, signature FROM audit_checkpoints ORDER BY id")
            .fetch_all(&mut *conn)
            .await?;
    let (head_seq,): (i64,) = sqlx::query_as("SELECT seq FROM audit_chain_head")
        .fetch_one(&mut *conn)
        .await?;
    report.checkpoints_total = checkpoints.len() as u64;
    let key = UnparsedPublicKey::new(&ED25519, public_key);
    let expected_key_id = key_id(public_key);
    let mut wanted: HashMap<i64, Vec<usize>> = HashMap::new();
    let mut signed = vec![false; checkpoints.len()];
    for (i, c) in checkpoints.iter().enumerate() {
        signed[i] = c.key_id == expected_key_id
            && key
                .verify(&checkpoint_message(c.last_seq, &c.last_hash, c.at), &c.signature)
                .is_ok();
        if !signed[i] {
            report.bad(
                c.last_seq.max(1),
                format!("checkpoint {} has an invalid signature", c.id),
            );
        }
        wanted.entry(c.last_seq).or_default().push(i);
    }
    let mut matched = vec![false; checkpoints.len()];
    for i in wanted.remove(&0).unwrap_or_default() {
        matched[i] = checkpoints[i].last_hash == GENESIS;
    }

    let sql = format!("SELECT {EVENT_COLUMNS} FROM audit_events ORDER BY seq");
    let mut rows = sqlx::query_as::<_, EventRow>(&sql).fetch(&mut *conn);
    let mut expected_seq = 1i64;
    let mut prev = GENESIS.to_vec();
    let mut chain_intact = true;
    while let Some(e) = rows.try_next().await? {
        report.events_total += 1;
        if chain_intact {
            let why = if e.seq != expected_seq {
                Some(if e.seq > expected_seq {
                    format!("seq {expected_seq} is missing")
                } else {
                    "seq out of order".into()
                })
            } else if e.prev_hash != prev {
                Some("prev_hash does not match the previous event".into())
            } else if e.chain_hash() != e.hash {
                Some("content does not match its hash".into())
            } else {
                None
            };
            match why {
                Some(why) => {
                    report.bad(expected_seq.min(e.seq), why);
                    chain_intact = false;
                }
                None => report.events_valid += 1,
            }
        }
        for i in wanted.remove(&e.seq).unwrap_or_default() {
            matched[i] = checkpoints[i].last_hash == e.hash;
            if !matched[i] {
                report.bad(
                    e.seq,
                    format!("checkpoint {} signed another hash for this seq", checkpoints[i].id),
                );
            }
        }
        prev = e.hash;
        expected_seq = e.seq + 1;
    }
    // Checkpoints that point past the last event: the tail was removed.
    for (seq, idx) in wanted {
        for i in idx {
            report.bad(
                expected_seq,
                format!(
                    "checkpoint {} covers seq {seq}, but the log ends at {}",
                    checkpoints[i].id,
                    expected_seq - 1
                ),
            );
        }
    }
    report.last_seq = expected_seq - 1;
    if head_seq > expected_seq - 1 {
        report.bad(
            expected_seq,
            format!(
                "the chain head is at seq {head_seq}, but the log ends at {}",
                expected_seq - 1
            ),
        );
    }
    report.checkpoints_valid = signed.iter().zip(&matched).filter(|(s, m)| **s && **m).count() as u64;
    Ok(report)
}
