//! Ondato: a hosted page the person clicks through; an operator decides after review; webhooks
//! with Basic auth whose bodies are never believed (the IDV and the identification are re-fetched).

use emulator::Outcome;
use integration_tests::*;
use local_stack::LocalStack;
use serde_json::{json, Value};

use super::{word, Forgery, Provider};

pub struct Ondato;

/// The rejection reason the operator picks.
const REJECT_REASON: &str = "Sanctioned";

async fn click_ok(verification: &Value, action: &str, reason: Option<&str>) {
    let url = verification["verification_url"]
        .as_str()
        .expect("verification_url");
    let a = click(url, action, reason).await;
    assert_eq!(a.status, 303, "{action}: {}", a.raw);
}

impl Provider for Ondato {
    fn name(&self) -> &'static str {
        "ondato"
    }

    fn hosted(&self) -> bool {
        true
    }

    fn create_body(&self, customer: &str) -> Value {
        json!({"customer_id": customer, "provider": "ondato",
               "applicant": {"first_name": "Ada", "last_name": "Byron", "country_code": "LT"}})
    }

    fn records_opened(&self, stack: &LocalStack) -> usize {
        stack
            .emulator
            .counters()
            .get("idv_create")
            .copied()
            .unwrap_or(0)
    }

    fn statuses_to(&self, outcome: Outcome) -> Vec<&'static str> {
        vec!["pending", "in_progress", "in_review", word(outcome)]
    }

    fn decision(&self, outcome: Outcome) -> Value {
        match outcome {
            Outcome::Approve => json!({"outcome": "approved", "reason_code": "manually_identified",
                                       "provider_reason": "ManuallyIdentified", "retryable": false}),
            Outcome::Reject => json!({"outcome": "rejected", "reason_code": "sanctioned",
                                      "provider_reason": REJECT_REASON, "retryable": false}),
        }
    }

    /// Consent, the document photo, the selfie, then "send to manual review".
    async fn submit(&self, _stack: &LocalStack, verification: &Value) {
        for action in ["consent", "document", "selfie", "review"] {
            click_ok(verification, action, None).await;
        }
    }

    /// The operator's buttons on the page under review.
    async fn decide(&self, _stack: &LocalStack, verification: &Value, outcome: Outcome) {
        match outcome {
            Outcome::Approve => click_ok(verification, "operator_approve", None).await,
            Outcome::Reject => {
                click_ok(verification, "operator_reject", Some(REJECT_REASON)).await;
            }
        }
    }

    /// An approval of this person's identification that Ondato never made, with the right
    /// credentials and with every kind of wrong ones.
    async fn forgeries(&self, stack: &LocalStack, verification: &Value) -> Vec<Forgery> {
        let idv = idv_of(verification);
        let kyc = stack
            .emulator
            .idv(&idv)
            .and_then(|i| i.kyc_id)
            .expect("an identification once submitted");
        let c = stack.emulator.config().providers.ondato;
        let approval = json!({
            "id": ulid::Ulid::new().to_string(), "applicationId": c.application_id,
            "createdUtc": chrono::Utc::now().to_rfc3339(), "type": "KycIdentification.Approved",
            "payload": {"id": kyc, "identityVerificationId": idv, "status": "Approved"}
        })
        .to_string();
        let auth = |value: String| vec![("authorization", value)];
        vec![
            Forgery::authentic(
                "the right credentials, an approval Ondato never made",
                auth(basic(&c.webhook_username, &c.webhook_password)),
                &approval,
            ),
            Forgery::refused("no credentials", vec![], &approval),
            Forgery::refused(
                "a wrong password",
                auth(basic(&c.webhook_username, "wrong")),
                &approval,
            ),
            Forgery::refused(
                "another user with the right password",
                auth(basic("someone", &c.webhook_password)),
                &approval,
            ),
            Forgery::refused("a bearer token", auth("Bearer x".into()), &approval),
            Forgery::refused(
                "Basic auth that is not base64",
                auth("Basic !!!".into()),
                &approval,
            ),
        ]
    }
}

conformance_suite!(Ondato);
