//! The hosted page and the flows: a click-through whose webhooks reach a receiver in order with
//! valid signatures, resubmissions up to the limit then the automatic decline, a review then the
//! operator's decision, sessions that end undecided, the page behind a tenant's prefix, and the
//! generic delivery controls (manual delivery, redelivery, duplicates) sending signed webhooks.

use serde_json::{json, Value};

use super::super::{VeriffRefusal, VeriffStatus, LIMIT_REASON_CODE, MAX_RESUBMISSIONS};
use super::{click, decision, kinds, session, signed, with_receiver, KEY, SECRET};
use crate::testing::{call, emulator};
use crate::{Emulator, EmulatorConfig};

fn page_path(token: &str) -> String {
    format!("/veriff/v/{token}")
}

async fn click_ok(emu: &Emulator, token: &str, action: &str, reason: Option<&str>) {
    let a = click(emu, token, action, reason).await;
    assert_eq!(a.status, 303, "{action}: {}", a.text);
}

#[tokio::test]
async fn when_a_person_clicks_through_should_send_started_submitted_and_the_decision_signed() {
    let (emu, received) = with_receiver().await;
    let (id, token) = session(&emu).await;
    let page = call(&emu, "GET", &page_path(&token), &[], None).await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("id=\"start\""), "{}", page.text);
    click_ok(&emu, &token, "start", None).await;
    click_ok(&emu, &token, "submit", None).await;
    let page = call(&emu, "GET", &page_path(&token), &[], None).await;
    assert!(page.text.contains("id=\"decline-reason\""), "{}", page.text);
    click_ok(&emu, &token, "decline", Some("105")).await;

    let got = received.lock().unwrap().clone();
    assert_eq!(got.len(), 3);
    for (headers, body) in &got {
        assert_eq!(headers["x-auth-client"], KEY);
        let signature = headers["x-hmac-signature"].to_str().unwrap();
        assert!(signed(SECRET, body.as_bytes(), signature), "{body}");
    }
    let bodies: Vec<Value> = got
        .iter()
        .map(|(_, b)| serde_json::from_str(b).unwrap())
        .collect();
    let attempt = bodies[0]["attemptId"].as_str().unwrap().to_owned();
    for (body, (action, code)) in bodies.iter().zip([("started", 7001), ("submitted", 7002)]) {
        assert_eq!(
            body,
            &json!({"id": id, "attemptId": attempt, "feature": "selfid", "code": code,
                    "action": action, "vendorData": "ver_1", "endUserId": null})
        );
    }
    let verdict = &bodies[2];
    assert_eq!(verdict["status"], "success");
    assert!(verdict["technicalData"]["ip"].is_string());
    let v = &verdict["verification"];
    assert_eq!(
        (v["status"].clone(), v["code"].clone()),
        (json!("declined"), json!(9102))
    );
    assert_eq!(
        (v["reasonCode"].clone(), v["reason"].clone()),
        (json!(105), json!("Suspicious behaviour"))
    );
    assert_eq!(v["attemptId"], attempt.as_str());
    assert_eq!(
        &decision(&emu, &id).await["verification"],
        v,
        "the endpoint answers the webhook's decision"
    );

    let deliveries = emu.deliveries();
    let time = v["decisionTime"].as_str().unwrap();
    let ids: Vec<&str> = deliveries.iter().map(|d| d.event_id.as_str()).collect();
    assert_eq!(
        ids,
        [
            format!("{id}|{attempt}|started"),
            format!("{id}|{attempt}|submitted"),
            format!("{id}|{attempt}|declined|{time}"),
        ]
    );
    assert!(deliveries
        .iter()
        .all(|d| d.attempts.len() == 1 && d.attempts[0].status == Some(200)));
    let finished = call(&emu, "GET", &page_path(&token), &[], None).await;
    assert!(
        finished.text.contains("id=\"result\">declined"),
        "{}",
        finished.text
    );
    assert!(
        finished.text.contains("href=\"http://app/done\""),
        "{}",
        finished.text
    );
}

