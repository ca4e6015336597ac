//! The API: creating sessions, the key and signature checks, the decision endpoint before and
//! after a decision, faults, delays and counters under Veriff's endpoint names, the default
//! outcome, and the test controls.

use std::time::Duration;

use serde_json::{json, Value};

use super::{create, decision, decision_signed, kinds, session, KEY, SECRET};
use crate::testing::{call, emulator, wait_for_deliveries};
use crate::veriff::{sign, VeriffStatus};
use crate::{Emulator, Outcome};

async fn decide(emu: &Emulator, id: &str, body: &Value) -> crate::testing::Answer {
    let path = format!("/veriff/_emulator/sessions/{id}/decide");
    call(emu, "POST", &path, &[], Some(body.to_string())).await
}

#[tokio::test]
async fn when_a_session_is_created_should_answer_201_with_its_page() {
    let emu = emulator();
    let body = json!({"verification": {"vendorData": "ver_1", "person": {"firstName": "Ada"}}});
    let a = create(&emu, &body).await;
    assert_eq!(a.status, 201, "{}", a.text);
    let v = a.json();
    assert_eq!(v["status"], "success");
    let session = &v["verification"];
    let (id, token) = (
        session["id"].as_str().unwrap(),
        session["sessionToken"].as_str().unwrap(),
    );
    assert_eq!(session["status"], "created");
    assert_eq!(session["vendorData"], "ver_1");
    assert_eq!(session["host"], "http://emulator.test");
    assert_eq!(
        session["url"],
        format!("http://emulator.test/veriff/v/{token}")
    );
    assert_ne!(id, token);
    let kept = emu.veriff_session(id).unwrap();
    assert_eq!(kept.person["firstName"], "Ada");
    assert_eq!(kept.status.as_str(), "created");
    // An empty verification is fine; no signature was ever asked for.
    assert_eq!(create(&emu, &json!({"verification": {}})).await.status, 201);
    assert_eq!(emu.counters()["veriff_session_create"], 2);
    assert!(emu.deliveries().is_empty(), "created is never sent");
}

#[tokio::test]
async fn when_the_api_key_is_missing_or_wrong_should_answer_veriffs_401() {
    let emu = emulator();
    let body = json!({"verification": {"vendorData": "ver_1"}}).to_string();
    for headers in [vec![], vec![("x-auth-client", "not-the-key")]] {
        let a = call(
            &emu,
            "POST",
            "/veriff/v1/sessions",
            &headers,
            Some(body.clone()),
        )
        .await;
        assert_eq!(a.status, 401, "{headers:?}");
        assert_eq!(
            a.json(),
            json!({"status": "fail", "code": "1801",
                   "message": "Mandatory X-AUTH-CLIENT header containing the API key is missing from the request."})
        );
    }
    assert!(emu.veriff_sessions().is_empty());
    assert_eq!(emu.counters()["veriff_session_create"], 2);
}

#[tokio::test]
async fn when_the_body_has_the_wrong_shape_should_answer_400_and_open_nothing() {
    let emu = emulator();
    let long = "x".repeat(1001);
    for (body, code) in [
        (json!({}), "1102"),
        (json!({"verification": "ver_1"}), "1104"),
        (json!({"verification": {"vendorData": 7}}), "1500"),
        (json!({"verification": {"vendorData": long}}), "1501"),
        (json!({"verification": {"callback": false}}), "1104"),
        (
            json!({"verification": {"person": {"dateOfBirth": "10/12/1985"}}}),
            "1104",
        ),
        (
            json!({"verification": {"person": {"firstName": 3}}}),
            "1104",
        ),
    ] {
        let a = create(&emu, &body).await;
        assert_eq!(
            (a.status.as_u16(), a.json()["code"].clone()),
            (400, json!(code)),
            "{body}"
        );
        assert_eq!(a.json()["status"], "fail");
    }
    let headers = [("x-auth-client", KEY)];
    let a = call(
        &emu,
        "POST",
        "/veriff/v1/sessions",
        &headers,
        Some("{".into()),
    )
    .await;
    assert_eq!(a.status, 400);
    assert!(emu.veriff_sessions().is_empty());
}

