//! Bond's HTTP API with its key pair (`Identity`, `Authorization`): customers, KYC submissions
//! under a per-attempt `Idempotency-Key`, and the KYC status read.

use chrono::Utc;
use secrecy::ExposeSecret;
use serde_json::{json, Map, Value};

use super::config::BondConfig;
use super::errors::BondError;
use crate::domain::request::Applicant;
use crate::domain::{Observation, Status, Verification};
use crate::provider::ProviderError;

pub(super) struct BondClient {
    config: BondConfig,
    http: reqwest::Client,
}

/// Bond's idempotency key for one KYC attempt of one verification.
pub fn attempt_key(v: &Verification) -> String {
    format!("{}-kyc-{}", v.id, v.attempt)
}

impl BondClient {
    pub fn new(config: BondConfig, http: reqwest::Client) -> Self {
        Self { config, http }
    }

    pub fn config(&self) -> &BondConfig {
        &self.config
    }

    fn url(&self, segments: &[&str]) -> Result<url::Url, ProviderError> {
        let mut url = self.config.base_url.clone();
        url.path_segments_mut()
            .map_err(|_| ProviderError::Unavailable("bad Bond base URL".into()))?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    /// One call with Bond's key pair; 5xx and transport failures are `Unavailable`/`Timeout`.
    async fn call(
        &self,
        method: reqwest::Method,
        segments: &[&str],
        body: Option<&Value>,
        idempotency_key: Option<&str>,
    ) -> Result<(u16, Vec<u8>), ProviderError> {
        let mut req = self
            .http
            .request(method, self.url(segments)?)
            .header("Identity", &self.config.identity)
            .header("Authorization", self.config.authorization.expose_secret());
        if let Some(b) = body {
            req = req.json(b);
        }
        if let Some(k) = idempotency_key {
            req = req.header("Idempotency-Key", k);
        }
        let resp = req.send().await.map_err(ProviderError::transport)?;
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.map_err(ProviderError::transport)?;
        if status >= 500 || status == 429 {
            tracing::warn!(status, "bond answered with a server error");
            return Err(ProviderError::Unavailable(format!(
                "bond answered {status}"
            )));
        }
        Ok((status, bytes.to_vec()))
    }

    /// A call whose only success is a 2xx; its body, else Bond's refusal.
    async fn expect_2xx(
        &self,
        method: reqwest::Method,
        segments: &[&str],
        body: Option<&Value>,
        what: &str,
    ) -> Result<Vec<u8>, ProviderError> {
        let (status, bytes) = self.call(method, segments, body, None).await?;
        if (200..300).contains(&status) {
            Ok(bytes)
        } else {
            Err(rejected(status, &bytes, what))
        }
    }

    /// `POST /customers/`: the Bond customer for our customer id; its Bond id.
    pub async fn create_customer(
        &self,
        customer_id: &str,
        applicant: &Applicant,
    ) -> Result<String, ProviderError> {
        let body = customer_body(Some(customer_id), applicant);
        let bytes = self
            .expect_2xx(
                reqwest::Method::POST,
                &["customers", ""],
                Some(&body),
                "customer",
            )
            .await?;
        let created: Value =
            serde_json::from_slice(&bytes).map_err(ProviderError::unreadable("Bond customer"))?;
        created
            .get("customer_id")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| {
                ProviderError::Unavailable("Bond created a customer without an id".into())
            })
    }

    /// `PATCH /customers/{id}` with the corrected applicant.
    pub async fn update_customer(
        &self,
        bond_id: &str,
        applicant: &Applicant,
    ) -> Result<(), ProviderError> {
        let body = customer_body(None, applicant);
        self.expect_2xx(
            reqwest::Method::PATCH,
            &["customers", bond_id],
            Some(&body),
            "customer update",
        )
        .await
        .map(|_| ())
    }

