//! Ondato's resources as the emulator keeps them, and their JSON as Ondato's APIs and webhook
//! payloads show them.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::util::iso_millis as iso;

/// An identity verification as the emulator keeps it.
#[derive(Clone, Debug)]
pub struct Idv {
    pub id: String,
    pub setup_id: String,
    pub external_reference_id: Option<String>,
    pub status: String,
    pub registration: Value,
    pub kyc_id: Option<String>,
    pub redirect_url: Option<String>,
    pub consented_at: Option<DateTime<Utc>>,
    /// Hosted-flow progress: the document photo and the selfie were taken.
    pub document_done: bool,
    pub selfie_done: bool,
    pub created: DateTime<Utc>,
    pub modified: DateTime<Utc>,
}

/// A KYC identification.
#[derive(Clone, Debug)]
pub struct Kyc {
    pub id: String,
    pub idv_id: String,
    pub status: String,
    pub status_reason: Option<String>,
    pub created: DateTime<Utc>,
    pub completed: Option<DateTime<Utc>>,
}

impl Idv {
    pub fn to_json(&self) -> Value {
        let mut step = json!({});
        if let Some(k) = &self.kyc_id {
            step["kycIdentification"] = json!({ "id": k });
        }
        if let Some(at) = self.consented_at {
            step["consent"] = json!({ "isConsented": true, "consentedUtc": iso(at) });
        }
        json!({
            "id": self.id,
            "applicationId": "emulator",
            "externalReferenceId": self.external_reference_id,
            "status": self.status,
            "createdUtc": iso(self.created),
            "modifiedUtc": iso(self.modified),
            "setup": { "id": self.setup_id, "versionId": "00000000-0000-4000-8000-000000000001" },
            "registration": self.registration,
            "step": step,
        })
    }
}

impl Kyc {
    pub fn to_json(&self, idv: Option<&Idv>) -> Value {
        let reg = idv.map(|i| i.registration.clone()).unwrap_or(Value::Null);
        json!({
            "id": self.id,
            "applicationId": "emulator",
            "identityVerificationId": self.idv_id,
            "externalReferenceId": idv.and_then(|i| i.external_reference_id.clone()),
            "createdUtc": iso(self.created),
            "completedUtc": self.completed.map(iso),
            "status": self.status,
            "statusReason": self.status_reason,
            "isCrossChecked": false,
            "document": super::kyc_data::document_json(&reg, &self.id),
            "rules": [{ "name": "DocumentNotExpired", "status": "Success" }],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idv() -> Idv {
        let t = DateTime::parse_from_rfc3339("2024-05-01T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        Idv {
            id: "idv-1".into(),
            setup_id: "setup-1".into(),
            external_reference_id: Some("ver_1".into()),
            status: "InProgress".into(),
            registration: json!({"firstName": "Ada", "lastName": "King"}),
            kyc_id: Some("kyc-1".into()),
            redirect_url: None,
            consented_at: Some(t),
            document_done: false,
            selfie_done: false,
            created: t,
            modified: t,
        }
    }

    #[test]
    fn when_an_idv_is_shown_should_use_ondatos_field_names() {
        let v = idv().to_json();
        assert_eq!(v["externalReferenceId"], "ver_1");
        assert_eq!(v["setup"]["id"], "setup-1");
        assert_eq!(v["createdUtc"], "2024-05-01T10:00:00.000Z");
        assert_eq!(v["step"]["kycIdentification"]["id"], "kyc-1");
        assert_eq!(v["step"]["consent"]["isConsented"], true);
    }

    #[test]
    fn when_an_identification_is_shown_should_carry_the_idvs_person() {
        let i = idv();
        let k = Kyc {
            id: "kyc-1".into(),
            idv_id: i.id.clone(),
            status: "Approved".into(),
            status_reason: Some("AutomaticallyIdentified".into()),
            created: i.created,
            completed: None,
        };
        let v = k.to_json(Some(&i));
        assert_eq!(v["identityVerificationId"], "idv-1");
        assert_eq!(v["document"]["fullName"], "ADA KING");
        assert_eq!(v["completedUtc"], Value::Null);
        assert_eq!(k.to_json(None)["document"]["firstName"], "JOHN");
    }
}