#[tokio::test]
async fn when_the_decision_is_read_should_answer_null_then_the_decision() {
    let emu = emulator();
    let (id, _) = session(&emu).await;
    assert_eq!(
        decision(&emu, &id).await,
        json!({"status": "success", "verification": null})
    );
    emu.veriff_submit(&id).await.unwrap();
    assert_eq!(decision(&emu, &id).await["verification"], Value::Null);
    let made = emu
        .veriff_decide(&id, super::super::VeriffStatus::Declined, Some(201), None)
        .await
        .unwrap();
    let v = decision(&emu, &id).await["verification"].clone();
    assert_eq!(v["id"], id.as_str());
    assert_eq!(v["attemptId"], made.attempt_id.as_str());
    assert_eq!(v["vendorData"], "ver_1");
    assert_eq!(
        (v["status"].clone(), v["code"].clone()),
        (json!("declined"), json!(9102))
    );
    assert_eq!(
        (v["reasonCode"].clone(), v["reason"].clone()),
        (json!(201), json!("Document not recognised"))
    );
    for key in ["decisionTime", "acceptanceTime"] {
        let t = v[key].as_str().unwrap();
        assert!(
            chrono::DateTime::parse_from_rfc3339(t).is_ok(),
            "{key}: {t}"
        );
    }
    assert_eq!(v["person"]["lastName"], "KING");
    assert_eq!(emu.counters()["veriff_decision_get"], 3);
}

#[tokio::test]
async fn when_the_decision_request_is_not_signed_right_should_answer_401_or_404() {
    let emu = emulator();
    let (id, _) = session(&emu).await;
    let other = decision_signed(&emu, &id, "another-session").await;
    assert_eq!(
        (other.status.as_u16(), other.json()["status"].clone()),
        (401, json!("fail"))
    );
    let path = format!("/veriff/v1/sessions/{id}/decision");
    let unsigned = call(&emu, "GET", &path, &[("x-auth-client", KEY)], None).await;
    assert_eq!(unsigned.status, 401);
    let signature = super::sign(super::SECRET.as_bytes(), id.as_bytes());
    let no_key = [
        ("x-auth-client", "nope"),
        ("x-hmac-signature", signature.as_str()),
    ];
    let a = call(&emu, "GET", &path, &no_key, None).await;
    assert_eq!(
        (a.status.as_u16(), a.json()["code"].clone()),
        (401, json!("1801"))
    );
    let forged_secret = super::sign(b"guessed", id.as_bytes());
    let forged = [
        ("x-auth-client", KEY),
        ("x-hmac-signature", forged_secret.as_str()),
    ];
    assert_eq!(call(&emu, "GET", &path, &forged, None).await.status, 401);
    let unknown = decision_signed(&emu, "no-such-session", "no-such-session").await;
    assert_eq!(unknown.status, 404);
}

#[tokio::test]
async fn when_faults_and_delays_are_injected_should_apply_them_by_veriffs_endpoint_names() {
    let emu = emulator();
    emu.fail_next("veriff_session_create", 503, 1);
    let body = json!({"verification": {"vendorData": "ver_1"}});
    assert_eq!(create(&emu, &body).await.status, 503);
    assert!(
        emu.veriff_sessions().is_empty(),
        "a fault answers before any work"
    );
    let (id, _) = session(&emu).await;
    emu.fail_next("veriff_decision_get", 500, 1);
    assert_eq!(decision_signed(&emu, &id, &id).await.status, 500);
    emu.delay_next("veriff_decision_get", Duration::from_millis(60), 1);
    let started = std::time::Instant::now();
    assert_eq!(decision_signed(&emu, &id, &id).await.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(60));
    let counters = emu.counters();
    assert_eq!(
        (
            counters["veriff_session_create"],
            counters["veriff_decision_get"]
        ),
        (2, 2)
    );
}

