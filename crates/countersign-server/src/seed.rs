//! Demo data (API.md "Demo data and accounts"): the four named orgs, the staff
//! and customer accounts of the dev identity provider, and `--orgs N`
//! generated orgs of ~100 records each. Deterministic for a given org index.
//! Runs as the administrative role, in one transaction, with bulk UNNEST
//! inserts (1,000 orgs ≈ 100,000 records).

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sqlx::PgPool;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

pub struct StaffSeed {
    pub username: &'static str,
    pub name: &'static str,
    pub roles: &'static [&'static str],
    pub all: bool,
    pub regions: &'static [&'static str],
    /// Approval limit in EUR minor units, applied to every approval kind; None = no limit.
    pub limit_minor: Option<i64>,
}

pub const DEMO_STAFF: &[StaffSeed] = &[
    StaffSeed {
        username: "alice",
        name: "Alice Laurent",
        roles: &["support_agent"],
        all: false,
        regions: &["EU"],
        limit_minor: None,
    },
    StaffSeed {
        username: "bob",
        name: "Bob Miller",
        roles: &["support_agent"],
        all: false,
        regions: &["US"],
        limit_minor: None,
    },
    StaffSeed {
        username: "sam",
        name: "Sam Okafor",
        roles: &["support_supervisor"],
        all: true,
        regions: &[],
        limit_minor: None,
    },
    StaffSeed {
        username: "carl",
        name: "Carl Jensen",
        roles: &["finance_clerk"],
        all: true,
        regions: &[],
        limit_minor: None,
    },
    StaffSeed {
        username: "ana",
        name: "Ana Costa",
        roles: &["finance_approver"],
        all: true,
        regions: &[],
        limit_minor: Some(5_000_000),
    },
    StaffSeed {
        username: "andy",
        name: "Andy Brooks",
        roles: &["finance_approver"],
        all: true,
        regions: &[],
        limit_minor: Some(1_000_000),
    },
    StaffSeed {
        username: "cora",
        name: "Cora Lindqvist",
        roles: &["finance_controller"],
        all: true,
        regions: &[],
        limit_minor: None,
    },
    StaffSeed {
        username: "ava",
        name: "Ava Novak",
        roles: &["auditor"],
        all: true,
        regions: &[],
        limit_minor: None,
    },
    StaffSeed {
        username: "sid",
        name: "Sid Varga",
        roles: &["security_admin"],
        all: true,
        regions: &[],
        limit_minor: None,
    },
];

/// The subject the dev identity provider issues for a username (dev/idp/README.md).
pub fn staff_subject(username: &str) -> String {
    format!("staff-{username}")
}
pub fn customer_subject(username: &str) -> String {
    format!("cust-{username}")
}

const DEMO_ORGS: &[(&str, &str, &str)] = &[
    ("acme", "Acme Corporation", "EU"),
    ("globex", "Globex GmbH", "EU"),
    ("initech", "Initech Inc.", "US"),
    ("umbrella", "Umbrella LLC", "US"),
];

const FIRST: &[&str] = &[
    "Jana", "Lukas", "Sofia", "Mateo", "Emma", "Noah", "Mia", "Liam", "Olivia", "Elias", "Chloé", "Hugo", "Zoe",
    "Finn", "Ines", "Omar", "Priya", "Kenji", "Marta", "Tomasz", "Aisha", "Diego", "Freya", "Jonas",
];
const LAST: &[&str] = &[
    "Schmidt", "Müller", "Rossi", "García", "Dubois", "Novak", "Jansen", "Kowalski", "Smith", "Johnson", "Nguyen",
    "Patel", "O'Brien", "Larsen", "Fischer", "Moreau", "Silva", "Yamamoto", "Haddad", "Berg",
];
const EU_CITIES: &[(&str, &str)] = &[
    ("Berlin", "10115"),
    ("Amsterdam", "1012"),
    ("Paris", "75001"),
    ("Vienna", "1010"),
    ("Madrid", "28001"),
];
const US_CITIES: &[(&str, &str)] = &[
    ("Austin", "78701"),
    ("Boston", "02108"),
    ("Denver", "80202"),
    ("Seattle", "98101"),
    ("Chicago", "60601"),
];
const STREETS: &[&str] = &[
    "Main Street",
    "Hauptstraße",
    "Rue de Rivoli",
    "Keizersgracht",
    "Elm Avenue",
    "Calle Mayor",
    "Ringstraße",
];
const VENDOR_WORDS: &[&str] = &[
    "Nordic", "Atlas", "Bright", "Summit", "Harbor", "Cobalt", "Pioneer", "Vertex", "Lumen", "Granite", "Meridian",
    "Orbit",
];
const VENDOR_KINDS: &[&str] = &[
    "Logistics",
    "Office Supply",
    "Cloud Services",
    "Consulting",
    "Catering",
    "Facilities",
    "Print",
];
const BANKS: &[&str] = &[
    "Commerzbank",
    "ING",
    "BNP Paribas",
    "Barclays",
    "Deutsche Bank",
    "Rabobank",
    "HSBC",
];

