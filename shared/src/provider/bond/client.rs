//! Bond's HTTP API with its key pair (`Identity`, `Authorization`): customers, KYC submissions
//! under a per-attempt `Idempotency-Key`, and the KYC status read.

use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;
use serde_json::{json, Map, Value};

use super::config::BondConfig;
use super::errors::BondError;
use super::mapping;
use crate::domain::request::Applicant;
use crate::domain::{Observation, Status, Verification};
use crate::provider::ProviderError;

pub(super) struct BondClient {
    config: BondConfig,
    http: reqwest::Client,
}

/// Customers per page when looking a customer up (the largest page Bond offers).
const LOOKUP_PAGE_SIZE: usize = 50;

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

    fn authorized(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        req.header("Identity", &self.config.identity)
            .header("Authorization", self.config.authorization.expose_secret())
    }

    /// One call with Bond's key pair to a path under the base.
    pub(super) async fn call(
        &self,
        method: reqwest::Method,
        segments: &[&str],
        body: Option<&Value>,
        idempotency_key: Option<&str>,
    ) -> Result<(u16, Vec<u8>), ProviderError> {
        self.send(method, self.url(segments)?, body, idempotency_key)
            .await
    }

    /// One call with Bond's key pair; 5xx, 429 and transport failures are
    /// `Unavailable`/`Timeout`, any other answer is returned with its status.
    async fn send(
        &self,
        method: reqwest::Method,
        url: url::Url,
        body: Option<&Value>,
        idempotency_key: Option<&str>,
    ) -> Result<(u16, Vec<u8>), ProviderError> {
        let mut req = self.authorized(self.http.request(method, url));
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
    pub(super) async fn expect_2xx(
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
            Err(rejected(&BondError::read(status, &bytes), what))
        }
    }

    /// `POST /customers/` under `key`: the Bond customer for our customer id; its Bond id. A
    /// repeated key means Bond made the customer on an earlier try whose answer we lost: it is
    /// found again by our customer id among Bond's customers.
    pub async fn create_customer(
        &self,
        customer_id: &str,
        applicant: &Applicant,
        key: &str,
    ) -> Result<String, ProviderError> {
        let body = customer_body(Some(customer_id), applicant);
        let (status, bytes) = self
            .call(
                reqwest::Method::POST,
                &["customers", ""],
                Some(&body),
                Some(key),
            )
            .await?;
        if (200..300).contains(&status) {
            let created: Value = serde_json::from_slice(&bytes)
                .map_err(ProviderError::unreadable("Bond customer"))?;
            return created
                .get("customer_id")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| {
                    ProviderError::Unavailable("Bond created a customer without an id".into())
                });
        }
        let err = BondError::read(status, &bytes);
        if !err.is_repeated_key() {
            return Err(rejected(&err, "customer"));
        }
        tracing::info!("bond already had this customer request; looking the customer up");
        self.find_customer(customer_id).await?.ok_or_else(|| {
            ProviderError::Unavailable(
                "Bond has this customer request but its customer was not found".into(),
            )
        })
    }

    /// Our customer's newest Bond customer that has not run KYC yet, from `GET /customers/`
    /// pages (at most the configured number of pages; Bond documents no search by
    /// `brand_person_id`, so this is the one way back to a customer whose answer was lost).
    pub async fn find_customer(&self, customer_id: &str) -> Result<Option<String>, ProviderError> {
        let mut best: Option<(String, String)> = None;
        for page in 1..=self.config.customer_lookup_pages {
            let mut url = self.url(&["customers", ""])?;
            url.query_pairs_mut()
                .append_pair("page", &page.to_string())
                .append_pair("per_page", &LOOKUP_PAGE_SIZE.to_string());
            let (status, bytes) = self.send(reqwest::Method::GET, url, None, None).await?;
            if !(200..300).contains(&status) {
                return Err(ProviderError::Unavailable(format!(
                    "bond answered {status} to a customer listing"
                )));
            }
            let listed: Value = serde_json::from_slice(&bytes)
                .map_err(ProviderError::unreadable("Bond customer list"))?;
            let items = listed
                .as_array()
                .or_else(|| listed.get("customers").and_then(Value::as_array))
                .or_else(|| listed.get("data").and_then(Value::as_array))
                .cloned()
                .unwrap_or_default();
            for c in &items {
                let ours = c.get("brand_person_id").and_then(Value::as_str) == Some(customer_id);
                let untouched = c.get("kyc_status").is_none_or(Value::is_null);
                let (Some(id), true, true) = (
                    c.get("customer_id").and_then(Value::as_str),
                    ours,
                    untouched,
                ) else {
                    continue;
                };
                let created = c
                    .get("date_created")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                if best.as_ref().is_none_or(|(_, at)| created >= *at) {
                    best = Some((id.to_owned(), created));
                }
            }
            if items.len() < LOOKUP_PAGE_SIZE {
                break;
            }
        }
        Ok(best.map(|(id, _)| id))
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
    ///
    /// - A repeated key: Bond already has this attempt (an earlier try's answer was lost), so we
    ///   continue from Bond's current KYC state.
    /// - A refusal naming fields: our validation error.
    /// - Any other refusal: Bond's KYC state decides; a customer who already passed is approved
    ///   at the time Bond's answer carries (Bond documents no code for this answer).
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
        if (200..300).contains(&status) {
            return Ok(submitted("KYC submitted", Utc::now()));
        }
        let err = BondError::read(status, &bytes);
        if err.is_repeated_key() {
            tracing::info!(verification_id = %v.id, "bond already had this KYC attempt; reading its state");
            let state = self.kyc_state(bond_id, Utc::now()).await?;
            return Ok(
                if state.status.is_decision() || state.status == Status::ActionRequired {
                    state
                } else {
                    submitted("KYC submitted (already received)", state.occurred_at)
                },
            );
        }
        if !err.fields().is_empty() {
            return Err(rejected(&err, "KYC submission"));
        }
        let state = self.kyc_state(bond_id, Utc::now()).await?;
        if state.status == Status::Approved {
            tracing::info!(verification_id = %v.id, code = err.log_code(), "bond says this customer already passed KYC");
            return Ok(Observation {
                raw_status: "KYC already passed".into(),
                occurred_at: err.timestamp().unwrap_or(state.occurred_at),
                ..state
            });
        }
        Err(rejected(&err, "KYC submission"))
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

    /// Bond's KYC state in our model, as of `now`.
    pub async fn kyc_state(
        &self,
        bond_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Observation, ProviderError> {
        let body = self.kyc_status(bond_id).await?;
        Ok(mapping::observe_state(&body, now))
    }
}

/// The answer to a submission Bond took and has not decided.
fn submitted(raw: &str, at: DateTime<Utc>) -> Observation {
    Observation {
        status: Status::Pending,
        raw_status: raw.to_owned(),
        reason: None,
        required_actions: Vec::new(),
        occurred_at: at,
        decision_ref: None,
    }
}

/// Bond's refusal in our words: its status only (Bond's text is never shown), field problems
/// re-worded in ours.
fn rejected(err: &BondError, what: &str) -> ProviderError {
    tracing::warn!(
        status = err.status,
        code = err.log_code(),
        "bond refused a request"
    );
    ProviderError::Rejected {
        message: format!("bond refused the {what} (HTTP {})", err.status),
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
