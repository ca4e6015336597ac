use http::HeaderMap;
use secrecy::SecretString;

use super::*;
use crate::provider::veriff::fake::config;
use crate::provider::veriff::signature::sign;

const SECRET: &str = "local-veriff-shared-secret";
const KEY: &str = "local-veriff-api-key";
/// A decision webhook as Veriff sends it, person, document and technical data included.
const DECISION: &str = r#"{"status":"success","verification":{"id":"f04bdb47-d3be-4b28-b028-a652feb060b5","attemptId":"e30122d1-740b-4764-853f-470374a7abf4","vendorData":"ver_01JD6Z3Q9P8X7W6V5T4S3R2Q1P","endUserId":null,"status":"approved","code":9001,"reason":null,"reasonCode":null,"decisionTime":"2026-01-02T03:04:05.678Z","acceptanceTime":"2026-01-02T03:00:00.000Z","person":{"firstName":"Ada","lastName":"Byron","idNumber":"38001010000","dateOfBirth":"1990-12-10"},"document":{"number":"X1234567","type":"PASSPORT","country":"LT"}},"technicalData":{"ip":"203.0.113.9"}}"#;
/// `hmac.new(b"local-veriff-shared-secret", DECISION, hashlib.sha256).hexdigest()` in Python.
const DECISION_VECTOR: &str = "49f3db7b796899a8e0d2940445ead6d39294c783a795649f2d7bdae840635952";
const EVENT: &str = r#"{"id":"f04bdb47-d3be-4b28-b028-a652feb060b5","attemptId":"e30122d1-740b-4764-853f-470374a7abf4","feature":"selfid","code":7002,"action":"submitted","vendorData":"ver_01JD6Z3Q9P8X7W6V5T4S3R2Q1P","endUserId":null}"#;

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.append(
            http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    h
}

fn check(c: &VeriffConfig, h: &HeaderMap, body: &str, ip: Option<&str>) -> Result<(), AuthError> {
    authenticate(
        c,
        &RawWebhook {
            headers: h,
            body: body.as_bytes(),
            source_ip: ip.map(|i| i.parse().unwrap()),
        },
    )
}

fn cfg() -> VeriffConfig {
    config("http://127.0.0.1:1/veriff")
}

#[test]
fn the_signature_vector_of_a_decision_body_was_computed_outside_rust() {
    assert_eq!(
        sign(SECRET.as_bytes(), DECISION.as_bytes()),
        DECISION_VECTOR
    );
}

#[test]
fn both_header_spellings_in_any_case_are_accepted() {
    for (key, sig) in [
        ("X-AUTH-CLIENT", "X-HMAC-SIGNATURE"),
        ("x-auth-client", "x-hmac-signature"),
        ("vrf-auth-client", "vrf-hmac-signature"),
        ("VRF-AUTH-CLIENT", "X-HMAC-SIGNATURE"),
        ("x-auth-client", "vrf-hmac-signature"),
    ] {
        let h = headers(&[
            (key, KEY),
            (sig, DECISION_VECTOR),
            ("vrf-integration-id", "i-1"),
        ]);
        assert_eq!(check(&cfg(), &h, DECISION, None), Ok(()), "{key} {sig}");
    }
}

