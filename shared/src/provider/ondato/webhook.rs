//! Ondato's webhooks: Basic-auth credentials (and an optional source-address allowlist) checked
//! in constant time over the raw request, then the envelope read for what it points at. The body
//! is not signed, so it decides nothing: the adapter re-fetches what it names.

use base64::Engine;
use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use subtle::ConstantTimeEq;

use super::config::OndatoConfig;
use super::mapping::parse_utc;
use crate::domain::VerificationId;
use crate::provider::{AuthError, InterpretError, Locator, Peek, RawWebhook};

const IDV_EVENTS: &[&str] = &[
    "IdentityVerification.StatusChanged",
    "Idv.StatusChanged",
    "IdentityVerification.Consented",
    "Idv.Consented",
];
const KYC_EVENTS: &[&str] = &[
    "KycIdentification.Created",
    "KycIdentification.Processed",
    "KycIdentification.Approved",
    "KycIdentification.Rejected",
    "KycIdentification.Updated",
];

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope {
    id: String,
    #[serde(default)]
    application_id: Option<String>,
    created_utc: String,
    #[serde(rename = "type")]
    kind: String,
    payload: Value,
}

/// What an authenticated envelope points at, before anything is re-fetched.
pub(super) enum Hint {
    /// Another application's event, or a type we do not act on.
    Ignored { event_type: String },
    Event {
        event_id: String,
        event_type: String,
        idv_id: String,
        kyc_id: Option<String>,
        occurred_at: DateTime<Utc>,
        audit: Value,
    },
}

