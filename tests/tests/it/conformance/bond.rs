//! Bond: the applicant's data goes to Bond server to server; the sandbox SSN `000-00-0000` puts
//! the check under review and `/simulate/kyc-pass|kyc-fail` decides it; webhooks are signed with
//! `Bond-Signature` (HMAC-SHA256 over `{t}.{body}`) and believed once the signature holds.

use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use emulator::{Delivery, Outcome};
use integration_tests::*;
use local_stack::LocalStack;
use serde_json::{json, Value};

use super::{provider_ref, word, Forgery, Provider};

pub struct Bond;

/// The sandbox SSN whose check waits for a decision.
const UNDER_REVIEW_SSN: &str = "000-00-0000";

fn sign(secret: &str, t: i64, body: &str) -> String {
    shared::provider::bond::signature::sign(secret.as_bytes(), &t.to_string(), body.as_bytes())
}

/// Wait until Bond produced `event` for its customer `bond_id` and, when it sends webhooks as
/// they happen, until we acknowledged it.
async fn produced(stack: &LocalStack, bond_id: &str, event: &str) -> Delivery {
    for _ in 0..250 {
        let live = stack.emulator.config().auto_deliver;
        let found = stack
            .emulator
            .deliveries()
            .into_iter()
            .rev()
            .find(|d| d.resource_id == bond_id && d.event_type == event);
        if let Some(d) = found {
            if !live || d.attempts.iter().any(|a| a.status == Some(200)) {
                return d;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!(
        "Bond never sent {event} for {bond_id}: {:?}",
        stack.emulator.deliveries()
    );
}

/// Another customer, approved by Bond: its id and the body of its genuine success event.
async fn another_customers_success(stack: &LocalStack) -> (String, String) {
    let a = post_json(
        &format!("{}/v1/verifications", stack.api_url),
        &json!({"customer_id": format!("cus_other_{}", ulid::Ulid::new()), "provider": "bond",
                "applicant": bond_applicant("123-45-6789")}),
    )
    .await;
    assert_eq!(a.status, 201, "{}", a.raw);
    let other = provider_ref(stack, &a.body).await;
    let success = produced(stack, &other, "kyc.verification.success").await;
    (other, success.body_for_tests())
}

impl Provider for Bond {
    fn name(&self) -> &'static str {
        "bond"
    }

    fn hosted(&self) -> bool {
        false
    }

    fn create_body(&self, customer: &str) -> Value {
        json!({"customer_id": customer, "provider": "bond", "applicant": bond_applicant(UNDER_REVIEW_SSN)})
    }

    fn records_opened(&self, stack: &LocalStack) -> usize {
        stack
            .emulator
            .counters()
            .get("bond_customer_create")
            .copied()
            .unwrap_or(0)
    }

    fn statuses_to(&self, outcome: Outcome) -> Vec<&'static str> {
        vec!["pending", "in_review", word(outcome)]
    }

    fn decision(&self, outcome: Outcome) -> Value {
        match outcome {
            Outcome::Approve => json!({"outcome": "approved", "reason_code": null,
                                       "provider_reason": null, "retryable": false}),
            Outcome::Reject => {
                json!({"outcome": "rejected", "reason_code": "identity_not_verified",
                                      "provider_reason": "kyc.verification.failure", "retryable": false})
            }
        }
    }

    /// The data went to Bond with the create; Bond puts the check under review.
    async fn submit(&self, stack: &LocalStack, verification: &Value) {
        let bond_id = provider_ref(stack, verification).await;
        produced(stack, &bond_id, "kyc.verification.under_review").await;
    }

    /// The sandbox's decision endpoint.
    async fn decide(&self, stack: &LocalStack, verification: &Value, outcome: Outcome) {
        let bond_id = provider_ref(stack, verification).await;
        let simulate = match outcome {
            Outcome::Approve => "kyc-pass",
            Outcome::Reject => "kyc-fail",
        };
        let a = post_json(
            &format!("{}/bond/api/v0.1/simulate/{simulate}", stack.emulator_url),
            &json!({"customer_id": bond_id, "program_id": stack.emulator.config().providers.bond.program_id}),
        )
        .await;
        assert_eq!(a.status, 200, "{}", a.raw);
    }

    /// A success for this customer with a missing or bad signature in every form, and another
    /// customer's genuine signed success, replayed as is and with this customer's id put in.
    async fn forgeries(&self, stack: &LocalStack, verification: &Value) -> Vec<Forgery> {
        let bond_id = provider_ref(stack, verification).await;
        let secret = stack.emulator.config().providers.bond.webhook_secret;
        let now = Utc::now().timestamp();
        let claim = json!({"event": "kyc.verification.success", "customer_id": bond_id,
                           "occurred_at": Utc::now().to_rfc3339_opts(SecondsFormat::Micros, false)})
        .to_string();
        let genuine = produced(stack, &bond_id, "kyc.verification.under_review")
            .await
            .body_for_tests();
        let (other, other_success) = another_customers_success(stack).await;
        let good = sign(&secret, now, &claim);
        let sig = |header: String| vec![("bond-signature", header)];
        let wrong = sign("wrong", now, &claim);
        let borrowed = sign(&secret, now, &genuine);
        // Just beyond the default tolerance (4 days, as Bond's retries may keep their first t).
        let too_old = now - shared::provider::bond::signature::DEFAULT_TOLERANCE_SECS as i64 - 1;
        let stale = sign(&secret, too_old, &claim);
        let replayed = sign(&secret, now, &other_success);
        vec![
            Forgery::refused("no Bond-Signature", vec![], &claim),
            Forgery::refused(
                "signed with another secret",
                sig(format!("t={now},v1={wrong},v2={wrong}")),
                &claim,
            ),
            Forgery::refused(
                "the signature of this customer's genuine under_review event",
                sig(format!("t={now},v1={borrowed},v2={borrowed}")),
                &claim,
            ),
            Forgery::refused(
                "signed longer ago than the tolerance",
                sig(format!("t={too_old},v2={stale}")),
                &claim,
            ),
            Forgery::refused(
                "a timestamp without signatures",
                sig(format!("t={now}")),
                &claim,
            ),
            Forgery::refused(
                "two more hex digits",
                sig(format!("t={now},v2={good}ff")),
                &claim,
            ),
            Forgery::refused(
                "a truncated signature",
                sig(format!("t={now},v2={}", &good[..40])),
                &claim,
            ),
            Forgery::refused(
                "another customer's signed success with this customer's id put in",
                sig(format!("t={now},v1={replayed},v2={replayed}")),
                &other_success.replace(&other, &bond_id),
            ),
            Forgery::authentic(
                "another customer's genuine signed success, replayed",
                sig(format!("t={now},v1={replayed},v2={replayed}")),
                &other_success,
            ),
        ]
    }
}

conformance_suite!(Bond);
