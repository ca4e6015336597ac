//! `GET /v1/verifications/{id}` (1 DynamoDB round trip) and
//! `GET /v1/customers/{customer_id}/verification` (2: the customer, then its latest verification).

use chrono::{DateTime, Utc};

use super::create::store_error;
use super::App;
use crate::domain::{CustomerId, Verification, VerificationId};
use crate::error::ApiError;

pub struct CustomerView {
    pub customer_id: CustomerId,
    pub verified_at: Option<DateTime<Utc>>,
    pub verified_verification_id: Option<VerificationId>,
    pub latest: Option<Verification>,
}

impl App {
    pub async fn fetch_verification(&self, id: &VerificationId) -> Result<Verification, ApiError> {
        self.store
            .get_verification(id)
            .await
            .map_err(store_error)?
            .ok_or_else(|| ApiError::not_found("verification"))
    }

    pub async fn fetch_customer(&self, id: &CustomerId) -> Result<CustomerView, ApiError> {
        let customer = self
            .store
            .get_customer(id)
            .await
            .map_err(store_error)?
            .ok_or_else(|| ApiError::not_found("customer"))?;
        let latest = match &customer.latest_verification_id {
            Some(vid) => self
                .store
                .get_verification(vid)
                .await
                .map_err(store_error)?,
            None => None,
        };
        if latest.is_none() {
            // Only a claim was ever made (the provider call failed): nothing to show.
            return Err(ApiError::not_found("customer"));
        }
        Ok(CustomerView {
            customer_id: customer.customer_id,
            verified_at: customer.verified_at,
            verified_verification_id: customer.verified_verification_id,
            latest,
        })
    }
}
