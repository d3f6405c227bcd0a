//! Local search over the cache (issue 6, point 7): orgs, users, invoices,
//! vendors and payments by name, number, masked e-mail or amount. The cache
//! is encrypted at rest, so the index lives in memory only, built from the
//! decrypted records and rebuilt after a sync; nothing searchable is ever
//! written in clear.

use crate::cache::{Cache, CacheError, CachedRecord};
use countersign_api::{Money, RecordType};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

/// One search result, typed by record.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "SearchHit"))]
pub struct Hit {
    pub record_type: RecordType,
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub record_id: uuid::Uuid,
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub org_id: uuid::Uuid,
    /// The org the record belongs to (its own name for an org).
    pub org_name: String,
    /// What to show first: a name, an invoice number.
    pub title: String,
    /// Secondary line: masked e-mail, amount, kind.
    pub detail: String,
}

/// One record in the index, kept small: the index holds every cached record (100k and more),
/// so an org's name is shared by its records and the texts are one allocation.
struct Entry {
    record_type: RecordType,
    record_id: uuid::Uuid,
    org_id: uuid::Uuid,
    org_name: Arc<str>,
    /// The title, the detail, then the lowercased text the query is matched against.
    text: Box<str>,
    title_end: u32,
    detail_end: u32,
    /// Amounts in minor units, for numeric queries.
    amount_minor: Option<i64>,
}

impl Entry {
    fn haystack(&self) -> &str {
        &self.text[self.detail_end as usize..]
    }

    fn hit(&self) -> Hit {
        let (title, detail) = (self.title_end as usize, self.detail_end as usize);
        Hit {
            record_type: self.record_type,
            record_id: self.record_id,
            org_id: self.org_id,
            org_name: self.org_name.to_string(),
            title: self.text[..title].to_owned(),
            detail: self.text[title..detail].to_owned(),
        }
    }
}

#[derive(Default)]
pub struct SearchIndex {
    entries: Vec<Entry>,
}

const TYPES: [RecordType; 5] = [
    RecordType::Org,
    RecordType::User,
    RecordType::Invoice,
    RecordType::Vendor,
    RecordType::Payment,
];

fn text(v: &Value, k: &str) -> String {
    v.get(k).and_then(Value::as_str).unwrap_or_default().to_owned()
}

fn masked(v: &Value, k: &str) -> String {
    v.get(k)
        .and_then(|m| m.get("masked"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn money(v: &Value) -> Option<Money> {
    v.get("amount").and_then(|m| serde_json::from_value(m.clone()).ok())
}

fn entry(r: &CachedRecord, org_names: &HashMap<uuid::Uuid, Arc<str>>) -> Entry {
    let d = &r.data;
    let amount = money(d);
    let amount_text = amount.map(|m| m.display()).unwrap_or_default();
    let (title, detail, extra) = match r.record_type {
        RecordType::Org => (text(d, "name"), text(d, "region"), text(d, "slug")),
        RecordType::User => (text(d, "name"), masked(d, "email"), text(d, "city")),
        RecordType::Invoice => (text(d, "number"), amount_text.clone(), text(d, "status")),
        RecordType::Vendor => (
            text(d, "name"),
            text(d, "city"),
            d.get("bank_account").map(|b| text(b, "bank_name")).unwrap_or_default(),
        ),
        RecordType::Payment => (
            format!("{} {}", text(d, "kind").replace('_', " "), amount_text.clone()),
            amount_text.clone(),
            String::new(),
        ),
    };
    let haystack = format!("{title}\n{detail}\n{extra}\n{amount_text}").to_lowercase();
    Entry {
        record_type: r.record_type,
        record_id: r.record_id,
        org_id: r.org_id,
        org_name: org_names.get(&r.org_id).cloned().unwrap_or_else(|| Arc::from("")),
        text: [title.as_str(), &detail, &haystack].concat().into_boxed_str(),
        title_end: title.len() as u32,
        detail_end: (title.len() + detail.len()) as u32,
        amount_minor: amount.map(|m| m.amount_minor),
    }
}

/// `1234.5`, `1,234.50`, `1234` → minor units (2 decimals).
fn parse_amount(q: &str) -> Option<i64> {
    let clean: String = q.chars().filter(|c| *c != ',' && *c != ' ').collect();
    let (whole, frac) = clean.split_once('.').unwrap_or((&clean, ""));
    if whole.is_empty()
        || !whole.chars().all(|c| c.is_ascii_digit())
        || frac.len() > 2
        || !frac.chars().all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let frac = format!("{frac:0<2}");
    whole
        .parse::<i64>()
        .ok()?
        .checked_mul(100)?
        .checked_add(frac.parse::<i64>().ok()?)
}

impl SearchIndex {
    /// Decrypts every cached record once and indexes it in memory, one record at a time: only
    /// the orgs (for their names) are held until their entries are made. 100k records decrypted
    /// together as JSON values took ~200 MB of heap, which glibc kept after the build; built one
    /// at a time into small entries, the app's process after a sync of 100k records went from
    /// 326 to 119 MiB (PSS) and its start with them from 3.3 to 1.9 s (`scripts/bench app`).
    pub fn build(cache: &Cache) -> Result<SearchIndex, CacheError> {
        let orgs = cache.list(RecordType::Org)?;
        let org_names: HashMap<uuid::Uuid, Arc<str>> = orgs
            .iter()
            .map(|r| (r.record_id, Arc::from(text(&r.data, "name"))))
            .collect();
        let mut entries: Vec<Entry> = orgs.iter().map(|r| entry(r, &org_names)).collect();
        drop(orgs);
        for t in TYPES.into_iter().filter(|t| *t != RecordType::Org) {
            cache.for_each(t, |r| entries.push(entry(&r, &org_names)))?;
        }
        Ok(SearchIndex { entries })
    }

    /// From records already in memory (the plaintext baseline of the benchmark).
    pub fn from_records(records: impl IntoIterator<Item = CachedRecord>) -> SearchIndex {
        let records: Vec<CachedRecord> = records.into_iter().collect();
        let org_names: HashMap<uuid::Uuid, Arc<str>> = records
            .iter()
            .filter(|r| r.record_type == RecordType::Org)
            .map(|r| (r.record_id, Arc::from(text(&r.data, "name"))))
            .collect();
        SearchIndex {
            entries: records.iter().map(|r| entry(r, &org_names)).collect(),
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Records whose text contains every word of `query` (case-insensitive),
    /// or whose amount equals a numeric query; at most `limit`.
    pub fn search(&self, query: &str, limit: usize) -> Vec<Hit> {
        let q = query.trim().to_lowercase();
        if q.is_empty() {
            return vec![];
        }
        let words: Vec<&str> = q.split_whitespace().collect();
        let amount = parse_amount(&q);
        self.entries
            .iter()
            .filter(|e| {
                amount.is_some_and(|a| e.amount_minor == Some(a)) || words.iter().all(|w| e.haystack().contains(w))
            })
            .take(limit)
            .map(Entry::hit)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_parse_in_the_forms_people_type() {
        assert_eq!(parse_amount("1234.5"), Some(123_450));
        assert_eq!(parse_amount("1,234.50"), Some(123_450));
        assert_eq!(parse_amount("12"), Some(1_200));
        assert_eq!(parse_amount("12.345"), None);
        assert_eq!(parse_amount("acme"), None);
        assert_eq!(parse_amount("99999999999999999999"), None);
    }
}
