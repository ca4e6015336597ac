//! Idempotency keys (IETF `Idempotency-Key` draft, Stripe semantics), as pure rules.
//!
//! - a key is 1-255 printable ASCII characters (an RFC 8941 sf-string's quotes are accepted);
//!   a bare key holds no comma: API Gateway's HTTP API joins the values of a header sent twice
//!   with a comma, so `k1,k2` is two keys, refused (a quoted key may hold one);
//! - a request's fingerprint is an HMAC with a deployment secret over the route scope and a
//!   canonical form of the JSON body, so key order and whitespace do not change it and a body
//!   holding an SSN cannot be brute-forced from a stored hash;
//! - what a stored record means for a new request with the same key is [`decide`].

use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

/// How long a key is remembered.
pub const KEY_LIFETIME_HOURS: i64 = 24;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let key = match raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
            Some(inner) if inner.contains('"') => return Err("must be sent once"),
            Some(inner) => inner,
            None if raw.contains(',') => return Err("must be sent once"),
            None => raw,
        };
        if key.is_empty() || key.len() > 255 {
            return Err("must be 1 to 255 characters");
        }
        if !key.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
            return Err("must be printable ASCII");
        }
        Ok(Self(key.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A keyed hash of what a request asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fingerprint(pub String);

/// JSON with object keys sorted at every depth and no insignificant whitespace.
pub fn canonical_json(value: &Value) -> String {
    fn write(v: &Value, out: &mut String) {
        match v {
            Value::Object(map) => {
                let mut entries: Vec<_> = map.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                out.push('{');
                for (i, (k, v)) in entries.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&Value::String(k.clone()).to_string());
                    out.push(':');
                    write(v, out);
                }
                out.push('}');
            }
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write(item, out);
                }
                out.push(']');
            }
            scalar => out.push_str(&scalar.to_string()),
        }
    }
    let mut out = String::new();
    write(value, &mut out);
    out
}

/// HMAC-SHA256(secret, scope + "\n" + canonical body), hex.
pub fn fingerprint(secret: &[u8], scope: &str, body: &Value) -> Fingerprint {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(scope.as_bytes());
    mac.update(b"\n");
    mac.update(canonical_json(body).as_bytes());
    let digest = mac.finalize().into_bytes();
    Fingerprint(digest.iter().map(|b| format!("{b:02x}")).collect())
}

/// A stable name for one keyed request (client key and body fingerprint), for the idempotency
/// keys we send providers: the same on every retry, never the client's key itself.
pub fn request_token(key: &str, fingerprint: &Fingerprint) -> String {
    use sha2::Digest;
    let mut h = Sha256::new();
    h.update(key.as_bytes());
    h.update(b"\n");
    h.update(fingerprint.0.as_bytes());
    hex::encode(&h.finalize()[..16])
}

/// A response as it was first sent, kept for replays.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub body: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordState {
    /// The first request is running; its lock lapses at `locked_until` (its Lambda deadline).
    InProgress {
        locked_until: DateTime<Utc>,
    },
    Completed(StoredResponse),
}

/// What the store holds for a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyRecord {
    pub fingerprint: Fingerprint,
    pub state: RecordState,
    pub expires_at: DateTime<Utc>,
}

/// What a request does given the record its key already has.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// No live record: run the request.
    Proceed,
    /// The first request finished: send its response again.
    Replay(StoredResponse),
    /// The first request is still running: retry after this many seconds.
    InUse { retry_after: u64 },
    /// The key was used for a different request.
    Reused,
}

pub fn expires_at(now: DateTime<Utc>) -> DateTime<Utc> {
    now + Duration::hours(KEY_LIFETIME_HOURS)
}

pub fn decide(
    existing: Option<&IdempotencyRecord>,
    fingerprint: &Fingerprint,
    now: DateTime<Utc>,
) -> Decision {
    let Some(record) = existing.filter(|r| r.expires_at > now) else {
        return Decision::Proceed;
    };
    if &record.fingerprint != fingerprint {
        return Decision::Reused;
    }
    match &record.state {
        RecordState::Completed(response) => Decision::Replay(response.clone()),
        RecordState::InProgress { locked_until } if *locked_until > now => {
            let seconds = ((*locked_until - now).num_milliseconds() + 999) / 1000;
            Decision::InUse {
                retry_after: seconds.max(1) as u64,
            }
        }
        RecordState::InProgress { .. } => Decision::Proceed,
    }
}

