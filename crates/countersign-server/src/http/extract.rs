//! Extractors whose rejections are contract errors, and the one place every
//! string a caller sends passes through (API.md, Conventions; issue 19,
//! point 3):
//! - a body over the limit is `413 payload_too_large`;
//! - a malformed body or query is `422 invalid_request` naming the field and
//!   what was expected in the API's words (never a Rust type);
//! - a NUL character anywhere (PostgreSQL's `text` cannot hold it) is `422`
//!   naming the field, before any handler or the audit log sees the input;
//! - a JSON array where an object is expected is refused (serde would accept
//!   a struct's "sequence form");
//! - a malformed id in a path is `404 not_found` (it cannot name anything).

use crate::http::problem::ApiError;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use countersign_api::ErrorCode;
use serde::de::{self, DeserializeOwned, IntoDeserializer, Unexpected};
use serde_json::Value;

/// The longest piece of caller text quoted back in an error or recorded in
/// the audit log's `details`; longer text is cut, with its original length.
pub const QUOTE_MAX_CHARS: usize = 200;

/// `s` as it may be quoted: at most [`QUOTE_MAX_CHARS`] characters, and
/// when cut, says how long it was.
pub fn capped(s: &str) -> String {
    cap_to(s, QUOTE_MAX_CHARS)
}

/// `s` cut to `max` characters, saying how long it was when cut.
pub fn cap_to(s: &str, max: usize) -> String {
    let len = s.chars().count();
    if len <= max {
        return s.to_owned();
    }
    let head: String = s.chars().take(max).collect();
    format!("{head}… ({len} characters)")
}

/// Every string inside `v` (keys too) capped as [`capped`] does.
pub fn capped_json(v: Value) -> Value {
    match v {
        Value::String(s) => Value::String(capped(&s)),
        Value::Array(items) => Value::Array(items.into_iter().map(capped_json).collect()),
        Value::Object(map) => Value::Object(map.into_iter().map(|(k, v)| (capped(&k), capped_json(v))).collect()),
        other => other,
    }
}

pub struct Json<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json_type = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(is_json);
        let bytes = Bytes::from_request(req, state).await.map_err(|r| {
            if r.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(ErrorCode::PayloadTooLarge, "The request body is larger than 64 KB.")
            } else {
                ApiError::invalid("The request body could not be read.")
            }
        })?;
        if !json_type {
            return Err(ApiError::invalid(
                "Send the body as JSON (Content-Type: application/json).",
            ));
        }
        let value: Value = serde_json::from_slice(&bytes)
            .map_err(|e| ApiError::invalid(format!("The body is not valid JSON: {}.", api_words(&e.to_string()))))?;
        if !value.is_object() {
            return Err(ApiError::invalid("The body must be a JSON object."));
        }
        if let Some(path) = nul_in(&value, &mut Vec::new()) {
            return Err(nul_error(&path));
        }
        from_value(value).map(Json)
    }
}

/// Deserializes a checked body, naming the field a problem is in.
pub fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(Strict(value)).map_err(|e| {
        let path = e.path().to_string();
        let what = api_words(&e.inner().to_string());
        ApiError::invalid(if path == "." {
            format!("The body is invalid: {what}.")
        } else {
            format!("The field `{}` is invalid: {what}.", capped(&path))
        })
    })
}

fn nul_error(field: &str) -> ApiError {
    ApiError::invalid(format!(
        "The field `{}` contains a NUL character, which is not allowed.",
        capped(field)
    ))
}

/// The path of the first string (or key) holding a NUL character.
fn nul_in(v: &Value, path: &mut Vec<String>) -> Option<String> {
    match v {
        Value::String(s) if s.contains('\0') => Some(if path.is_empty() { ".".into() } else { path.join(".") }),
        Value::Array(items) => items.iter().enumerate().find_map(|(i, item)| {
            path.push(i.to_string());
            let found = nul_in(item, path);
            path.pop();
            found
        }),
        Value::Object(map) => map.iter().find_map(|(k, item)| {
            path.push(k.replace('\0', "\\0"));
            let found = if k.contains('\0') {
                Some(path.join("."))
            } else {
                nul_in(item, path)
            };
            path.pop();
            found
        }),
        _ => None,
    }
}

