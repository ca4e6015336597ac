//! The state machine the hosted page (and the tests) drive: consent, the document and selfie
//! steps, submission, the decision, an operator's later edit, abandoning or expiring. Each step
//! emits the webhooks Ondato would send, in Ondato's order and envelope.

use chrono::Utc;
use serde_json::{json, Value};

use super::{Idv, Kyc, Ondato};
use crate::delivery::Event;
use crate::util::{iso_millis, new_uuid};
use crate::{Emulator, Outcome, Provider};

impl Emulator {
    /// An IDV as the emulator keeps it.
    pub fn idv(&self, id: &str) -> Option<Idv> {
        self.inner().providers.ondato.idvs.get(id).cloned()
    }

    /// Record a webhook in Ondato's envelope and send it the way the settings say.
    async fn emit_ondato(&self, event_type: &str, resource_id: &str, payload: Value) {
        let application_id = self.config().providers.ondato.application_id;
        self.emit(Ondato::NAME, chrono::Duration::milliseconds(1), |at| {
            let created_utc = iso_millis(at);
            let event_id = new_uuid();
            let body = json!({
                "id": event_id,
                "applicationId": application_id,
                "createdUtc": created_utc,
                "type": event_type,
                "payload": payload,
            })
            .to_string();
            Event {
                event_id,
                event_type: event_type.to_owned(),
                resource_id: resource_id.to_owned(),
                created_utc,
                body,
            }
        })
        .await;
    }

    fn idv_event_payload(&self, idv_id: &str) -> Option<Value> {
        let settings = self.config().providers.ondato;
        let idv = self
            .inner()
            .providers
            .ondato
            .idvs
            .get(idv_id)
            .map(Idv::to_json)?;
        Some(settings.shown(idv))
    }

    fn kyc_event_payload(&self, kyc_id: &str) -> Option<Value> {
        let settings = self.config().providers.ondato;
        let inner = self.inner();
        let state = &inner.providers.ondato;
        let kyc = state.kycs.get(kyc_id)?;
        Some(settings.shown(kyc.to_json(state.idvs.get(&kyc.idv_id))))
    }

    async fn set_idv_status(&self, idv_id: &str, status: &str) {
        {
            let mut inner = self.inner();
            let Some(idv) = inner.providers.ondato.idvs.get_mut(idv_id) else {
                return;
            };
            idv.status = status.to_owned();
            idv.modified = Utc::now();
        }
        if let Some(payload) = self.idv_event_payload(idv_id) {
            self.emit_ondato("IdentityVerification.StatusChanged", idv_id, payload)
                .await;
        }
    }

    async fn emit_kyc(&self, kyc_id: &str, event: &str) {
        if let Some(payload) = self.kyc_event_payload(kyc_id) {
            self.emit_ondato(event, kyc_id, payload).await;
        }
    }

    /// The person opens the page and consents: IDV `InProgress`, a KYC identification is created.
    pub async fn begin(&self, idv_id: &str) -> bool {
        let kyc_id = {
            let mut inner = self.inner();
            let Some(idv) = inner.providers.ondato.idvs.get_mut(idv_id) else {
                return false;
            };
            if idv.status != "Pending" {
                return true;
            }
            let now = Utc::now();
            idv.consented_at = Some(now);
            let kyc_id = new_uuid();
            idv.kyc_id = Some(kyc_id.clone());
            inner.providers.ondato.kycs.insert(
                kyc_id.clone(),
                Kyc {
                    id: kyc_id.clone(),
                    idv_id: idv_id.to_owned(),
                    status: "Awaiting".into(),
                    status_reason: None,
                    created: now,
                    completed: None,
                },
            );
            kyc_id
        };
        self.set_idv_status(idv_id, "InProgress").await;
        self.emit_kyc(&kyc_id, "KycIdentification.Created").await;
        true
    }