#[tokio::test]
async fn when_a_default_outcome_is_set_should_decide_new_sessions_by_themselves() {
    let emu = emulator();
    emu.update(|c| c.default_outcome = Some(Outcome::Reject));
    let (id, _) = session(&emu).await;
    wait_for_deliveries(&emu, 3).await;
    assert_eq!(kinds(&emu), ["started", "submitted", "declined"]);
    let v = decision(&emu, &id).await["verification"].clone();
    assert_eq!(v["reasonCode"], 102);
    emu.update(|c| c.default_outcome = Some(Outcome::Approve));
    let (id, _) = session(&emu).await;
    wait_for_deliveries(&emu, 6).await;
    assert_eq!(
        decision(&emu, &id).await["verification"]["status"],
        "approved"
    );
}

#[tokio::test]
async fn when_the_decide_control_is_used_should_play_the_steps_then_decide() {
    let emu = emulator();
    let (id, token) = session(&emu).await;
    let a = decide(&emu, &id, &json!({"status": "declined", "reasonCode": 105})).await;
    assert_eq!(a.status, 200, "{}", a.text);
    let shown = a.json();
    assert_eq!(
        (shown["status"].clone(), shown["sessionToken"].clone()),
        (json!("declined"), json!(token))
    );
    assert_eq!(shown["decision"]["reason"], "Suspicious behaviour");
    assert_eq!(kinds(&emu), ["started", "submitted", "declined"]);
    assert!(emu
        .deliveries()
        .iter()
        .all(|d| d.provider == "veriff" && d.resource_id == id));
    let again = decide(&emu, &id, &json!({"status": "approved"})).await;
    assert_eq!(again.status, 409, "a final decision stays");
    let path = format!("/veriff/_emulator/sessions/{id}");
    let shown = call(&emu, "GET", &path, &[], None).await.json();
    assert_eq!(
        shown["url"],
        format!("http://emulator.test/veriff/v/{token}")
    );
    assert_eq!(
        decide(&emu, "nope", &json!({"status": "approved"}))
            .await
            .status,
        404
    );
    let (other, _) = session(&emu).await;
    for body in [
        json!({"status": "finished"}),
        json!({"status": "created"}),
        json!({"status": "declined", "reasonCode": "102"}),
    ] {
        assert_eq!(decide(&emu, &other, &body).await.status, 400, "{body}");
    }
    let a = decide(&emu, &other, &json!({"status": "submitted"})).await;
    assert_eq!(
        (a.status.as_u16(), a.json()["status"].clone()),
        (200, json!("submitted"))
    );
    let own = json!({"status": "declined", "reason": "Custom words"});
    let v = decide(&emu, &other, &own).await.json()["decision"].clone();
    assert_eq!(
        (v["reason"].clone(), v["reasonCode"].clone()),
        (json!("Custom words"), Value::Null)
    );
}

#[tokio::test]
async fn when_the_attempts_are_read_should_list_each_with_the_latest_status_and_check_the_signature(
) {
    let emu = emulator();
    let (id, _) = session(&emu).await;
    let attempts = |emu: Emulator, id: String, signed: String| async move {
        let signature = sign(SECRET.as_bytes(), signed.as_bytes());
        let headers = [
            ("x-auth-client", KEY),
            ("x-hmac-signature", signature.as_str()),
        ];
        let path = format!("/veriff/v1/sessions/{id}/attempts");
        call(&emu, "GET", &path, &headers, None).await
    };
    let a = attempts(emu.clone(), id.clone(), "another-id".into()).await;
    assert_eq!(a.status, 401, "signed over something else");
    emu.veriff_submit(&id).await.unwrap();
    emu.veriff_decide(&id, VeriffStatus::ResubmissionRequested, None, None)
        .await
        .unwrap();
    emu.veriff_start(&id).await.unwrap();
    let a = attempts(emu.clone(), id.clone(), id.clone()).await;
    assert_eq!(a.status, 200, "{}", a.text);
    let statuses: Vec<Value> = a.json()["verifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["status"].clone())
        .collect();
    assert_eq!(
        statuses,
        [json!("resubmission_requested"), json!("started")]
    );
    assert_eq!(emu.counters()["veriff_attempts_get"], 2);
}