/// ISO 13616 check digits for `country` + `bban`.
pub fn iban(country: &str, bban: &str) -> String {
    let rearranged = format!("{bban}{country}00");
    let mut rem: u32 = 0;
    for c in rearranged.chars() {
        let v = c.to_digit(36).expect("alphanumeric");
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    format!("{country}{:02}{bban}", 98 - rem)
}

fn digits(rng: &mut impl Rng, n: usize) -> String {
    (0..n).map(|_| char::from(b'0' + rng.gen_range(0..10u8))).collect()
}
fn letters(rng: &mut impl Rng, n: usize) -> String {
    (0..n).map(|_| char::from(b'A' + rng.gen_range(0..26u8))).collect()
}
fn random_iban(rng: &mut impl Rng) -> String {
    match rng.gen_range(0..3) {
        0 => iban("DE", &digits(rng, 18)),
        1 => iban("NL", &format!("{}{}", letters(rng, 4), digits(rng, 10))),
        _ => iban("GB", &format!("{}{}", letters(rng, 4), digits(rng, 14))),
    }
}

/// One column vector per UNNEST parameter of each table's insert, in its
/// order: a struct per row would be transposed again before binding.
#[derive(Default)]
#[allow(clippy::type_complexity)]
struct Batch {
    orgs: (Vec<Uuid>, Vec<String>, Vec<String>, Vec<String>),
    users: (
        Vec<Uuid>,
        Vec<Uuid>,
        Vec<String>,
        Vec<String>,
        Vec<String>,
        Vec<String>,
        Vec<String>,
        Vec<String>,
        Vec<String>,
        Vec<Option<String>>,
        Vec<Option<String>>,
    ),
    invoices: (
        Vec<Uuid>,
        Vec<Uuid>,
        Vec<String>,
        Vec<String>,
        Vec<i64>,
        Vec<String>,
        Vec<String>,
        Vec<OffsetDateTime>,
        Vec<OffsetDateTime>,
    ),
    vendors: (
        Vec<Uuid>,
        Vec<Uuid>,
        Vec<String>,
        Vec<String>,
        Vec<String>,
        Vec<String>,
        Vec<String>,
    ),
    banks: (
        Vec<Uuid>,
        Vec<Uuid>,
        Vec<String>,
        Vec<Uuid>,
        Vec<String>,
        Vec<String>,
        Vec<String>,
    ),
    payments: (
        Vec<Uuid>,
        Vec<Uuid>,
        Vec<String>,
        Vec<String>,
        Vec<i64>,
        Vec<String>,
        Vec<Option<Uuid>>,
        Vec<Option<Uuid>>,
        Vec<OffsetDateTime>,
    ),
    records: usize,
}

struct OrgSpec<'a> {
    slug: String,
    name: String,
    region: &'a str,
    users: usize,
    invoices_per_month: usize,
    vendors: usize,
    payments: usize,
    /// Usernames of IdP customer accounts: (username, role).
    accounts: &'a [(&'a str, &'a str)],
}

fn uuid_from(rng: &mut impl Rng) -> Uuid {
    uuid::Builder::from_random_bytes(rng.gen()).into_uuid()
}

