//! `GET /v1/verifications/{id}` (1 DynamoDB round trip) and
//! `GET /v1/customers/{customer_id}/verification` (2: the customer, then its latest verification).

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::domain::{CustomerId, Verification, VerificationId};
use crate::error::ApiError;
use crate::store::{CustomerReader, VerificationReader};

/// What fetching may do to the table: read.
pub trait FetchStore: VerificationReader + CustomerReader {}

impl<T> FetchStore for T where T: VerificationReader + CustomerReader + ?Sized {}

pub struct CustomerView {
    pub customer_id: CustomerId,
    pub verified_at: Option<DateTime<Utc>>,
    pub verified_verification_id: Option<VerificationId>,
    pub latest: Option<Verification>,
}

pub struct FetchVerification {
    store: Arc<dyn FetchStore>,
}

impl FetchVerification {
    pub fn new(store: Arc<dyn FetchStore>) -> Self {
        Self { store }
    }

    pub async fn verification(&self, id: &VerificationId) -> Result<Verification, ApiError> {
        self.store
            .get_verification(id)
            .await?
            .ok_or_else(|| ApiError::not_found("verification"))
    }

    pub async fn customer(&self, id: &CustomerId) -> Result<CustomerView, ApiError> {
        let customer = self
            .store
            .get_customer(id)
            .await?
            .ok_or_else(|| ApiError::not_found("customer"))?;
        let latest = match &customer.latest_verification_id {
            Some(vid) => self.store.get_verification(vid).await?,
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