#[cfg(test)]
mod token_tests {
    use super::*;

    #[test]
    fn a_request_token_is_stable_per_key_and_body_and_hides_the_key() {
        let body = serde_json::json!({"a": 1});
        let fp = fingerprint(b"secret", "POST /v1/verifications", &body);
        let t = request_token("client-key", &fp);
        assert_eq!(t, request_token("client-key", &fp));
        assert_eq!(t.len(), 32);
        assert!(!t.contains("client-key"));
        assert_ne!(t, request_token("other-key", &fp));
        let other = fingerprint(
            b"secret",
            "POST /v1/verifications",
            &serde_json::json!({"a": 2}),
        );
        assert_ne!(t, request_token("client-key", &other));
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn t(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_790_000_000 + secs, 0).unwrap()
    }

    #[test]
    fn keys_are_1_to_255_printable_ascii_and_sf_string_quotes_are_dropped() {
        assert_eq!(
            IdempotencyKey::parse("abc-123").unwrap().as_str(),
            "abc-123"
        );
        assert_eq!(
            IdempotencyKey::parse("\"8e03978e-40d5\"").unwrap().as_str(),
            "8e03978e-40d5"
        );
        assert!(IdempotencyKey::parse(&"k".repeat(255)).is_ok());
        for bad in [
            String::new(),
            "k".repeat(256),
            "tab\there".into(),
            "ünï".into(),
            "\"\"".into(),
            "nl\n".into(),
        ] {
            assert!(IdempotencyKey::parse(&bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_key_sent_twice_and_joined_by_the_gateway_is_refused_but_a_quoted_comma_is_a_key() {
        assert_eq!(IdempotencyKey::parse("k1,k2"), Err("must be sent once"));
        assert_eq!(IdempotencyKey::parse("k1, k2"), Err("must be sent once"));
        assert_eq!(
            IdempotencyKey::parse("\"k1\",\"k2\""),
            Err("must be sent once")
        );
        assert_eq!(IdempotencyKey::parse("\"a,b\"").unwrap().as_str(), "a,b");
    }

    #[test]
    fn key_order_and_whitespace_do_not_change_the_fingerprint() {
        let a: Value = serde_json::from_str(r#"{"b": 1, "a": {"y": [1, 2], "x": "s"}}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"a":{"x":"s","y":[1,2]},"b":1}"#).unwrap();
        assert_eq!(canonical_json(&a), r#"{"a":{"x":"s","y":[1,2]},"b":1}"#);
        assert_eq!(fingerprint(b"k", "POST", &a), fingerprint(b"k", "POST", &b));
    }

    #[test]
    fn the_fingerprint_depends_on_the_body_the_scope_and_the_secret() {
        let body = json!({"customer_id": "c"});
        let base = fingerprint(b"k", "POST", &body);
        assert_ne!(
            base,
            fingerprint(b"k", "POST", &json!({"customer_id": "d"}))
        );
        assert_ne!(base, fingerprint(b"k", "PATCH ver_1", &body));
        assert_ne!(base, fingerprint(b"other", "POST", &body));
        assert_eq!(base.0.len(), 64);
    }

    #[test]
    fn a_stored_record_decides_replay_in_use_reuse_or_a_new_run() {
        let fp = Fingerprint("f".into());
        let done = IdempotencyRecord {
            fingerprint: fp.clone(),
            state: RecordState::Completed(StoredResponse {
                status: 201,
                body: "{}".into(),
            }),
            expires_at: t(100),
        };
        assert_eq!(decide(None, &fp, t(0)), Decision::Proceed);
        assert_eq!(
            decide(Some(&done), &fp, t(0)),
            Decision::Replay(StoredResponse {
                status: 201,
                body: "{}".into()
            })
        );
        assert_eq!(
            decide(Some(&done), &Fingerprint("g".into()), t(0)),
            Decision::Reused
        );
        assert_eq!(
            decide(Some(&done), &fp, t(100)),
            Decision::Proceed,
            "expired keys run as new"
        );
        let running = IdempotencyRecord {
            state: RecordState::InProgress {
                locked_until: t(10),
            },
            ..done
        };
        assert_eq!(
            decide(Some(&running), &fp, t(0)),
            Decision::InUse { retry_after: 10 }
        );
        assert_eq!(
            decide(Some(&running), &fp, t(10)),
            Decision::Proceed,
            "a crashed run's lock lapses at its deadline"
        );
    }
}