    /// An operator edits a decided identification in Ondato's portal: the new status and reason,
    /// then `KycIdentification.Updated`.
    pub async fn operator_update(&self, kyc_id: &str, status: &str, reason: Option<&str>) -> bool {
        {
            let mut inner = self.inner();
            let Some(kyc) = inner.providers.ondato.kycs.get_mut(kyc_id) else {
                return false;
            };
            kyc.status = status.to_owned();
            kyc.status_reason = reason.map(str::to_owned);
        }
        self.emit_kyc(kyc_id, "KycIdentification.Updated").await;
        true
    }

    /// The person finishes the steps: `KycIdentification.Processed`, then IDV `Completed`; the
    /// identification awaits a decision (automatic, or an operator's).
    pub async fn submit(&self, idv_id: &str) -> Option<String> {
        if !self.begin(idv_id).await {
            return None;
        }
        let kyc_id = self.idv(idv_id).and_then(|i| i.kyc_id)?;
        let pending = {
            let mut inner = self.inner();
            let kyc = inner.providers.ondato.kycs.get_mut(&kyc_id)?;
            let pending = kyc.completed.is_none();
            kyc.completed.get_or_insert_with(Utc::now);
            pending
        };
        if pending {
            if let Some(idv) = self.inner().providers.ondato.idvs.get_mut(idv_id) {
                idv.document_done = true;
                idv.selfie_done = true;
            }
            self.emit_kyc(&kyc_id, "KycIdentification.Processed").await;
            self.set_idv_status(idv_id, "Completed").await;
        }
        Some(kyc_id)
    }

    /// The identification is decided (automatically, or by an operator after manual review).
    pub async fn decide_kyc(&self, kyc_id: &str, outcome: Outcome, reason: Option<&str>) -> bool {
        let (status, event) = match outcome {
            Outcome::Approve => ("Approved", "KycIdentification.Approved"),
            Outcome::Reject => ("Rejected", "KycIdentification.Rejected"),
        };
        {
            let mut inner = self.inner();
            let Some(kyc) = inner.providers.ondato.kycs.get_mut(kyc_id) else {
                return false;
            };
            if kyc.status != "Awaiting" {
                return true;
            }
            kyc.status = status.to_owned();
            let default = match outcome {
                Outcome::Approve => "AutomaticallyIdentified",
                Outcome::Reject => "PoorPhotoQuality",
            };
            kyc.status_reason = Some(reason.unwrap_or(default).to_owned());
        }
        self.emit_kyc(kyc_id, event).await;
        true
    }

    /// The person finishes the steps and the check decides: Processed, IDV Completed, then the
    /// decision, each with its webhook, in Ondato's order.
    pub async fn finish(&self, idv_id: &str, outcome: Outcome, reason: Option<&str>) -> bool {
        match self.submit(idv_id).await {
            Some(kyc_id) => self.decide_kyc(&kyc_id, outcome, reason).await,
            None => false,
        }
    }

    /// The person quits with the page's controls (IDV `Aborted`), or leaves it until it expires
    /// (IDV `Expired`). Only an undecided IDV can end this way.
    pub async fn end_idv(&self, idv_id: &str, status: &str) -> bool {
        let Some(idv) = self.idv(idv_id) else {
            return false;
        };
        if matches!(idv.status.as_str(), "Completed" | "Aborted" | "Expired") {
            return true;
        }
        self.set_idv_status(idv_id, status).await;
        true
    }

    /// One step of the hosted flow: the document photo, then the selfie.
    pub async fn step(&self, idv_id: &str, step: &str) -> bool {
        if !self.begin(idv_id).await {
            return false;
        }
        if let Some(idv) = self.inner().providers.ondato.idvs.get_mut(idv_id) {
            match step {
                "document" => idv.document_done = true,
                "selfie" if idv.document_done => idv.selfie_done = true,
                _ => {}
            }
            idv.modified = Utc::now();
        }
        true
    }
}
