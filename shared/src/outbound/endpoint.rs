//! The business's endpoint over HTTPS: one POST per attempt with the Standard Webhooks headers,
//! on the shared client (rustls, no redirects followed, a timeout per attempt).

use std::time::Duration;

use async_trait::async_trait;
use url::Url;

use super::{Attempt, Endpoint, SignedDelivery};

/// A `Retry-After` longer than this is not waited for (what SQS can hide a message for).
const MAX_RETRY_AFTER: Duration = crate::events::retry::MAX_DELAY;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EndpointError {
    #[error("OUTBOUND_WEBHOOK_URL is not a URL")]
    NotAUrl,
    #[error("OUTBOUND_WEBHOOK_URL must be https (http only for a loopback address)")]
    NotHttps,
}

/// Where deliveries go: an `https` URL, or `http` on a loopback address (the local stack).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointUrl(Url);

impl EndpointUrl {
    pub fn parse(raw: &str) -> Result<Self, EndpointError> {
        let url = Url::parse(raw).map_err(|_| EndpointError::NotAUrl)?;
        let loopback = match url.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            Some(url::Host::Domain(d)) => d == "localhost",
            None => false,
        };
        match url.scheme() {
            "https" => Ok(Self(url)),
            "http" if loopback => Ok(Self(url)),
            _ => Err(EndpointError::NotHttps),
        }
    }
}

pub struct HttpEndpoint {
    client: reqwest::Client,
    url: EndpointUrl,
}

impl HttpEndpoint {
    /// `client` carries the attempt's timeout and follows no redirect (a 3xx is a failure).
    pub fn new(client: reqwest::Client, url: EndpointUrl) -> Self {
        Self { client, url }
    }
}

fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let seconds: u64 = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(seconds).min(MAX_RETRY_AFTER))
}

#[async_trait]
impl Endpoint for HttpEndpoint {
    async fn deliver(&self, d: &SignedDelivery<'_>) -> Attempt {
        let sent = self
            .client
            .post(self.url.0.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("webhook-id", d.id)
            .header("webhook-timestamp", d.timestamp.to_string())
            .header("webhook-signature", &d.signature)
            .body(d.body.to_owned())
            .send()
            .await;
        match sent {
            Ok(r) if r.status().is_success() => Attempt::Delivered {
                status: r.status().as_u16(),
            },
            Ok(r) => Attempt::Failed {
                status: Some(r.status().as_u16()),
                retry_after: retry_after(&r),
            },
            Err(e) => {
                tracing::warn!(error = %e.without_url(), "webhook delivery got no answer");
                Attempt::Failed {
                    status: None,
                    retry_after: None,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_or_loopback_http_endpoints_are_accepted() {
        assert!(EndpointUrl::parse("https://hooks.example.com/kyc").is_ok());
        assert!(EndpointUrl::parse("http://127.0.0.1:8080/hook").is_ok());
        assert!(EndpointUrl::parse("http://localhost/hook").is_ok());
        assert_eq!(
            EndpointUrl::parse("http://hooks.example.com/kyc"),
            Err(EndpointError::NotHttps)
        );
        assert_eq!(EndpointUrl::parse("ftp://x/"), Err(EndpointError::NotHttps));
        assert_eq!(EndpointUrl::parse("not a url"), Err(EndpointError::NotAUrl));
    }
}