    /// `POST /customers/{id}/verification-kyc` under this attempt's key.
    pub async fn run_kyc(
        &self,
        v: &Verification,
        a: &Applicant,
    ) -> Result<Observation, ProviderError> {
        let bond_id = v
            .provider_ref
            .as_deref()
            .ok_or_else(|| ProviderError::Unavailable("no Bond customer".into()))?;
        let body = kyc_body(&self.config.program_id, a);
        let key = attempt_key(v);
        let (status, bytes) = self
            .call(
                reqwest::Method::POST,
                &["customers", bond_id, "verification-kyc"],
                Some(&body),
                Some(&key),
            )
            .await?;
        let submitted = |raw: &str| Observation {
            status: Status::Pending,
            raw_status: raw.to_owned(),
            reason: None,
            required_actions: Vec::new(),
            occurred_at: Utc::now(),
            decision_ref: None,
        };
        match status {
            200..=299 => Ok(submitted("KYC submitted")),
            409 if BondError::read(&bytes).code == "idempotency_key_exists" => {
                // Bond already has this attempt (an earlier try timed out after Bond took it).
                tracing::info!(verification_id = %v.id, "bond already had this KYC attempt");
                Ok(submitted("KYC submitted (already received)"))
            }
            _ => match BondError::read(&bytes).already_passed() {
                Some(at) => Ok(Observation {
                    status: Status::Approved,
                    occurred_at: at,
                    ..submitted("KYC already passed")
                }),
                None => Err(rejected(status, &bytes, "KYC submission")),
            },
        }
    }

    /// `GET /customers/{id}/verification-kyc` ("GetKYCStatus"; the path is inferred, providers.md
    /// §2.3): the body, with its `kyc_status` word.
    pub async fn kyc_status(&self, bond_id: &str) -> Result<Value, ProviderError> {
        let bytes = self
            .expect_2xx(
                reqwest::Method::GET,
                &["customers", bond_id, "verification-kyc"],
                None,
                "status request",
            )
            .await?;
        serde_json::from_slice(&bytes).map_err(ProviderError::unreadable("Bond status"))
    }
}

fn rejected(status: u16, body: &[u8], what: &str) -> ProviderError {
    let err = BondError::read(body);
    tracing::warn!(status, code = %err.code, "bond refused a request");
    ProviderError::Rejected {
        message: format!(
            "bond refused the {what} ({})",
            if err.code.is_empty() {
                status.to_string()
            } else {
                err.code.clone()
            }
        ),
        fields: err.fields(),
    }
}

/// The customer body: `brand_person_id` (our customer id) on create, the applicant's fields.
fn customer_body(brand_person_id: Option<&str>, a: &Applicant) -> Value {
    let mut body = Map::new();
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            body.insert(k.to_owned(), v);
        }
    };
    put("brand_person_id", brand_person_id.map(Value::from));
    put("first_name", a.first_name.clone().map(Value::from));
    put("middle_name", a.middle_name.clone().map(Value::from));
    put("last_name", a.last_name.clone().map(Value::from));
    put(
        "dob",
        a.date_of_birth
            .map(|d| d.format("%Y-%m-%d").to_string().into()),
    );
    put("phone", a.phone.clone().map(Value::from));
    put(
        "phone_country_code",
        a.phone_country_code.clone().map(Value::from),
    );
    put("email", a.email.clone().map(Value::from));
    put(
        "addresses",
        a.address.as_ref().map(|ad| {
            json!([{
                "address_type": "PHYSICAL",
                "street": ad.street,
                "street2": ad.street2,
                "city": ad.city,
                "state": ad.state,
                "zip_code": ad.zip_code,
                "country": ad.country,
                "is_primary": true,
            }])
        }),
    );
    Value::Object(body)
}

/// The KYC submission body: the program, the SSN (passed through, never kept) and contact data.
fn kyc_body(program_id: &str, a: &Applicant) -> Value {
    let mut body = Map::new();
    body.insert("program_id".into(), program_id.into());
    if let Some(ssn) = &a.ssn {
        body.insert("ssn".into(), ssn.expose_secret().into());
    }
    for (k, v) in [
        ("phone", &a.phone),
        ("phone_country_code", &a.phone_country_code),
        ("email", &a.email),
    ] {
        if let Some(v) = v {
            body.insert(k.into(), v.clone().into());
        }
    }
    if let Some(ip) = a.ip {
        body.insert("ip".into(), ip.to_string().into());
    }
    Value::Object(body)
}