#[test]
fn a_tampered_body_a_wrong_key_or_a_wrong_secret_is_refused() {
    let good = headers(&[
        ("x-auth-client", KEY),
        ("x-hmac-signature", DECISION_VECTOR),
    ]);
    let tampered = DECISION.replace("approved", "declined");
    assert_eq!(
        check(&cfg(), &good, &tampered, None),
        Err(AuthError::Invalid)
    );
    let spaced = format!("{DECISION} ");
    assert_eq!(check(&cfg(), &good, &spaced, None), Err(AuthError::Invalid));
    for key in [
        "other-key",
        "local-veriff-api-ke",
        "local-veriff-api-key2",
        "",
    ] {
        let h = headers(&[
            ("x-auth-client", key),
            ("x-hmac-signature", DECISION_VECTOR),
        ]);
        let expected = if key.is_empty() {
            AuthError::Missing
        } else {
            AuthError::Invalid
        };
        assert_eq!(check(&cfg(), &h, DECISION, None), Err(expected), "{key}");
    }
    let wrong = sign(b"wrong-secret", DECISION.as_bytes());
    let h = headers(&[("x-auth-client", KEY), ("x-hmac-signature", &wrong)]);
    assert_eq!(check(&cfg(), &h, DECISION, None), Err(AuthError::Invalid));
    let mut rotated = cfg();
    rotated
        .shared_secrets
        .push(SecretString::from("wrong-secret"));
    assert_eq!(
        check(&rotated, &h, DECISION, None),
        Ok(()),
        "any active secret verifies"
    );
}

#[test]
fn a_second_key_value_must_be_ours_too() {
    let h = headers(&[
        ("x-auth-client", KEY),
        ("vrf-auth-client", "someone-else"),
        ("x-hmac-signature", DECISION_VECTOR),
    ]);
    assert_eq!(check(&cfg(), &h, DECISION, None), Err(AuthError::Invalid));
}

#[test]
fn missing_headers_are_missing_credentials() {
    let cases = [
        headers(&[]),
        headers(&[("x-auth-client", KEY)]),
        headers(&[("x-hmac-signature", DECISION_VECTOR)]),
        headers(&[
            ("authorization", "Bearer x"),
            ("x-signature", DECISION_VECTOR),
        ]),
    ];
    for h in &cases {
        assert_eq!(check(&cfg(), h, DECISION, None), Err(AuthError::Missing));
    }
}

#[test]
fn up_to_five_signature_values_are_tried_and_more_are_refused_outright() {
    let junk = "0".repeat(64);
    let mut five = vec![("x-auth-client", KEY)];
    five.extend(std::iter::repeat_n(("x-hmac-signature", junk.as_str()), 4));
    five.push(("vrf-hmac-signature", DECISION_VECTOR));
    assert_eq!(check(&cfg(), &headers(&five), DECISION, None), Ok(()));
    let mut six = five.clone();
    six.insert(1, ("x-hmac-signature", junk.as_str()));
    assert_eq!(
        check(&cfg(), &headers(&six), DECISION, None),
        Err(AuthError::Invalid)
    );
    let joined = format!("{junk}, {junk},{junk},{junk},{junk}, {DECISION_VECTOR}");
    let h = headers(&[("x-auth-client", KEY), ("x-hmac-signature", &joined)]);
    assert_eq!(check(&cfg(), &h, DECISION, None), Err(AuthError::Invalid));
    let joined = format!("{junk}, {DECISION_VECTOR}");
    let h = headers(&[("x-auth-client", KEY), ("x-hmac-signature", &joined)]);
    assert_eq!(
        check(&cfg(), &h, DECISION, None),
        Ok(()),
        "a proxy's comma-joined values"
    );
}

#[test]
fn an_allowlist_refuses_other_sources_even_with_good_credentials() {
    let mut c = cfg();
    c.allowed_ips = vec!["10.0.0.7".parse().unwrap()];
    let h = headers(&[
        ("x-auth-client", KEY),
        ("x-hmac-signature", DECISION_VECTOR),
    ]);
    assert_eq!(check(&c, &h, DECISION, Some("10.0.0.7")), Ok(()));
    assert_eq!(
        check(&c, &h, DECISION, Some("10.0.0.8")),
        Err(AuthError::Invalid)
    );
    assert_eq!(check(&c, &h, DECISION, None), Err(AuthError::Invalid));
    assert_eq!(
        check(&cfg(), &h, DECISION, Some("10.0.0.8")),
        Ok(()),
        "no list, any source"
    );
}

