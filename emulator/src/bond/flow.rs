//! What happens at Bond after a KYC run is taken: the scenario each sandbox SSN plays, document
//! uploads, the decision; and the webhooks each step sends, in Bond's envelope
//! (`{"event", "customer_id", "occurred_at", …}`, `occurred_at` in RFC 3339 or, with
//! `seed_date_format`, as Bond's docs write it), signed with `Bond-Signature` when they are sent.
//! With `kyc_status_callback`, an accepted run first sends Bond's documented first callback,
//! `{"customer_id": "…", "kyc_status": "submitted"}`.

use chrono::{SecondsFormat, Utc};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use super::errors::bond_time;
use super::upload::upload_link;
use super::Bond;
use crate::delivery::Event;
use crate::{Emulator, Provider};

/// Hex HMAC-SHA256 over `{t}.{body}`: how the emulator signs (the layout the adapter expects).
pub fn sign(secret: &[u8], t: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("any key length");
    mac.update(t.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The documents each sandbox SSN asks for (providers.md §2.7), and whether it re-asks data.
pub(super) fn scenario(ssn: &str) -> Scenario {
    let digits: String = ssn.chars().filter(char::is_ascii_digit).collect();
    match digits.as_str() {
        "000000000" => Scenario::UnderReview,
        "111111111" => Scenario::Documents(vec!["social_security_card", "government_id"], true),
        "222222222" => Scenario::Documents(vec!["government_id", "proof_of_address"], false),
        "333333333" => Scenario::Documents(vec!["government_id"], false),
        "444444444" => Scenario::Documents(
            vec!["social_security_card", "government_id", "proof_of_address"],
            false,
        ),
        "888888888" => Scenario::Timeout,
        _ => Scenario::Success,
    }
}

pub(super) enum Scenario {
    Success,
    UnderReview,
    Timeout,
    Documents(Vec<&'static str>, bool),
}

impl Emulator {
    /// Record a Bond webhook (signed when sent) and send it the way the settings say.
    async fn emit_bond(&self, event: &str, customer_id: &str, extra: Value) {
        let seed_format = self.config().providers.bond.seed_date_format;
        self.emit(Bond::NAME, chrono::Duration::microseconds(1), |at| {
            let occurred_at = if seed_format {
                bond_time(at)
            } else {
                at.to_rfc3339_opts(SecondsFormat::Micros, false)
            };
            let mut body =
                json!({"event": event, "customer_id": customer_id, "occurred_at": occurred_at});
            for (k, v) in extra.as_object().into_iter().flatten() {
                body[k] = v.clone();
            }
            Event {
                event_id: format!("{event}|{customer_id}|{occurred_at}"),
                event_type: event.to_owned(),
                resource_id: customer_id.to_owned(),
                created_utc: occurred_at,
                body: body.to_string(),
            }
        })
        .await;
    }

    /// Bond's first callback of a KYC run, exactly as documented: no `event`, no time.
    pub(super) async fn emit_bond_submitted(&self, customer_id: &str) {
        self.emit(Bond::NAME, chrono::Duration::microseconds(1), |at| {
            let created = at.to_rfc3339_opts(SecondsFormat::Micros, false);
            Event {
                event_id: format!("kyc_status.submitted|{customer_id}|{created}"),
                event_type: "kyc_status.submitted".to_owned(),
                resource_id: customer_id.to_owned(),
                created_utc: created,
                body: format!(
                    "{{\"customer_id\": {}, \"kyc_status\": \"submitted\"}}",
                    Value::from(customer_id)
                ),
            }
        })
        .await;
    }

    fn set_kyc(&self, id: &str, status: &str) {
        if let Some(c) = self.inner().providers.bond.customers.get_mut(id) {
            c.kyc_status = Some(status.to_owned());
            if status == "passed" {
                c.passed_at = Some(Utc::now());
            }
        }
    }

    /// A decision, as Bond sends it (also what `/simulate/kyc-pass|fail` trigger).
    pub async fn decide(&self, id: &str, pass: bool) {
        let (status, event) = if pass {
            ("passed", "kyc.verification.success")
        } else {
            ("failed", "kyc.verification.failure")
        };
        self.set_kyc(id, status);
        self.emit_bond(event, id, json!({})).await;
    }

    pub(super) async fn play(&self, id: &str, scenario: Scenario) {
        match scenario {
            Scenario::Success => self.decide(id, true).await,
            Scenario::UnderReview => {
                self.set_kyc(id, "under_review");
                self.emit_bond("kyc.verification.under_review", id, json!({}))
                    .await;
            }
            Scenario::Timeout => {
                self.set_kyc(id, "timeout");
                self.emit_bond("kyc.verification.timeout", id, json!({}))
                    .await;
            }
            Scenario::Documents(kinds, reenter) => {
                let base = self.base_url();
                if let Some(c) = self.inner().providers.bond.customers.get_mut(id) {
                    c.documents = kinds.iter().map(|k| ((*k).to_owned(), false)).collect();
                    c.kyc_status = Some("document_required".into());
                }
                let documents: Vec<Value> = kinds
                    .iter()
                    .map(|k| json!({"document_type": k, "status": "required", "upload_link": upload_link(&base, id, k)}))
                    .collect();
                if reenter {
                    self.emit_bond(
                        "kyc.verification.reenter_information",
                        id,
                        json!({"incorrect_information": ["ssn"]}),
                    )
                    .await;
                }
                self.emit_bond(
                    "kyc.verification.document_required",
                    id,
                    json!({"documents": documents}),
                )
                .await;
            }
        }
    }

    /// Documents arrive; once every asked-for one is in, Bond reviews and decides.
    pub(super) async fn upload(&self, id: &str, kinds: &[String]) -> Option<usize> {
        let (count, complete) = {
            let mut inner = self.inner();
            let c = inner.providers.bond.customers.get_mut(id)?;
            let mut count = 0;
            for (doc, uploaded) in c.documents.iter_mut() {
                if kinds.contains(doc) && !*uploaded {
                    *uploaded = true;
                    count += 1;
                }
            }
            let complete = !c.documents.is_empty()
                && c.documents.iter().all(|(_, u)| *u)
                && c.kyc_status.as_deref() == Some("document_required");
            (count, complete)
        };
        if complete {
            self.set_kyc(id, "under_review");
            self.emit_bond("kyc.verification.under_review", id, json!({}))
                .await;
            self.decide(id, true).await;
        }
        Some(count)
    }
}