/// serde's messages in the API's words: no Rust type names.
fn api_words(msg: &str) -> String {
    let mut out = msg.to_owned();
    for (rust, words) in [
        ("u8", "a whole number"),
        ("u16", "a whole number"),
        ("u32", "a whole number"),
        ("u64", "a whole number"),
        ("i16", "a whole number"),
        ("i32", "a whole number"),
        ("i64", "a whole number"),
        ("f64", "a number"),
        ("usize", "a whole number"),
        ("a borrowed string", "a string"),
    ] {
        out = out.replace(&format!("expected {rust}"), &format!("expected {words}"));
    }
    // "expected struct CreateApproval", "expected enum Kind", "expected struct X with 6 elements"
    for kind in ["struct ", "enum ", "tuple struct "] {
        while let Some(at) = out.find(&format!("expected {kind}")) {
            let start = at + "expected ".len();
            let name_end = out[start + kind.len()..]
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .map_or(out.len(), |i| start + kind.len() + i);
            let rest_end = if out[name_end..].starts_with(" with ") {
                out[name_end..]
                    .find(" elements")
                    .map_or(name_end, |i| name_end + i + " elements".len())
            } else {
                name_end
            };
            out.replace_range(
                start..rest_end,
                if kind == "enum " {
                    "one of the documented values"
                } else {
                    "an object"
                },
            );
        }
    }
    out
}

/// A `serde_json::Value` deserializer that refuses an array where a struct
/// is expected, all the way down (serde_json's own would take it).
struct Strict(Value);

struct StrictSeq(std::vec::IntoIter<Value>);
struct StrictMap {
    entries: serde_json::map::IntoIter,
    value: Option<Value>,
}

impl<'de> de::SeqAccess<'de> for StrictSeq {
    type Error = serde_json::Error;
    fn next_element_seed<T: de::DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, Self::Error> {
        self.0.next().map(|v| seed.deserialize(Strict(v))).transpose()
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

impl<'de> de::MapAccess<'de> for StrictMap {
    type Error = serde_json::Error;
    fn next_key_seed<K: de::DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, Self::Error> {
        match self.entries.next() {
            Some((k, v)) => {
                self.value = Some(v);
                seed.deserialize(k.into_deserializer()).map(Some)
            }
            None => Ok(None),
        }
    }
    fn next_value_seed<V: de::DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Self::Error> {
        let v = self
            .value
            .take()
            .ok_or_else(|| de::Error::custom("a value is missing"))?;
        seed.deserialize(Strict(v))
    }
}

impl<'de> de::Deserializer<'de> for Strict {
    type Error = serde_json::Error;

    fn deserialize_any<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.0 {
            Value::Array(items) => visitor.visit_seq(StrictSeq(items.into_iter())),
            Value::Object(map) => visitor.visit_map(StrictMap {
                entries: map.into_iter(),
                value: None,
            }),
            other => other.deserialize_any(visitor),
        }
    }

    fn deserialize_struct<V: de::Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        match self.0 {
            Value::Object(map) => visitor.visit_map(StrictMap {
                entries: map.into_iter(),
                value: None,
            }),
            Value::Array(_) => Err(de::Error::invalid_type(Unexpected::Seq, &"an object")),
            other => Err(de::Error::invalid_type(unexpected(&other), &"an object")),
        }
    }

    fn deserialize_option<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            other => visitor.visit_some(Strict(other)),
        }
    }

    fn deserialize_newtype_struct<V: de::Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: de::Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.deserialize_enum(name, variants, visitor)
    }

    // Scalars: serde_json's own rules (a number where a string is expected is refused, …).
    fn deserialize_bool<V: de::Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
        self.0.deserialize_bool(v)
    }
    fn deserialize_i64<V: de::Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
        self.0.deserialize_i64(v)
    }
    fn deserialize_u64<V: de::Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
        self.0.deserialize_u64(v)
    }
    fn deserialize_str<V: de::Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
        self.0.deserialize_str(v)
    }
    fn deserialize_string<V: de::Visitor<'de>>(self, v: V) -> Result<V::Value, Self::Error> {
        self.0.deserialize_string(v)
    }

    serde::forward_to_deserialize_any! {
        i8 i16 i32 i128 u8 u16 u32 u128 f32 f64 char bytes byte_buf unit unit_struct seq tuple tuple_struct map
        identifier ignored_any
    }
}

fn unexpected(v: &Value) -> Unexpected<'_> {
    match v {
        Value::Null => Unexpected::Unit,
        Value::Bool(b) => Unexpected::Bool(*b),
        Value::Number(n) => n.as_f64().map_or(Unexpected::Other("a number"), Unexpected::Float),
        Value::String(s) => Unexpected::Str(s),
        Value::Array(_) => Unexpected::Seq,
        Value::Object(_) => Unexpected::Map,
    }
}