#[test]
fn a_decision_is_identified_by_session_attempt_status_and_time_and_audited_without_the_person() {
    let Ok(Hint::Decision {
        session_id,
        event_id,
        audit,
    }) = read(DECISION.as_bytes())
    else {
        panic!("a decision");
    };
    assert_eq!(session_id, "f04bdb47-d3be-4b28-b028-a652feb060b5");
    assert_eq!(
        event_id,
        "f04bdb47-d3be-4b28-b028-a652feb060b5|e30122d1-740b-4764-853f-470374a7abf4|approved|2026-01-02T03:04:05.678Z"
    );
    let kept = audit.to_string();
    for personal in [
        "Ada",
        "Byron",
        "38001010000",
        "1990-12-10",
        "X1234567",
        "PASSPORT",
        "203.0.113.9",
        "person",
        "document",
        "technicalData",
    ] {
        assert!(!kept.contains(personal), "{personal} in {kept}");
    }
    assert_eq!(audit["status"], "success");
    assert_eq!(audit["verification"]["code"], 9001);
    assert_eq!(
        audit["verification"]["vendorData"],
        "ver_01JD6Z3Q9P8X7W6V5T4S3R2Q1P"
    );
    assert_eq!(audit["verification"]["reasonCode"], Value::Null);
}

#[test]
fn a_decline_keeps_its_reason_code_but_not_its_text() {
    let body = json!({"status": "success", "verification": {"id": "s-1", "attemptId": "a-1", "status": "declined",
        "code": 9102, "reason": "Suspected document tampering", "reasonCode": 102,
        "decisionTime": "2026-01-02T03:04:05Z", "person": {"firstName": "Ada"}}});
    let Ok(Hint::Decision {
        event_id, audit, ..
    }) = read(body.to_string().as_bytes())
    else {
        panic!("a decision");
    };
    assert_eq!(event_id, "s-1|a-1|declined|2026-01-02T03:04:05Z");
    assert_eq!(audit["verification"]["reasonCode"], 102);
    assert!(!audit.to_string().contains("tampering"));
}

#[test]
fn an_event_is_identified_by_session_attempt_and_action() {
    let Ok(Hint::Event {
        progress,
        event_id,
        audit,
    }) = read(EVENT.as_bytes())
    else {
        panic!("an event");
    };
    assert_eq!(
        event_id,
        "f04bdb47-d3be-4b28-b028-a652feb060b5|e30122d1-740b-4764-853f-470374a7abf4|submitted"
    );
    assert_eq!(
        (progress.action.as_str(), progress.code),
        ("submitted", Some(7002))
    );
    assert_eq!(
        progress.vendor_data.as_deref(),
        Some("ver_01JD6Z3Q9P8X7W6V5T4S3R2Q1P")
    );
    assert_eq!(audit, serde_json::from_str::<Value>(EVENT).unwrap());
    let started = EVENT
        .replace("submitted", "started")
        .replace("7002", "7001");
    let Ok(Hint::Event { event_id, .. }) = read(started.as_bytes()) else {
        panic!("an event");
    };
    assert!(event_id.ends_with("|started"));
}

#[test]
fn other_actions_and_bodies_are_ignored_and_broken_ones_malformed() {
    for body in [
        json!({"id": "s", "action": "feedback", "code": 7100}),
        json!({"status": "success"}),
        json!({}),
    ] {
        assert!(
            matches!(read(body.to_string().as_bytes()), Ok(Hint::Ignored { .. })),
            "{body}"
        );
    }
    for body in [
        "not json".to_owned(),
        "[1, 2]".to_owned(),
        json!({"action": "started"}).to_string(),
        json!({"status": "success", "verification": null}).to_string(),
        json!({"status": "success", "verification": {"status": "approved"}}).to_string(),
    ] {
        assert!(
            matches!(read(body.as_bytes()), Err(InterpretError::Malformed(_))),
            "{body}"
        );
    }
}
