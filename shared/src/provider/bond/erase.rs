//! Redaction at Bond: `DELETE /customers/{customer_id}` (providers.md §2.2, "Other
//! operations"), the customer and with it the data of its KYC.

use super::client::BondClient;
use crate::domain::ProviderCopy;
use crate::provider::ProviderError;

impl BondClient {
    /// Delete the Bond customer. Gone already (`404`) counts as deleted; another refusal is
    /// reported, not retried (5xx and transport failures are errors: the redaction is retried).
    pub async fn delete_customer(&self, bond_id: &str) -> Result<ProviderCopy, ProviderError> {
        let (status, _) = self
            .call(reqwest::Method::DELETE, &["customers", bond_id], None, None)
            .await?;
        Ok(match status {
            200..=299 | 404 => ProviderCopy::Deleted,
            _ => {
                tracing::warn!(status, "bond refused to delete a customer");
                ProviderCopy::Refused
            }
        })
    }
}