impl Batch {
    fn add_org(&mut self, spec: &OrgSpec, seed: u64, issuer: &str, now: OffsetDateTime) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let org = uuid_from(&mut rng);
        let region = spec.region.to_owned();
        self.orgs.0.push(org);
        self.orgs.1.push(spec.slug.clone());
        self.orgs.2.push(spec.name.clone());
        self.orgs.3.push(region.clone());
        let cities = if spec.region == "EU" { EU_CITIES } else { US_CITIES };
        let currency = if spec.region == "EU" { "EUR" } else { "USD" };

        for i in 0..spec.users {
            let (first, last) = (FIRST.choose(&mut rng).unwrap(), LAST.choose(&mut rng).unwrap());
            let (city, zip) = cities.choose(&mut rng).unwrap();
            let account = spec.accounts.get(i);
            let role = account
                .map(|a| a.1)
                .unwrap_or(if i == 0 { "org_admin" } else { "member" });
            let local = format!("{}.{}", first.to_lowercase(), last.to_lowercase().replace('\'', ""));
            let u = &mut self.users;
            u.0.push(uuid_from(&mut rng));
            u.1.push(org);
            u.2.push(region.clone());
            u.3.push(format!("{first} {last}"));
            u.4.push(format!("{local}@{}.example", spec.slug));
            u.5.push(if spec.region == "EU" {
                format!("+49 30 {}", digits(&mut rng, 7))
            } else {
                format!("+1 415 555 {}", digits(&mut rng, 4))
            });
            u.6.push(format!(
                "{} {}, {zip}",
                STREETS.choose(&mut rng).unwrap(),
                rng.gen_range(1..200)
            ));
            u.7.push((*city).to_owned());
            u.8.push(role.to_owned());
            u.9.push(account.map(|_| issuer.to_owned()));
            u.10.push(account.map(|a| customer_subject(a.0)));
        }

        let mut invoice_ids = Vec::new();
        let mut n = 0;
        for month in 0..12 {
            for _ in 0..spec.invoices_per_month {
                n += 1;
                let issued = now
                    - Duration::days(30 * (11 - month) + rng.gen_range(0..28))
                    - Duration::minutes(rng.gen_range(0..1440));
                let due = issued + Duration::days(30);
                let status = if due > now {
                    "open"
                } else if rng.gen_ratio(1, 20) {
                    "void"
                } else if rng.gen_ratio(1, 10) {
                    "open"
                } else {
                    "paid"
                };
                let id = uuid_from(&mut rng);
                invoice_ids.push(id);
                let v = &mut self.invoices;
                v.0.push(id);
                v.1.push(org);
                v.2.push(region.clone());
                v.3.push(format!("INV-{}-{n:05}", issued.year()));
                v.4.push(rng.gen_range(5_000..3_000_000));
                v.5.push(currency.to_owned());
                v.6.push(status.to_owned());
                v.7.push(issued);
                v.8.push(due);
            }
        }

        let mut vendor_ids = Vec::new();
        for _ in 0..spec.vendors {
            let id = uuid_from(&mut rng);
            vendor_ids.push(id);
            let name = format!(
                "{} {}",
                VENDOR_WORDS.choose(&mut rng).unwrap(),
                VENDOR_KINDS.choose(&mut rng).unwrap()
            );
            let (city, zip) = cities.choose(&mut rng).unwrap();
            let v = &mut self.vendors;
            v.0.push(id);
            v.1.push(org);
            v.2.push(region.clone());
            v.3.push(name.clone());
            v.4.push(if spec.region == "EU" {
                format!("DE{}", digits(&mut rng, 9))
            } else {
                format!("{}-{}", digits(&mut rng, 2), digits(&mut rng, 7))
            });
            v.5.push(format!(
                "{} {}, {zip}",
                STREETS.choose(&mut rng).unwrap(),
                rng.gen_range(1..200)
            ));
            v.6.push((*city).to_owned());
            let b = &mut self.banks;
            b.0.push(uuid_from(&mut rng));
            b.1.push(org);
            b.2.push(region.clone());
            b.3.push(id);
            b.4.push(random_iban(&mut rng));
            b.5.push(BANKS.choose(&mut rng).unwrap().to_string());
            b.6.push(name);
        }