#[tokio::test]
async fn when_resubmissions_are_used_up_should_decline_the_next_with_539() {
    let emu = emulator();
    let (id, token) = session(&emu).await;
    let mut attempts = Vec::new();
    for n in 1..=MAX_RESUBMISSIONS {
        click_ok(&emu, &token, "start", None).await;
        click_ok(&emu, &token, "submit", None).await;
        click_ok(&emu, &token, "resubmit", Some("205")).await;
        let s = emu.veriff_session(&id).unwrap();
        assert_eq!(
            (s.status, s.resubmissions),
            (VeriffStatus::ResubmissionRequested, n)
        );
        let d = s.decision.unwrap();
        assert_eq!(
            (d.reason_code, d.reason.as_deref()),
            (Some(205), Some("Document damaged"))
        );
        attempts.push(d.attempt_id);
    }
    attempts.dedup();
    assert_eq!(
        attempts.len(),
        9,
        "each resubmission is a new attempt of the same session"
    );
    click_ok(&emu, &token, "start", None).await;
    click_ok(&emu, &token, "submit", None).await;
    let page = call(&emu, "GET", &page_path(&token), &[], None).await;
    assert!(page.text.contains("id=\"limit\""), "{}", page.text);
    click_ok(&emu, &token, "resubmit", None).await;

    let v = decision(&emu, &id).await["verification"].clone();
    assert_eq!(
        (v["status"].clone(), v["code"].clone()),
        (json!("declined"), json!(9102))
    );
    assert_eq!(v["reasonCode"], LIMIT_REASON_CODE);
    let s = emu.veriff_session(&id).unwrap();
    assert_eq!((s.attempts.len(), s.resubmissions), (10, 9));
    let verdicts: Vec<String> = kinds(&emu)
        .into_iter()
        .filter(|k| k != "started" && k != "submitted")
        .collect();
    let mut expected = vec!["resubmission_requested".to_owned(); 9];
    expected.push("declined".into());
    assert_eq!(verdicts, expected);
    assert_eq!(emu.deliveries().len(), 30);
    assert_eq!(emu.veriff_sessions().len(), 1);
    assert_eq!(
        click(&emu, &token, "start", None).await.status,
        409,
        "declined is final"
    );
}

#[tokio::test]
async fn when_a_session_goes_to_review_should_answer_review_then_the_operators_decision() {
    let emu = emulator();
    let (id, token) = session(&emu).await;
    for action in ["start", "submit", "review"] {
        click_ok(&emu, &token, action, None).await;
    }
    let review = decision(&emu, &id).await["verification"].clone();
    assert_eq!(
        (review["status"].clone(), review["code"].clone()),
        (json!("review"), json!(9121))
    );
    let page = call(&emu, "GET", &page_path(&token), &[], None).await;
    assert!(page.text.contains("Operator"), "{}", page.text);
    assert_eq!(click(&emu, &token, "review", None).await.status, 409);
    click_ok(&emu, &token, "approve", None).await;
    let approved = decision(&emu, &id).await["verification"].clone();
    assert_eq!(
        (approved["status"].clone(), approved["code"].clone()),
        (json!("approved"), json!(9001))
    );
    assert_eq!(approved["attemptId"], review["attemptId"]);
    assert_eq!(
        (approved["reason"].clone(), approved["reasonCode"].clone()),
        (Value::Null, Value::Null)
    );
    assert!(approved["decisionTime"].as_str() > review["decisionTime"].as_str());
    assert_eq!(kinds(&emu), ["started", "submitted", "review", "approved"]);
    // The operator may also decline after a review, with a reason code.
    let (other, _) = session(&emu).await;
    emu.veriff_decide(&other, VeriffStatus::Review, None, None)
        .await
        .unwrap();
    let d = emu
        .veriff_decide(&other, VeriffStatus::Declined, Some(102), None)
        .await
        .unwrap();
    assert_eq!(
        (d.status, d.reason.as_deref()),
        (VeriffStatus::Declined, Some("Suspected document tampering"))
    );
}