/// `application/json` or `application/<x>+json`, parameters ignored.
fn is_json(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let raw = parts.uri.query().unwrap_or_default();
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(raw).map_err(|_| ApiError::invalid("The query string is malformed."))?;
        if let Some((name, _)) = pairs.iter().find(|(k, v)| k.contains('\0') || v.contains('\0')) {
            return Err(nul_error(&name.replace('\0', "\\0")));
        }
        serde_path_to_error::deserialize(serde_urlencoded::Deserializer::new(form_urlencoded::parse(
            raw.as_bytes(),
        )))
        .map(Query)
        .map_err(|e| {
            let what = api_words(&e.inner().to_string());
            match e.path().to_string().as_str() {
                "." => ApiError::invalid(format!("The query is invalid: {}.", capped(&what))),
                field => ApiError::invalid(format!(
                    "The query parameter `{}` is invalid: {}.",
                    capped(field),
                    capped(&what)
                )),
            }
        })
    }
}

pub struct Path<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Path(v)),
            Err(_) => Err(ApiError::not_found()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Money {
        amount_minor: i64,
        currency: String,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct CreateThing {
        name: String,
        amount: Money,
        note: Option<String>,
        tags: Vec<String>,
    }

    fn parse(v: Value) -> Result<CreateThing, String> {
        from_value::<CreateThing>(v).map_err(|e| e.detail)
    }

    #[test]
    fn a_well_formed_body_parses() {
        let t = parse(
            serde_json::json!({ "name": "a", "amount": { "amount_minor": 5, "currency": "EUR" }, "note": null,
            "tags": ["x"] }),
        )
        .unwrap();
        assert_eq!(t.amount.amount_minor, 5);
    }

    #[test]
    fn an_array_for_an_object_is_refused_at_any_depth_in_the_apis_words() {
        let e = parse(serde_json::json!({ "name": "a", "amount": [5, "EUR"], "note": null, "tags": [] })).unwrap_err();
        assert_eq!(
            e,
            "The field `amount` is invalid: invalid type: sequence, expected an object."
        );
        let e = from_value::<CreateThing>(serde_json::json!(["a", { "amount_minor": 5, "currency": "EUR" }, null, []]))
            .unwrap_err();
        assert!(e.detail.contains("expected an object"), "{}", e.detail);
    }

    #[test]
    fn errors_name_the_field_and_never_a_rust_type() {
        let e = parse(
            serde_json::json!({ "name": "a", "amount": { "amount_minor": "5", "currency": "EUR" },
            "note": null, "tags": [] }),
        )
        .unwrap_err();
        assert_eq!(
            e,
            "The field `amount.amount_minor` is invalid: invalid type: string \"5\", expected a whole number."
        );
        let e = parse(
            serde_json::json!({ "name": "a", "amount": { "amount_minor": 5, "currency": "EUR" }, "tags": [],
            "status": "approved" }),
        )
        .unwrap_err();
        assert!(e.contains("unknown field `status`"), "{e}");
        assert_eq!(
            api_words("invalid length 2, expected struct CreateApproval with 6 elements"),
            "invalid length 2, expected an object"
        );
        assert_eq!(
            api_words("unknown variant `x`, expected enum Kind"),
            "unknown variant `x`, expected one of the documented values"
        );
    }

    #[test]
    fn a_nul_anywhere_is_found_with_its_path() {
        let v = serde_json::json!({ "a": { "b": ["ok", "bad\u{0}"] } });
        assert_eq!(nul_in(&v, &mut vec![]).as_deref(), Some("a.b.1"));
        let v = serde_json::json!({ "k\u{0}": 1 });
        assert_eq!(nul_in(&v, &mut vec![]).as_deref(), Some("k\\0"));
        assert_eq!(nul_in(&serde_json::json!({ "a": "fine" }), &mut vec![]), None);
    }

    #[test]
    fn long_caller_text_is_capped_with_its_length() {
        let long = "x".repeat(100_000);
        let c = capped(&long);
        assert!(c.len() < 300 && c.ends_with("… (100000 characters)"), "{c}");
        assert_eq!(capped("short"), "short");
        let v = capped_json(serde_json::json!({ "field": long }));
        assert!(v["field"].as_str().unwrap().ends_with("(100000 characters)"));
    }
}