        for _ in 0..spec.payments {
            let kind = ["refund", "credit_note", "payout"][rng.gen_range(0..3)];
            let p = &mut self.payments;
            p.0.push(uuid_from(&mut rng));
            p.1.push(org);
            p.2.push(region.clone());
            p.3.push(kind.to_owned());
            p.4.push(rng.gen_range(1_000..500_000));
            p.5.push(currency.to_owned());
            p.6.push((kind == "payout").then(|| *vendor_ids.choose(&mut rng).unwrap()));
            p.7.push((kind != "payout").then(|| *invoice_ids.choose(&mut rng).unwrap()));
            p.8.push(now - Duration::days(rng.gen_range(0..365)));
        }
        self.records += 1 + spec.users + invoice_ids.len() + 2 * spec.vendors + spec.payments;
    }

    async fn flush(&mut self, tx: &mut sqlx::Transaction<'_, sqlx::Postgres>) -> Result<usize, sqlx::Error> {
        let b = std::mem::take(self);
        sqlx::query(
            "INSERT INTO orgs (id, slug, name, region) SELECT * FROM UNNEST($1::uuid[], $2::text[], \
            $3::text[], $4::text[])",
        )
        .bind(b.orgs.0)
        .bind(b.orgs.1)
        .bind(b.orgs.2)
        .bind(b.orgs.3)
        .execute(&mut **tx)
        .await?;
        let u = b.users;
        sqlx::query(
            "INSERT INTO customer_users (id, org_id, region, name, email, phone, street, city, role, idp_issuer, \
                idp_subject) \
             SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], \
                 $8::text[], $9::text[], $10::text[], $11::text[])",
        )
        .bind(u.0)
        .bind(u.1)
        .bind(u.2)
        .bind(u.3)
        .bind(u.4)
        .bind(u.5)
        .bind(u.6)
        .bind(u.7)
        .bind(u.8)
        .bind(u.9)
        .bind(u.10)
        .execute(&mut **tx)
        .await?;
        let i = b.invoices;
        sqlx::query(
            "INSERT INTO invoices (id, org_id, region, number, amount_minor, currency, status, issued_at, due_at) \
             SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::int8[], $6::text[], $7::text[], \
                 $8::timestamptz[], $9::timestamptz[])",
        )
        .bind(i.0)
        .bind(i.1)
        .bind(i.2)
        .bind(i.3)
        .bind(i.4)
        .bind(i.5)
        .bind(i.6)
        .bind(i.7)
        .bind(i.8)
        .execute(&mut **tx)
        .await?;
        let v = b.vendors;
        sqlx::query(
            "INSERT INTO vendors (id, org_id, region, name, tax_id, street, city) \
             SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])",
        )
        .bind(v.0)
        .bind(v.1)
        .bind(v.2)
        .bind(v.3)
        .bind(v.4)
        .bind(v.5)
        .bind(v.6)
        .execute(&mut **tx)
        .await?;
        let a = b.banks;
        sqlx::query(
            "INSERT INTO vendor_bank_accounts (id, org_id, region, vendor_id, iban, bank_name, account_holder) \
             SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::text[], $4::uuid[], $5::text[], $6::text[], $7::text[])",
        )
        .bind(a.0)
        .bind(a.1)
        .bind(a.2)
        .bind(a.3)
        .bind(a.4)
        .bind(a.5)
        .bind(a.6)
        .execute(&mut **tx)
        .await?;
        let p = b.payments;
        sqlx::query(
            "INSERT INTO payments (id, org_id, region, kind, amount_minor, currency, vendor_id, invoice_id, \
                created_at) \
             SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::int8[], $6::text[], $7::uuid[], \
                 $8::uuid[], $9::timestamptz[])",
        )
        .bind(p.0)
        .bind(p.1)
        .bind(p.2)
        .bind(p.3)
        .bind(p.4)
        .bind(p.5)
        .bind(p.6)
        .bind(p.7)
        .bind(p.8)
        .execute(&mut **tx)
        .await?;
        Ok(b.records)
    }
}