/// Basic auth against the configured user and every active password, without stopping early.
pub(super) fn authenticate(
    config: &OndatoConfig,
    webhook: &RawWebhook<'_>,
) -> Result<(), AuthError> {
    if !webhook.source_allowed(&config.allowed_ips) {
        return Err(AuthError::Invalid);
    }
    let header = webhook
        .single_header(http::header::AUTHORIZATION.as_str())?
        .ok_or(AuthError::Missing)?;
    let encoded = header
        .strip_prefix("Basic ")
        .or_else(|| header.strip_prefix("basic "))
        .ok_or(AuthError::Invalid)?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| AuthError::Invalid)?;
    let (user, pass) = match decoded.iter().position(|b| *b == b':') {
        Some(i) => (&decoded[..i], &decoded[i + 1..]),
        None => return Err(AuthError::Invalid),
    };
    let user_ok = user.ct_eq(config.webhook_username.as_bytes());
    let pass_ok = config
        .webhook_passwords
        .iter()
        .fold(subtle::Choice::from(0), |acc, p| {
            acc | pass.ct_eq(p.expose_secret().as_bytes())
        });
    if bool::from(user_ok & pass_ok) {
        Ok(())
    } else {
        Err(AuthError::Invalid)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Identity {
    id: String,
    #[serde(default)]
    application_id: Option<String>,
    #[serde(default)]
    payload: Option<PayloadRefs>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PayloadRefs {
    #[serde(default)]
    external_reference_id: Option<String>,
    #[serde(default)]
    identity_verification_id: Option<String>,
    #[serde(default)]
    id: Option<String>,
}

/// The envelope's id and the verification it names (our id where the payload echoes it, else
/// the IDV), before anything is fetched; `None` for another application's or a broken envelope.
pub(super) fn peek(config: &OndatoConfig, body: &[u8]) -> Option<Peek> {
    let e: Identity = serde_json::from_slice(body).ok()?;
    if let (Some(expected), Some(got)) = (&config.application_id, &e.application_id) {
        if expected != got {
            return None;
        }
    }
    let p = e.payload?;
    let locator = match p
        .external_reference_id
        .as_deref()
        .map(VerificationId::parse)
    {
        Some(Ok(ours)) => Locator::Ours(ours),
        // A KYC payload links its IDV; an IDV payload is the IDV.
        _ => Locator::ProviderRef(p.identity_verification_id.or(p.id)?),
    };
    Some(Peek {
        event_id: e.id,
        locator,
    })
}

/// Read the envelope of an authenticated webhook.
pub(super) fn read(config: &OndatoConfig, body: &[u8]) -> Result<Hint, InterpretError> {
    let envelope: Envelope = serde_json::from_slice(body)
        .map_err(|_| InterpretError::Malformed("not an Ondato webhook envelope".into()))?;
    if let (Some(expected), Some(got)) = (&config.application_id, &envelope.application_id) {
        if expected != got {
            return Ok(Hint::Ignored {
                event_type: format!("{} (other application)", envelope.kind),
            });
        }
    }
    let occurred_at = parse_utc(&envelope.created_utc)
        .ok_or_else(|| InterpretError::Malformed("createdUtc is not a time".into()))?;
    let payload_id = |key: &str| {
        envelope
            .payload
            .get(key)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| InterpretError::Malformed(format!("payload.{key} is missing")))
    };
    let (idv_id, kyc_id) = if IDV_EVENTS.contains(&envelope.kind.as_str()) {
        (payload_id("id")?, None)
    } else if KYC_EVENTS.contains(&envelope.kind.as_str()) {
        (
            payload_id("identityVerificationId")?,
            Some(payload_id("id")?),
        )
    } else {
        return Ok(Hint::Ignored {
            event_type: envelope.kind,
        });
    };
    let audit = audit(&envelope);
    Ok(Hint::Event {
        event_id: envelope.id,
        event_type: envelope.kind,
        idv_id,
        kyc_id,
        occurred_at,
        audit,
    })
}

/// The envelope with only the payload's identifiers and status words: Ondato's payload carries
/// document data (names, numbers, dates of birth) that is never kept.
fn audit(envelope: &Envelope) -> Value {
    let mut payload = Map::new();
    for key in [
        "id",
        "status",
        "statusReason",
        "identityVerificationId",
        "externalReferenceId",
    ] {
        if let Some(v) = envelope.payload.get(key) {
            payload.insert(key.to_owned(), v.clone());
        }
    }
    json!({
        "id": envelope.id,
        "applicationId": envelope.application_id,
        "createdUtc": envelope.created_utc,
        "type": envelope.kind,
        "payload": payload,
    })
}

#[cfg(test)]
mod tests {
    use http::HeaderMap;
    use secrecy::SecretString;

    use super::*;

    fn config() -> OndatoConfig {
        let vars = std::collections::HashMap::from([
            ("ONDATO_CLIENT_ID", "c"),
            ("ONDATO_CLIENT_SECRET", "s"),
            ("ONDATO_SETUP_ID", "setup"),
            ("ONDATO_WEBHOOK_USERNAME", "ondato"),
            (
                "ONDATO_WEBHOOK_PASSWORDS",
                "old-webhook-password,new-webhook-password",
            ),
            ("ONDATO_APPLICATION_ID", "app-1"),
        ]);
        let lookup = |k: &str| vars.get(k).map(|v| v.to_string());
        OndatoConfig::from_env(&crate::config::env::Env::new(&lookup)).unwrap()
    }

    fn basic(user: &str, pass: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        let v = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
        h.insert("authorization", format!("Basic {v}").parse().unwrap());
        h
    }

    fn hook<'a>(headers: &'a HeaderMap, ip: Option<&str>) -> RawWebhook<'a> {
        RawWebhook {
            headers,
            body: b"{}",
            source_ip: ip.map(|i| i.parse().unwrap()),
        }
    }

    #[test]
    fn either_password_of_a_rotation_is_accepted_and_anything_else_refused() {
        let c = config();
        for pass in ["old-webhook-password", "new-webhook-password"] {
            assert_eq!(
                authenticate(&c, &hook(&basic("ondato", pass), None)),
                Ok(())
            );
        }
        let refused = [
            basic("ondato", "nope"),
            basic("other", "new-webhook-password"),
            basic("ondato", ""),
        ];
        for h in &refused {
            assert_eq!(authenticate(&c, &hook(h, None)), Err(AuthError::Invalid));
        }
        assert_eq!(
            authenticate(&c, &hook(&HeaderMap::new(), None)),
            Err(AuthError::Missing)
        );
    }

    #[test]
    fn good_credentials_sent_twice_are_refused_as_two_headers_or_joined() {
        let c = config();
        let good = basic("ondato", "new");
        let value = good.get("authorization").unwrap().clone();
        let mut twice = good.clone();
        twice.append("authorization", value.clone());
        assert_eq!(
            authenticate(&c, &hook(&twice, None)),
            Err(AuthError::Invalid)
        );
        let mut joined = HeaderMap::new();
        let both = format!("{}, {}", value.to_str().unwrap(), value.to_str().unwrap());
        joined.insert("authorization", both.parse().unwrap());
        assert_eq!(
            authenticate(&c, &hook(&joined, None)),
            Err(AuthError::Invalid)
        );
    }

    #[test]
    fn an_allowlist_refuses_other_source_addresses_even_with_good_credentials() {
        let mut c = config();
        c.allowed_ips = vec!["10.0.0.7".parse().unwrap()];
        let h = basic("ondato", "new-webhook-password");
        assert_eq!(authenticate(&c, &hook(&h, Some("10.0.0.7"))), Ok(()));
        assert_eq!(
            authenticate(&c, &hook(&h, Some("10.0.0.8"))),
            Err(AuthError::Invalid)
        );
        assert_eq!(authenticate(&c, &hook(&h, None)), Err(AuthError::Invalid));
        c.webhook_passwords = vec![SecretString::from("x")];
        assert_eq!(
            authenticate(&c, &hook(&h, Some("10.0.0.7"))),
            Err(AuthError::Invalid)
        );
    }

    #[test]
    fn envelopes_point_at_their_idv_and_keep_no_document_data() {
        let body = json!({"id": "evt-1", "applicationId": "app-1", "createdUtc": "2026-01-02T03:04:05.123Z",
            "type": "KycIdentification.Approved",
            "payload": {"id": "kyc-1", "identityVerificationId": "idv-1", "status": "Approved",
                        "document": {"number": "X123"}, "firstName": "Ada"}});
        let Ok(Hint::Event {
            event_id,
            idv_id,
            kyc_id,
            audit,
            ..
        }) = read(&config(), body.to_string().as_bytes())
        else {
            panic!("an event");
        };
        assert_eq!(
            (event_id.as_str(), idv_id.as_str(), kyc_id.as_deref()),
            ("evt-1", "idv-1", Some("kyc-1"))
        );
        let kept = audit.to_string();
        assert!(!kept.contains("X123") && !kept.contains("Ada"), "{kept}");
    }

    #[test]
    fn a_peek_names_the_envelope_and_our_id_else_the_idv() {
        let ours = VerificationId::generate();
        let kyc = json!({"id": "evt-1", "applicationId": "app-1", "createdUtc": "x", "type": "KycIdentification.Approved",
            "payload": {"id": "kyc-1", "identityVerificationId": "idv-1", "externalReferenceId": ours.as_str()}});
        let peeked = peek(&config(), kyc.to_string().as_bytes()).expect("a peek");
        assert_eq!(peeked.event_id, "evt-1");
        assert_eq!(peeked.locator, Locator::Ours(ours));
        let kyc =
            json!({"id": "evt-2", "payload": {"id": "kyc-1", "identityVerificationId": "idv-1"}});
        let idv =
            json!({"id": "evt-3", "payload": {"id": "idv-1", "externalReferenceId": "not ours"}});
        for body in [kyc, idv] {
            assert_eq!(
                peek(&config(), body.to_string().as_bytes()).map(|p| p.locator),
                Some(Locator::ProviderRef("idv-1".into()))
            );
        }
        let other = json!({"id": "e", "applicationId": "app-2", "payload": {"id": "idv-1"}});
        for body in [
            other.to_string().into_bytes(),
            b"[]".to_vec(),
            b"{\"id\": 1}".to_vec(),
        ] {
            assert_eq!(peek(&config(), &body), None);
        }
    }

    #[test]
    fn other_applications_and_unknown_types_are_ignored_and_broken_envelopes_malformed() {
        let other = json!({"id": "e", "applicationId": "app-2", "createdUtc": "2026-01-02T03:04:05Z",
            "type": "Idv.StatusChanged", "payload": {"id": "idv-1"}});
        assert!(matches!(
            read(&config(), other.to_string().as_bytes()),
            Ok(Hint::Ignored { .. })
        ));
        let unknown = json!({"id": "e", "createdUtc": "2026-01-02T03:04:05Z", "type": "Something.New", "payload": {}});
        assert!(matches!(
            read(&config(), unknown.to_string().as_bytes()),
            Ok(Hint::Ignored { .. })
        ));
        let no_idv = json!({"id": "e", "createdUtc": "2026-01-02T03:04:05Z", "type": "Idv.StatusChanged", "payload": {}});
        for body in [no_idv.to_string().into_bytes(), b"not json".to_vec()] {
            assert!(matches!(
                read(&config(), &body),
                Err(InterpretError::Malformed(_))
            ));
        }
    }
}
