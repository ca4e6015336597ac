//! Veriff: a hosted page the person starts and submits; the tester decides on it; event and
//! decision webhooks signed with an HMAC of the raw body, and a verdict applied only from the
//! decision Veriff answers when asked again.

use emulator::veriff::{sign, VeriffSession, VeriffStatus};
use emulator::Outcome;
use integration_tests::*;
use local_stack::LocalStack;
use serde_json::{json, Value};

use super::{word, Forgery, Provider};

pub struct Veriff;

/// The decline reason the tester picks: "Suspected document tampering", a final one.
const DECLINE_CODE: &str = "102";

async fn click_ok(verification: &Value, action: &str, reason: Option<&str>) {
    let url = verification["verification_url"]
        .as_str()
        .expect("verification_url");
    let a = click(url, action, reason).await;
    assert_eq!(a.status, 303, "{action}: {}", a.raw);
}

/// The emulator's session behind a verification.
fn session_of(stack: &LocalStack, verification: &Value) -> VeriffSession {
    let id = verification["id"].as_str().expect("id");
    stack
        .emulator
        .veriff_sessions()
        .into_iter()
        .rev()
        .find(|s| s.vendor_data.as_deref() == Some(id))
        .expect("a Veriff session for the verification")
}

/// A decision webhook body Veriff never sent: `session` approved, naming `vendor_data`.
fn approval(session: &VeriffSession, vendor_data: &str) -> String {
    json!({"status": "success", "verification": {
        "id": session.id, "attemptId": session.attempt_id(), "vendorData": vendor_data,
        "status": "approved", "code": 9001, "reason": null, "reasonCode": null,
        "decisionTime": chrono::Utc::now().to_rfc3339(), "acceptanceTime": chrono::Utc::now().to_rfc3339()},
        "technicalData": {"ip": "203.0.113.66"}})
    .to_string()
}

impl Provider for Veriff {
    fn name(&self) -> &'static str {
        "veriff"
    }

    fn hosted(&self) -> bool {
        true
    }

    fn create_body(&self, customer: &str) -> Value {
        json!({"customer_id": customer, "provider": "veriff",
               "applicant": {"first_name": "Ada", "last_name": "Byron", "date_of_birth": "1985-12-10"}})
    }

    fn records_opened(&self, stack: &LocalStack) -> usize {
        stack
            .emulator
            .counters()
            .get("veriff_sessions")
            .copied()
            .unwrap_or(0)
    }

    fn statuses_to(&self, outcome: Outcome) -> Vec<&'static str> {
        vec!["pending", "in_progress", "in_review", word(outcome)]
    }

    fn decision(&self, outcome: Outcome) -> Value {
        match outcome {
            Outcome::Approve => json!({"outcome": "approved", "reason_code": null,
                                       "provider_reason": null, "retryable": false}),
            Outcome::Reject => json!({"outcome": "rejected", "reason_code": "veriff_102",
                                      "provider_reason": "Suspected document tampering",
                                      "retryable": false}),
        }
    }

    /// Start (event `started`), then submit (event `submitted`): Veriff is checking.
    async fn submit(&self, _stack: &LocalStack, verification: &Value) {
        click_ok(verification, "start", None).await;
        click_ok(verification, "submit", None).await;
    }

    /// The tester's decision on the page: approve, or decline for document tampering.
    async fn decide(&self, _stack: &LocalStack, verification: &Value, outcome: Outcome) {
        match outcome {
            Outcome::Approve => click_ok(verification, "approve", None).await,
            Outcome::Reject => click_ok(verification, "decline", Some(DECLINE_CODE)).await,
        }
    }

    /// A signed approval Veriff never made; one borrowed from another person's approved
    /// session; and every kind of wrong credentials.
    async fn forgeries(&self, stack: &LocalStack, verification: &Value) -> Vec<Forgery> {
        let c = stack.emulator.config().providers.veriff;
        let victim = verification["id"].as_str().expect("id");
        let session = session_of(stack, verification);
        let forged = approval(&session, victim);
        // An attacker's own session, approved by Veriff, replayed as the victim's.
        let attacker = create_with_provider(stack, "veriff").await;
        let theirs = session_of(stack, &attacker);
        stack
            .emulator
            .veriff_decide(&theirs.id, VeriffStatus::Approved, None, None)
            .await
            .expect("the attacker's session approved");
        let borrowed = approval(
            &stack.emulator.veriff_session(&theirs.id).expect("session"),
            victim,
        );
        let signed = |body: &str| {
            vec![
                ("x-auth-client", c.api_key.clone()),
                (
                    "x-hmac-signature",
                    sign(c.shared_secret.as_bytes(), body.as_bytes()),
                ),
            ]
        };
        let with = |key: &str, sig: String| {
            vec![("x-auth-client", key.to_owned()), ("x-hmac-signature", sig)]
        };
        let good_sig = sign(c.shared_secret.as_bytes(), forged.as_bytes());
        vec![
            Forgery::authentic(
                "a signed approval Veriff never decided",
                signed(&forged),
                &forged,
            ),
            Forgery::authentic(
                "another person's approved session named as this one",
                signed(&borrowed),
                &borrowed,
            ),
            Forgery::refused("no credentials", vec![], &forged),
            Forgery::refused(
                "no signature",
                vec![("x-auth-client", c.api_key.clone())],
                &forged,
            ),
            Forgery::refused(
                "another integration's key",
                with("someone-else", good_sig.clone()),
                &forged,
            ),
            Forgery::refused(
                "signed with a wrong secret",
                with(&c.api_key, sign(b"wrong", forged.as_bytes())),
                &forged,
            ),
            Forgery::refused(
                "the signature of another body",
                with(
                    &c.api_key,
                    sign(c.shared_secret.as_bytes(), borrowed.as_bytes()),
                ),
                &forged,
            ),
            Forgery::refused(
                "six signatures, one of them right",
                with(
                    &c.api_key,
                    format!("{},{good_sig}", vec!["0".repeat(64); 5].join(",")),
                ),
                &forged,
            ),
        ]
    }
}

/// A fresh verification with `provider` for a customer of its own.
async fn create_with_provider(stack: &LocalStack, provider: &str) -> Value {
    let customer = format!("cus_attacker_{}", ulid::Ulid::new());
    let a = post_json(
        &format!("{}/v1/verifications", stack.api_url),
        &json!({"customer_id": customer, "provider": provider}),
    )
    .await;
    assert_eq!(a.status, 201, "{}", a.raw);
    a.body
}

conformance_suite!(Veriff);
