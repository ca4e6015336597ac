//! A provider adapter that can be replaced while the function runs: when the secrets it was
//! built from are refreshed (see [`crate::secrets::refresh`]), the wiring builds a new adapter
//! from the new values and swaps it in. Each call goes to the adapter current when it starts.

use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{
    AuthError, InterpretError, Interpreted, KycProvider, ProviderError, RawWebhook, StartRequest,
    Started,
};
use crate::domain::kyc_data::KycData;
use crate::domain::request::{Applicant, ApplicantField};
use crate::domain::{Observation, ProviderCopy, ProviderName, Verification};

pub struct LiveAdapter {
    name: ProviderName,
    current: RwLock<Arc<dyn KycProvider>>,
}

impl LiveAdapter {
    pub fn new(adapter: Arc<dyn KycProvider>) -> Self {
        Self {
            name: adapter.name(),
            current: RwLock::new(adapter),
        }
    }

    /// Calls from now on go to `adapter` (calls under way finish on the one they started on).
    pub fn replace(&self, adapter: Arc<dyn KycProvider>) {
        debug_assert_eq!(adapter.name(), self.name);
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = adapter;
    }

    fn current(&self) -> Arc<dyn KycProvider> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

#[async_trait]
impl KycProvider for LiveAdapter {
    fn name(&self) -> ProviderName {
        self.name.clone()
    }

    fn required_fields(&self) -> &'static [ApplicantField] {
        self.current().required_fields()
    }

    async fn start(&self, request: StartRequest<'_>) -> Result<Started, ProviderError> {
        self.current().start(request).await
    }

    async fn resubmit(
        &self,
        verification: &Verification,
        applicant: &Applicant,
        return_url: Option<&url::Url>,
    ) -> Result<Started, ProviderError> {
        self.current()
            .resubmit(verification, applicant, return_url)
            .await
    }

    fn submits_data(&self) -> bool {
        self.current().submits_data()
    }

    async fn submit(
        &self,
        verification: &Verification,
        applicant: &Applicant,
    ) -> Result<Option<Observation>, ProviderError> {
        self.current().submit(verification, applicant).await
    }

    async fn current_state(
        &self,
        verification: &Verification,
        now: DateTime<Utc>,
    ) -> Result<Observation, ProviderError> {
        self.current().current_state(verification, now).await
    }

    async fn erase(&self, verification: &Verification) -> Result<ProviderCopy, ProviderError> {
        self.current().erase(verification).await
    }

    fn authenticate(&self, webhook: &RawWebhook<'_>, now: DateTime<Utc>) -> Result<(), AuthError> {
        self.current().authenticate(webhook, now)
    }

    async fn interpret(&self, webhook: &RawWebhook<'_>) -> Result<Interpreted, InterpretError> {
        self.current().interpret(webhook).await
    }

    async fn kyc_data(
        &self,
        verification: &Verification,
    ) -> Result<Option<KycData>, ProviderError> {
        self.current().kyc_data(verification).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Accepts webhooks whose body is its password.
    struct Stub(&'static str);

    #[async_trait]
    impl KycProvider for Stub {
        fn name(&self) -> ProviderName {
            ProviderName::from_static("stub")
        }
        fn required_fields(&self) -> &'static [ApplicantField] {
            &[]
        }
        async fn start(&self, _: StartRequest<'_>) -> Result<Started, ProviderError> {
            Err(ProviderError::Timeout)
        }
        async fn resubmit(
            &self,
            _: &Verification,
            _: &Applicant,
            _: Option<&url::Url>,
        ) -> Result<Started, ProviderError> {
            Err(ProviderError::Timeout)
        }
        async fn current_state(
            &self,
            _: &Verification,
            _: DateTime<Utc>,
        ) -> Result<Observation, ProviderError> {
            Err(ProviderError::Timeout)
        }
        fn authenticate(
            &self,
            webhook: &RawWebhook<'_>,
            _: DateTime<Utc>,
        ) -> Result<(), AuthError> {
            (webhook.body == self.0.as_bytes())
                .then_some(())
                .ok_or(AuthError::Invalid)
        }
        async fn interpret(&self, _: &RawWebhook<'_>) -> Result<Interpreted, InterpretError> {
            Ok(Interpreted::Ignored {
                event_type: self.0.to_owned(),
            })
        }
    }

    #[test]
    fn calls_go_to_the_adapter_swapped_in_last() {
        let live = LiveAdapter::new(Arc::new(Stub("old-password")));
        let headers = http::HeaderMap::new();
        let hook = |body: &'static str| RawWebhook {
            headers: &headers,
            body: body.as_bytes(),
            source_ip: None,
        };
        assert_eq!(live.name().as_str(), "stub");
        assert!(live.authenticate(&hook("old-password"), Utc::now()).is_ok());
        live.replace(Arc::new(Stub("new-password")));
        assert!(live
            .authenticate(&hook("old-password"), Utc::now())
            .is_err());
        assert!(live.authenticate(&hook("new-password"), Utc::now()).is_ok());
    }
}