#[derive(Debug, Default)]
pub struct SeedReport {
    pub orgs: usize,
    pub records: usize,
    pub staff: usize,
}

/// Seeds the demo orgs and accounts (once) and `extra_orgs` generated orgs
/// (added to any generated earlier).
pub async fn demo(admin: &PgPool, issuer: &str, extra_orgs: usize) -> Result<SeedReport, sqlx::Error> {
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).expect("0 is valid");
    let mut tx = admin.begin().await?;
    let mut report = SeedReport::default();

    for s in DEMO_STAFF {
        let limits: serde_json::Map<String, serde_json::Value> = match s.limit_minor {
            None => serde_json::Map::new(),
            Some(m) => countersign_api::APPROVAL_KINDS
                .iter()
                .map(|k| {
                    (
                        (*k).to_owned(),
                        serde_json::json!({ "amount_minor": m, "currency": "EUR" }),
                    )
                })
                .collect(),
        };
        let inserted = sqlx::query(
            "INSERT INTO staff (id, issuer, subject, display_name, email, roles, scope_all, scope_regions, \
                approval_limits) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (issuer, subject) DO NOTHING",
        )
        .bind(Uuid::new_v4())
        .bind(issuer)
        .bind(staff_subject(s.username))
        .bind(s.name)
        .bind(format!("{}@countersign.example", s.username))
        .bind(s.roles)
        .bind(s.all)
        .bind(s.regions)
        .bind(serde_json::Value::Object(limits))
        .execute(&mut *tx)
        .await?;
        report.staff += inserted.rows_affected() as usize;
    }

    let (have_demo,): (bool,) = sqlx::query_as("SELECT EXISTS (SELECT 1 FROM orgs WHERE slug = 'acme')")
        .fetch_one(&mut *tx)
        .await?;
    let mut batch = Batch::default();
    if !have_demo {
        for (i, (slug, name, region)) in DEMO_ORGS.iter().enumerate() {
            let admin_account = format!("{slug}-admin");
            let user_account = format!("{slug}-user");
            let accounts: Vec<(&str, &str)> = if matches!(*slug, "acme" | "globex") {
                vec![(admin_account.as_str(), "org_admin"), (user_account.as_str(), "member")]
            } else {
                vec![]
            };
            let spec = OrgSpec {
                slug: slug.to_string(),
                name: name.to_string(),
                region,
                users: 8,
                invoices_per_month: 5,
                vendors: 5,
                payments: 12,
                accounts: &accounts,
            };
            batch.add_org(&spec, 1_000 + i as u64, issuer, now);
        }
        report.orgs += DEMO_ORGS.len();
        report.records += batch.flush(&mut tx).await?;
    }

    let (existing,): (i64,) = sqlx::query_as("SELECT count(*) FROM orgs WHERE slug LIKE 'gen-%'")
        .fetch_one(&mut *tx)
        .await?;
    for k in 0..extra_orgs {
        let n = existing as usize + k + 1;
        let region = if n.is_multiple_of(2) { "US" } else { "EU" };
        let mut rng = ChaCha8Rng::seed_from_u64(n as u64);
        let name = format!(
            "{} {} {n}",
            VENDOR_WORDS.choose(&mut rng).unwrap(),
            ["Holdings", "Labs", "Group", "Systems", "Partners"]
                .choose(&mut rng)
                .unwrap()
        );
        let spec = OrgSpec {
            slug: format!("gen-{n:05}"),
            name,
            region,
            users: 10,
            invoices_per_month: 5,
            vendors: 5,
            payments: 20,
            accounts: &[],
        };
        batch.add_org(&spec, 1_000_000 + n as u64, issuer, now);
        report.orgs += 1;
        if (k + 1) % 100 == 0 {
            report.records += batch.flush(&mut tx).await?;
        }
    }
    if !batch.orgs.0.is_empty() {
        report.records += batch.flush(&mut tx).await?;
    }
    tx.commit().await?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iban_check_digits_match_the_standard_example() {
        // The ISO 13616 example account.
        assert_eq!(iban("DE", "370400440532013000"), "DE89370400440532013000");
        assert_eq!(iban("GB", "WEST12345698765432"), "GB82WEST12345698765432");
    }
}