#[tokio::test]
async fn when_a_session_is_abandoned_or_expires_should_decide_it_without_a_submission() {
    let emu = emulator();
    let (expiring, token) = session(&emu).await;
    click_ok(&emu, &token, "expire", None).await;
    let v = decision(&emu, &expiring).await["verification"].clone();
    assert_eq!(
        (v["status"].clone(), v["code"].clone()),
        (json!("expired"), json!(9104))
    );
    assert!(v["attemptId"].is_string());
    assert_eq!(v["person"]["firstName"], Value::Null);
    let (abandoning, token) = session(&emu).await;
    click_ok(&emu, &token, "start", None).await;
    click_ok(&emu, &token, "abandon", None).await;
    let v = decision(&emu, &abandoning).await["verification"].clone();
    assert_eq!(
        (v["status"].clone(), v["code"].clone()),
        (json!("abandoned"), json!(9104))
    );
    assert_eq!(kinds(&emu), ["expired", "started", "abandoned"]);
    let refused = emu
        .veriff_decide(&abandoning, VeriffStatus::Approved, None, None)
        .await;
    assert_eq!(
        refused.unwrap_err(),
        VeriffRefusal::NotNow(VeriffStatus::Abandoned)
    );
    let not_a_decision = emu
        .veriff_decide(&abandoning, VeriffStatus::Started, None, None)
        .await;
    assert_eq!(
        not_a_decision.unwrap_err(),
        VeriffRefusal::NotADecision(VeriffStatus::Started)
    );
    assert_eq!(
        emu.veriff_start("nope").await,
        Err(VeriffRefusal::UnknownSession)
    );
}

#[tokio::test]
async fn when_served_under_a_prefix_should_keep_forms_and_redirects_under_it() {
    let emu = Emulator::with_prefix(
        EmulatorConfig {
            public_url: Some("http://h:1/t/9".into()),
            ..EmulatorConfig::default()
        },
        "/t/9".into(),
    );
    let (id, token) = session(&emu).await;
    let page = call(&emu, "GET", &page_path(&token), &[], None).await;
    let action = format!("action=\"/t/9/veriff/v/{token}\"");
    assert!(page.text.contains(&action), "{}", page.text);
    let a = click(&emu, &token, "start", None).await;
    assert_eq!(a.status, 303);
    assert_eq!(
        a.headers["location"],
        format!("/t/9/veriff/v/{token}").as_str()
    );
    assert_eq!(
        emu.veriff_session(&id).unwrap().status,
        VeriffStatus::Started
    );
    assert_eq!(click(&emu, &token, "dance", None).await.status, 400);
    assert_eq!(
        click(&emu, "no-such-token", "start", None).await.status,
        404
    );
    let missing = call(&emu, "GET", &page_path("no-such-token"), &[], None).await;
    assert_eq!(missing.status, 404);
}

#[tokio::test]
async fn when_webhooks_are_held_duplicated_or_sent_again_should_stay_signed() {
    let (emu, received) = with_receiver().await;
    emu.set_auto_deliver(false);
    let (id, _) = session(&emu).await;
    emu.veriff_decide(&id, VeriffStatus::Approved, None, None)
        .await
        .unwrap();
    assert_eq!(kinds(&emu), ["started", "submitted", "approved"]);
    assert!(
        received.lock().unwrap().is_empty(),
        "held until delivered by hand"
    );
    assert_eq!(emu.deliver(2).await, Some(200));
    assert_eq!(emu.deliver(2).await, Some(200));
    emu.update(|c| {
        c.auto_deliver = true;
        c.duplicate_webhooks = true;
    });
    let (other, _) = session(&emu).await;
    emu.veriff_start(&other).await.unwrap();
    let got = received.lock().unwrap().clone();
    assert_eq!(got.len(), 4);
    assert_eq!(got[0].1, got[1].1, "a redelivery is the same body");
    assert_eq!(got[2].1, got[3].1, "a duplicate is the same body");
    for (headers, body) in &got {
        let signature = headers["x-hmac-signature"].to_str().unwrap();
        assert!(signed(SECRET, body.as_bytes(), signature), "{body}");
    }
    assert_eq!(emu.deliveries()[2].attempts.len(), 2);
}
